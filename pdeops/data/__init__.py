"""Datasets: the native HDF5 format, readers for external formats, torch datasets and the DataModule."""

from pdeops.data._errors import DatasetError
from pdeops.data.readers import open_dataset

__all__ = ["DatasetError", "open_dataset"]
