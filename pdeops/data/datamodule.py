"""`PDEDataModule`: one dataset file split by trajectory into train/val/test loaders.

Splits are by trajectory index and fixed: the first trajectories train, the next validate, the last test (see
`split_trajectories`), so a file generated with more samples keeps its earlier splits' trajectories where they were.
Items stay in physical units. The training task owns the normalisation: it asks `PDEDataModule.fit_normalizer` for
the training split's statistics once and keeps them in its checkpoint; the data module keeps no copy.
"""

import math
import os
from collections.abc import Iterator, Sized
from functools import cached_property
from itertools import accumulate
from typing import Any, Literal

import lightning
import torch
from torch.utils.data import DataLoader, RandomSampler

from pdeops.data._errors import DatasetError, quoted
from pdeops.data.datasets import (
    BaseFieldDataset,
    FieldLayout,
    FrameReader,
    Normalizer,
    TrajectoryDataset,
    WindowDataset,
    read_layout,
)
from pdeops.data.readers import open_dataset

SPLITS = ("train", "val", "test")
TASKS = ("window", "trajectory")


def split_trajectories(count: int, split: tuple[float, float, float], *, path: str = "the file") -> dict[str, range]:
    """Cut trajectory indices 0..count-1 into consecutive train, val and test ranges.

    The boundaries are the cumulative fractions times ``count``, rounded half up: train is
    ``range(0, ⌊f₀ count + ½⌋)``, val ends at ``⌊(f₀ + f₁) count + ½⌋``, test takes the rest. For (0.8, 0.1, 0.1):
    10 trajectories split 8/1/1, 20 split 16/2/2, 25 split 20/3/2.

    Args:
        count: trajectories in the file.
        split: the train, val and test fractions; non-negative, summing to 1.
        path: the file, for messages.

    Raises:
        ValueError: the fractions are negative or do not sum to 1.
        DatasetError: a split gets no trajectory.
    """
    if len(split) != 3 or min(split) < 0 or not math.isclose(sum(split), 1.0):
        raise ValueError(f"split must be three non-negative fractions (train, val, test) summing to 1, got {split}.")
    ends = [math.floor(fraction * count + 0.5) for fraction in accumulate(split[:2])]
    bounds = [0, *ends, count]
    ranges = {name: range(start, stop) for name, start, stop in zip(SPLITS, bounds[:-1], bounds[1:], strict=True)}
    empty = [name for name, indices in ranges.items() if not indices]
    if empty:
        sizes = ", ".join(f"{name} {len(indices)}" for name, indices in ranges.items())
        raise DatasetError(
            f"split={tuple(split)} of the {count} trajectories in {path} gives {sizes}: the split is larger than the "
            f"data, leaving {quoted(empty)} with zero trajectories. Use a file with more trajectories or raise "
            "those fractions."
        )
    return ranges


class EpochSeededRandomSampler(RandomSampler):
    """A shuffle that depends only on the run's seed and the epoch, so a run resumed at an epoch boundary sees the
    same order as one that never stopped. Lightning calls ``set_epoch``; under DDP it swaps this (a
    ``RandomSampler``) for its ``DistributedSampler``, which is seeded by epoch the same way.

    Args:
        data_source: the dataset.
        seed: the base seed; default ``PL_GLOBAL_SEED`` (set by ``seed_everything``), else 0.
    """

    def __init__(self, data_source: Sized, seed: int | None = None) -> None:
        super().__init__(data_source)
        self.seed = int(os.environ.get("PL_GLOBAL_SEED", 0)) if seed is None else seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()


