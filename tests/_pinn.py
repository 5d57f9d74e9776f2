"""What the PINN tests share: the spatial period 2π and random points of the space-time domain."""

import math

import torch

TWO_PI = 2 * math.pi


def points(generator: torch.Generator, count: int = 200) -> torch.Tensor:
    """Random ``(count, 2)`` float64 points in ``[0, 2π) × [0, 1]``, requiring grad."""
    p = torch.rand(count, 2, dtype=torch.float64, generator=generator) * torch.tensor([TWO_PI, 1.0])
    return p.requires_grad_(True)
