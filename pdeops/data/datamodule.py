"""`PDEDataModule`: one dataset (a file, or files joined) split by trajectory into train/val/test loaders.

Splits are by trajectory and fixed. Data with an official split (a ``split`` coordinate: The Well's and PDEArena's
train/valid/test, PDEBench's loaders' test set, or a user's own) is split as its authors split it (see
`official_splits`); other data is cut by fractions in trajectory order: the first trajectories train, the next
validate, the last test (see `split_trajectories`), so a file generated with more samples keeps its earlier splits'
trajectories where they were. Items stay in physical units. The training task owns the normalisation: it asks
`PDEDataModule.fit_normalizer` for the training split's statistics once and keeps them in its checkpoint; the data
module keeps no copy.
"""

import math
import os
from collections.abc import Iterator, Sequence, Sized
from functools import cached_property
from itertools import accumulate
from typing import Any, Literal

import lightning
import torch
from lightning.pytorch.utilities import rank_zero_info
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
DEFAULT_SPLIT = (0.8, 0.1, 0.1)
"""The train, val and test fractions of data without an official split, when a config gives none: the one default
that training, evaluation and the benchmark share."""
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


def official_splits(
    labels: Sequence[str], split: tuple[float, float, float], *, source: str = "the data"
) -> tuple[dict[str, list[int]] | None, str]:
    """The train, val and test trajectories of an official split, and a sentence saying how they were chosen.

    Trajectories labelled ``train``, ``valid`` and ``test`` make the three splits. Without ``valid`` trajectories
    (PDEBench has none), validation takes the last ``split[1] / (split[0] + split[1])`` of the official training
    trajectories, rounded half up, so the official test set stays untouched.

    Args:
        labels: each trajectory's label (``train``, ``valid`` or ``test``).
        split: the fractions, used only to carve validation out of training.
        source: where the labels come from, for the sentence.

    Returns:
        The splits, or None (and the reason) when the labels give no training or no test trajectory, or
        validation would be empty.
    """
    groups = {name: [i for i, label in enumerate(labels) if label == name] for name in ("train", "valid", "test")}
    counts = ", ".join(f"{len(indices)} {name}" for name, indices in groups.items())
    if not groups["train"] or not groups["test"]:
        return None, f"the official split of {source} has {counts}, so the split fractions {split} are used instead"
    if groups["valid"]:
        splits = {"train": groups["train"], "val": groups["valid"], "test": groups["test"]}
        return splits, f"the official split of {source}: {counts}"
    train = groups["train"]
    fraction = split[1] / (split[0] + split[1]) if split[0] + split[1] > 0 else 0.0
    size = math.floor(fraction * len(train) + 0.5)
    if size == 0 or size == len(train):
        return None, (
            f"the official split of {source} has {counts}, and a validation fraction of {fraction:.3g} of its "
            f"training trajectories leaves one of them empty, so the split fractions {split} are used instead"
        )
    splits = {"train": train[:-size], "val": train[-size:], "test": groups["test"]}
    return splits, (
        f"the official split of {source}: {counts}; it has no validation split, so the last {size} of its "
        f"training trajectories validate"
    )


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
    """Train/val/test loaders over one dataset, split by trajectory, with the training split's statistics.

    **Splits.** When the data has an official split (a ``split`` coordinate: The Well's ``train/ valid/ test/``
    folders, PDEArena's split groups, PDEBench's loaders' test set, or a user's own) and ``official_split`` is True,
    the module uses it instead of ``split``'s fractions (see `official_splits`); otherwise ``split`` cuts the
    trajectories in order (see `split_trajectories`). Which one it used is logged at setup and given by
    `split_description`.

    Batches are those of `WindowDataset` (``task="window"``: ``input`` (B, history, C, *S), ``target``
    (B, horizon, C, *S)) or `TrajectoryDataset` (``task="trajectory"``: ``trajectory`` (B, T, C, *S)). The train
    loader shuffles, val and test do not; under DDP Lightning swaps in its DistributedSampler, which pads val and
    test to a multiple of the world size by repeating a few windows. Every DDP process computes the (identical)
    statistics itself in `setup`, so no process waits on another.

    Args:
        path: the dataset: a file, directory or glob pattern of any format `open_dataset` reads.
        fields: the fields, in channel order; None takes every variable with dims (sample, time, ...).
        history: input frames per window (task ``window``).
        horizon: target frames per training window (task ``window``).
        stride: frames between window starts (task ``window``).
        batch_size: items per batch.
        num_workers: DataLoader worker processes (0 reads in the main process).
        split: train, val and test fractions of the trajectories, in file order (see `split_trajectories`), for
            data without an official split (or ``official_split=False``); with an official split that has no
            validation trajectories, the val : train ratio carves validation out of its training ones.
        in_memory: True holds each split in memory, False reads lazily, None chooses per split by size.
        eval_horizon: target frames of val and test windows, for rollout validation; None uses ``horizon``.
        task: ``window`` (history -> horizon pairs) or ``trajectory`` (whole trajectories).
        exclude: trajectories to leave out of whichever split they fall in (e.g. ones holding NaN); the splits
            keep their other trajectories.
        format: the data's format (one of ``pdeops.data.readers.FORMATS``); None detects it.
        official_split: use the data's official split when it has one (see above); False always uses ``split``.
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
        split: tuple[float, float, float] = DEFAULT_SPLIT,
        in_memory: bool | None = None,
        eval_horizon: int | None = None,
        task: Literal["window", "trajectory"] = "window",
        exclude: list[int] | None = None,
        format: str | None = None,
        official_split: bool = True,
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
        self.format, self.official_split = format, official_split
        self.datasets: dict[str, BaseFieldDataset] = {}

    @cached_property
    def layout(self) -> FieldLayout:
        """The data's layout of the chosen fields (read on first use; no field data)."""
        return read_layout(self.path, self.requested_fields, format=self.format)

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
        with open_dataset(self.path, format=self.format) as dataset:
            return dict(dataset.attrs)

    @property
    def splits(self) -> dict[str, Sequence[int]]:
        """The trajectory indices of each split (``samples`` leaves ``exclude`` out)."""
        return self._splits[0]

    @property
    def split_description(self) -> str:
        """Which split the module uses and why: the data's official one, or the fractions."""
        return self._splits[1]

    @cached_property
    def _splits(self) -> tuple[dict[str, Sequence[int]], str]:
        count = self.layout.num_samples
        outside = [index for index in self.exclude if not 0 <= index < count]
        if outside:
            raise DatasetError(f"exclude={self.exclude} names trajectories outside 0..{count - 1} of {self.path}.")
        labels, reason = self.layout.split_labels, ""
        if labels is not None and self.official_split:
            source = self.layout.split_source or "the data"
            official, reason = official_splits(labels, self.split, source=f"{self.layout.path} ({source})")
            if official is not None:
                return dict(official), reason
            reason = f"; {reason}"
        elif labels is not None:
            reason = "; the data's official split is ignored (official_split=False)"
        fractions = split_trajectories(count, self.split, path=self.layout.path)
        sizes = ", ".join(f"{len(indices)} {name}" for name, indices in fractions.items())
        return dict(fractions), f"the split fractions {tuple(self.split)} in trajectory order: {sizes}{reason}"

    def check(self) -> None:
        """Check, from the data's layout alone (no field is read), that every split gets trajectories and that the
        training and evaluation windows fit in them; ``pdeops fit`` calls this before it builds anything else.

        Raises:
            DatasetError: a bad field, an empty split, or a window longer than the trajectories: the message names
                the setting to change (``history``, ``horizon``, ``eval_horizon``: ``--data.*`` on the command line).
        """
        _ = self.splits  # reads the layout; refuses an empty split or a bad exclude
        if self.task != "window":
            return
        times = self.layout.num_times
        windows = {"horizon": (self.horizon, "training"), "eval_horizon": (self.eval_horizon, "validation and test")}
        for name, (horizon, use) in windows.items():
            if horizon is None or self.history + horizon <= times:
                continue
            lower = "data.history"
            if self.history < times:
                lower = f"data.{name} to at most {times - self.history} or data.history"
            raise DatasetError(
                f"{self.layout.path} has {times} frames per trajectory, fewer than the {self.history + horizon} a "
                f"{use} window takes: data.history {self.history} + data.{name} {horizon}. Lower "
                f"{lower} so that data.history + data.{name} <= {times}, or use a file with "
                "longer trajectories."
            )

    def setup(self, stage: str | None = None) -> None:
        """Build the three split datasets, logging which split they follow.

        Lightning calls this once per stage; the datasets are built on the first call and kept.

        Raises:
            DatasetError: see `check`.
        """
        if self.datasets:
            return
        self.check()
        rank_zero_info(f"PDEDataModule: {self.split_description}.")
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
        normalizer = Normalizer.fit(self.path, self.fields, self.samples("train"), format=self.layout.format)
        reader = FrameReader(self.layout)
        try:
            for sample in (*self.samples("val"), *self.samples("test")):
                reader.read(sample, 0, self.layout.num_times)  # raises on NaN or Inf
        finally:
            reader.close()
        return normalizer

    def _dataset(self, split: str, samples: list[int]) -> BaseFieldDataset:
        format = self.layout.format
        if self.task == "trajectory":
            return TrajectoryDataset(
                self.path, fields=self.fields, samples=samples, in_memory=self.in_memory, format=format
            )
        eval_horizon = self.horizon if self.eval_horizon is None else self.eval_horizon
        return WindowDataset(
            self.path,
            fields=self.fields,
            history=self.history,
            horizon=self.horizon if split == "train" else eval_horizon,
            stride=self.stride,
            samples=samples,
            in_memory=self.in_memory,
            format=format,
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
        """``{"fields": [...], "test": [...]}``: the channel order a checkpoint was trained with, and its test
        trajectories (so that evaluation scores the same ones, whether the split was official or by fractions)."""
        return {"fields": list(self.fields), "test": self.samples("test")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Check that a restored run reads the fields it was saved with (the test list is for evaluation).

        Raises:
            DatasetError: the state is for other fields.
        """
        if list(state_dict["fields"]) != list(self.fields):
            raise DatasetError(
                f"The saved data module state is for fields {quoted(state_dict['fields'])}, but this data module "
                f"reads {quoted(self.fields)} from {self.layout.path}. Pass fields= as when it was saved."
            )

    def describe(self) -> dict[str, Any]:
        """A plain (JSON-ready) summary: file, fields, shapes, splits (``[start, stop]`` of a consecutive split, else
        its indices) and windows."""
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
            "splits": {name: _index_summary(indices) for name, indices in self.splits.items()},
            "split_description": self.split_description,
            "excluded": self.exclude,
            "items": {name: len(dataset) for name, dataset in self.datasets.items()},
            "in_memory": {name: dataset.in_memory for name, dataset in self.datasets.items()},
        }


def _index_summary(indices: Sequence[int]) -> list[int]:
    """``[start, stop]`` for consecutive indices, else the indices themselves."""
    items = list(indices)
    if items and items == list(range(items[0], items[-1] + 1)):
        return [items[0], items[-1] + 1]
    return items
