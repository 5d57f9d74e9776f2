"""Datasets: the native HDF5 format, readers for external formats, torch datasets and the DataModule.

- ``generate(GenerationConfig(recipe=...), path)``: a recipe's trajectories into the native format (``RECIPES``).
- ``merge_shards``: join the parts of a ``generate(..., shard=(i, n))`` run.
- ``open_dataset(path)``: any supported file (native, PDEBench, FNO .mat, The Well, Poseidon, PDEArena) as xarray.
- ``WindowDataset``, ``TrajectoryDataset``, ``CollocationDataset``, ``Normalizer``: torch datasets and the
  per-channel normaliser.
- ``PDEDataModule``: the Lightning DataModule, imported on first use so that ``import pdeops.data`` does not import
  Lightning.
"""

from typing import Any

from pdeops.data._errors import DatasetError
from pdeops.data.datasets import CollocationDataset, Normalizer, TrajectoryDataset, WindowDataset
from pdeops.data.generate import generate, merge_shards
from pdeops.data.readers import open_dataset
from pdeops.data.recipes import RECIPES, GenerationConfig

__all__ = [
    "RECIPES",
    "CollocationDataset",
    "DatasetError",
    "GenerationConfig",
    "Normalizer",
    "PDEDataModule",
    "TrajectoryDataset",
    "WindowDataset",
    "generate",
    "merge_shards",
    "open_dataset",
]


def __getattr__(name: str) -> Any:
    if name == "PDEDataModule":
        from pdeops.data.datamodule import PDEDataModule

        return PDEDataModule
    raise AttributeError(f"module 'pdeops.data' has no attribute {name!r}")
