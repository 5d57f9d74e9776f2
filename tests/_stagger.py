"""What the NeuralStagger tests share: a small FNO sub-solver config and seeded random fields."""

import torch

FNO = {"class_path": "neuralop.models.FNO", "init_args": {"n_modes": [4, 4], "hidden_channels": 8}}


def fields(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
