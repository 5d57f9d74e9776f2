"""Datasets: the native HDF5 format, readers for external formats, torch datasets and the DataModule.

- ``generate(GenerationConfig(recipe=...), path)``: a recipe's trajectories into the native format (``RECIPES``).
- ``merge_shards``: join the parts of a ``generate(..., shard=(i, n))`` run.
- ``open_dataset(path)``: any supported file (native, PDEBench, FNO .mat, The Well, Poseidon, PDEArena), or a
  directory or glob pattern of them, as xarray; ``FORMATS`` names the formats (``docs/format.md`` describes the
  native one, which users' own files may meet).
- ``WindowDataset``, ``TrajectoryDataset``, ``CollocationDataset``, ``Normalizer``: torch datasets and the
  per-channel normaliser.
- ``PDEDataModule``: the Lightning DataModule.

Each name is imported on first use (PEP 562), so ``import pdeops.data`` costs nothing and the command line starts
fast: the recipes need no torch, ``open_dataset`` no Lightning.
"""

import importlib
from typing import TYPE_CHECKING, Any

from pdeops.data._errors import DatasetError

FORMATS = ("pdeops", "pdebench", "pdebench-seeds", "pdebench-ns-incom", "fno-mat", "the-well", "poseidon", "pdearena")
"""The formats ``open_dataset`` (``format=``), ``PDEDataModule`` and ``--format`` take, and ``source_format`` names."""

if TYPE_CHECKING:
    from pdeops.data.datamodule import PDEDataModule
    from pdeops.data.datasets import CollocationDataset, Normalizer, TrajectoryDataset, WindowDataset
    from pdeops.data.generate import generate, merge_shards
    from pdeops.data.readers import open_dataset
    from pdeops.data.recipes import RECIPES, GenerationConfig

_MODULES = {
    "PDEDataModule": "datamodule",
    "CollocationDataset": "datasets",
    "Normalizer": "datasets",
    "TrajectoryDataset": "datasets",
    "WindowDataset": "datasets",
    "generate": "generate",
    "merge_shards": "generate",
    "open_dataset": "readers",
    "RECIPES": "recipes",
    "GenerationConfig": "recipes",
}

__all__ = [
    "FORMATS",
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
    if name not in _MODULES:
        raise AttributeError(f"module 'pdeops.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pdeops.data.{_MODULES[name]}"), name)