class PDEDataModule(lightning.LightningDataModule):
    """Train/val/test loaders over one dataset file, split by trajectory, with the training split's statistics.

    Batches are those of `WindowDataset` (``task="window"``: ``input`` (B, history, C, *S), ``target``
    (B, horizon, C, *S)) or `TrajectoryDataset` (``task="trajectory"``: ``trajectory`` (B, T, C, *S)). The train
    loader shuffles, val and test do not; under DDP Lightning swaps in its DistributedSampler, which pads val and
    test to a multiple of the world size by repeating a few windows. Every DDP process computes the (identical)
    statistics itself in `setup`, so no process waits on another.

    Args:
        path: the dataset file (any format `open_dataset` reads).
        fields: the fields, in channel order; None takes every variable with dims (sample, time, ...).
        history: input frames per window (task ``window``).
        horizon: target frames per training window (task ``window``).
        stride: frames between window starts (task ``window``).
        batch_size: items per batch.
        num_workers: DataLoader worker processes (0 reads in the main process).
        split: train, val and test fractions of the trajectories, in file order (see `split_trajectories`).
        in_memory: True holds each split in memory, False reads lazily, None chooses per split by size.
        eval_horizon: target frames of val and test windows, for rollout validation; None uses ``horizon``.
        task: ``window`` (history -> horizon pairs) or ``trajectory`` (whole trajectories).
        exclude: trajectories to leave out of whichever split they fall in (e.g. ones holding NaN); the splits
            keep their other trajectories.
    """

    def __init__(
        self,
        path: str,
        fields: list[str] | None = None,
        history: int = 1,
        horizon: int = 1,
        stride: int = 1,
        batch_size: int = 16,
        num_workers: int = 0,
        split: tuple[float, float, float] = (0.8, 0.1, 0.1),
        in_memory: bool | None = None,
        eval_horizon: int | None = None,
        task: Literal["window", "trajectory"] = "window",
        exclude: list[int] | None = None,
    ) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"task must be one of {quoted(TASKS)}, got {task!r}.")
        counts = {"history": history, "horizon": horizon, "stride": stride, "batch_size": batch_size}
        if eval_horizon is not None:
            counts["eval_horizon"] = eval_horizon
        bad = {name: value for name, value in counts.items() if value < 1}
        if bad or num_workers < 0:
            given = ", ".join(f"{name}={value}" for name, value in {**bad, "num_workers": num_workers}.items())
            raise ValueError(
                f"PDEDataModule needs history, horizon, stride, batch_size (and eval_horizon if given) >= 1 and "
                f"num_workers >= 0; got {given}."
            )
        self.save_hyperparameters()
        self.path = path
        self.requested_fields = fields
        self.history, self.horizon, self.stride, self.eval_horizon = history, horizon, stride, eval_horizon
        self.batch_size, self.num_workers = batch_size, num_workers
        self.split, self.in_memory, self.task = split, in_memory, task
        self.exclude = sorted(set(exclude or ()))
        self.datasets: dict[str, BaseFieldDataset] = {}

    @cached_property
    def layout(self) -> FieldLayout:
        """The file's layout of the chosen fields (read on first use; no field data)."""
        return read_layout(self.path, self.requested_fields)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields, in channel order."""
        return self.layout.fields

    @property
    def channels(self) -> int:
        """C, the number of fields: a model's input and output channels per frame."""
        return len(self.layout.fields)

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """S, the spatial shape of every frame."""
        return self.layout.spatial_shape

    @cached_property
    def attrs(self) -> dict[str, Any]:
        """The file's attributes (its recipe, physical parameters, solver settings, ...)."""
        with open_dataset(self.path) as dataset:
            return dict(dataset.attrs)

    @property
    def splits(self) -> dict[str, range]:
        """The trajectory indices of each split (``samples`` leaves ``exclude`` out)."""
        count = self.layout.num_samples
        outside = [index for index in self.exclude if not 0 <= index < count]
        if outside:
            raise DatasetError(f"exclude={self.exclude} names trajectories outside 0..{count - 1} of {self.path}.")
        return split_trajectories(count, self.split, path=self.layout.path)

    def setup(self, stage: str | None = None) -> None:
        """Build the three split datasets.

        Lightning calls this once per stage; the datasets are built on the first call and kept.
        """
        if self.datasets:
            return
        self.datasets = {name: self._dataset(name, self.samples(name)) for name in SPLITS}

    def samples(self, split: str) -> list[int]:
        """The trajectories of a split, ``exclude`` left out."""
        excluded = set(self.exclude)
        return [index for index in self.splits[split] if index not in excluded]

    def fit_normalizer(self) -> Normalizer:
        """Every channel's mean and std over the training split, read one trajectory at a time (not kept here).

        The same pass reads the validation and test trajectories once, so that a NaN anywhere stops the run at its
        start, not at the end of an epoch of training.

        Raises:
            DatasetError: a split holds NaN or Inf (the message names the file, sample and frame, and the fix).
        """
        normalizer = Normalizer.fit(self.path, self.fields, self.samples("train"))
        reader = FrameReader(self.layout)
        try:
            for sample in (*self.samples("val"), *self.samples("test")):
                reader.read(sample, 0, self.layout.num_times)  # raises on NaN or Inf
        finally:
            reader.close()
        return normalizer

    def _dataset(self, split: str, samples: list[int]) -> BaseFieldDataset:
        if self.task == "trajectory":
            return TrajectoryDataset(self.path, fields=self.fields, samples=samples, in_memory=self.in_memory)
        eval_horizon = self.horizon if self.eval_horizon is None else self.eval_horizon
        return WindowDataset(
            self.path,
            fields=self.fields,
            history=self.history,
            horizon=self.horizon if split == "train" else eval_horizon,
            stride=self.stride,
            samples=samples,
            in_memory=self.in_memory,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def _loader(self, split: str, *, shuffle: bool) -> DataLoader:
        if not self.datasets:
            raise RuntimeError(f"Call setup() before {split}_dataloader() (a Lightning Trainer calls it for you).")
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochSeededRandomSampler(dataset) if shuffle else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def state_dict(self) -> dict[str, Any]:
        """``{"fields": [...]}``: the channel order a checkpoint was trained with."""
        return {"fields": list(self.fields)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Check that a restored run reads the fields it was saved with.

        Raises:
            DatasetError: the state is for other fields.
        """
        if list(state_dict["fields"]) != list(self.fields):
            raise DatasetError(
                f"The saved data module state is for fields {quoted(state_dict['fields'])}, but this data module "
                f"reads {quoted(self.fields)} from {self.layout.path}. Pass fields= as when it was saved."
            )

    def describe(self) -> dict[str, Any]:
        """A plain (JSON-ready) summary: file, fields, shapes, splits and windows."""
        return {
            "path": self.layout.path,
            "fields": list(self.fields),
            "channels": self.channels,
            "spatial_shape": list(self.spatial_shape),
            "trajectories": self.layout.num_samples,
            "times": self.layout.num_times,
            "task": self.task,
            "history": self.history,
            "horizon": self.horizon,
            "eval_horizon": self.eval_horizon,
            "stride": self.stride,
            "splits": {name: [indices.start, indices.stop] for name, indices in self.splits.items()},
            "excluded": self.exclude,
            "items": {name: len(dataset) for name, dataset in self.datasets.items()},
            "in_memory": {name: dataset.in_memory for name, dataset in self.datasets.items()},
        }
