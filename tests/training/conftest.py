from pathlib import Path

import pytest
import torch

from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig


@pytest.fixture(scope="session")
def ns_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 trajectories of FNO-setting Navier–Stokes at 16², 13 frames 0.5 apart (about a second to make)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = GenerationConfig(
            recipe="ns2d-fno", samples=20, resolution=16, solve_resolution=32, horizon=6.0, record_every=0.5, dt=5e-3
        )
        return generate(config, tmp_path_factory.mktemp("data") / "ns_tiny.h5")
    finally:
        torch.set_num_threads(threads)
