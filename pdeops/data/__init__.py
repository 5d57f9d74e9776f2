"""Datasets: the native HDF5 format, readers for external formats, torch datasets and the DataModule."""

from pdeops.data._errors import DatasetError
from pdeops.data.datamodule import PDEDataModule
from pdeops.data.datasets import CollocationDataset, Normalizer, TrajectoryDataset, WindowDataset
from pdeops.data.readers import open_dataset

__all__ = [
    "CollocationDataset",
    "DatasetError",
    "Normalizer",
    "PDEDataModule",
    "TrajectoryDataset",
    "WindowDataset",
    "open_dataset",
]
