"""What the Spectral-Refiner's tests share: a small ``SpatiotemporalFNO`` and ns2d-fno vorticity trajectories."""

import math

import torch

from pdeops.models.st_fno import SpatiotemporalFNO
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

SIGMA = math.sqrt(2) * 7**1.5  # the ns2d-fno recipe's initial-field amplitude (τ = 7, α = 2.5)


def small_model(**overrides) -> SpatiotemporalFNO:
    return SpatiotemporalFNO(**{"modes": (4, 4, 3), "width": 6, "latent_steps": 5, "output_steps": 4, **overrides})


def fno_trajectories(n: int, times: list[float], samples: int = 2, solve_n: int | None = None) -> torch.Tensor:
    """ns2d-fno vorticity ``(samples, len(times), n, n)`` float64, solved at ``solve_n`` (default n) from one field."""
    fine = Grid((64, 64), 1.0)
    w0 = gaussian_random_field(fine, samples, generator=torch.Generator().manual_seed(0), tau=7.0, sigma=SIGMA)
    grid = Grid((solve_n or n,) * 2, 1.0)
    solver = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=5e-3)
    frames = solver.solve(fine.resample(w0, grid.shape), times)
    return frames if grid.shape[0] == n else grid.resample(frames, (n, n))
