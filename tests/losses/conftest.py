import pytest
import torch

from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig

VORTICITY_RECIPES = ("ns2d-fno", "ns2d-kolmogorov", "ns2d-decaying")


@pytest.fixture(scope="session")
def vorticity_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, torch.Tensor]]:
    """Per vorticity recipe, the attributes and vorticity ``(2, 11, 32, 32)`` float64 of a small generated file
    (frames 0.025 apart, the recipe's parameters)."""
    root = tmp_path_factory.mktemp("vorticity")
    files = {}
    for recipe in VORTICITY_RECIPES:
        config = GenerationConfig(
            recipe=recipe,
            samples=2,
            resolution=32,
            solve_resolution=32,
            horizon=0.25,
            record_every=0.025,
            dt=2.5e-3,
            dtype="float64",
            spinup=0.0,  # the smooth start from the initial condition (ns2d-kolmogorov spins up by default)
        )
        with open_dataset(generate(config, root / f"{recipe}.h5")) as dataset:
            files[recipe] = (dict(dataset.attrs), torch.from_numpy(dataset["vorticity"].values))
    return files
