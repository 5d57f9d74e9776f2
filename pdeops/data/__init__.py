"""Datasets: the native HDF5 format, readers for external formats, torch datasets and the DataModule.

- ``generate(GenerationConfig(recipe=...), path)``: a recipe's trajectories into the native format (``RECIPES``).
- ``merge_shards``: join the parts of a ``generate(..., shard=(i, n))`` run.
- ``open_dataset(path)``: any supported file (native, PDEBench, FNO .mat, The Well, Poseidon, PDEArena) as xarray.
- ``WindowDataset``, ``TrajectoryDataset``, ``CollocationDataset``, ``Normalizer``, ``PDEDataModule``: torch/Lightning.
"""

from pdeops.data._errors import DatasetError
from pdeops.data.datamodule import PDEDataModule
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
