"""Load a trained task from its checkpoint alone, and check a dataset file against what it was trained on.

A checkpoint written by a pdeops task (``pdeops fit`` or any ``Trainer``) records, besides the weights, the task's
class path, its hyperparameters and, per network argument, the ``{"class_path", "init_args"}`` record that rebuilds
the network (see ``pdeops.training.tasks``). The data module's state and hyperparameters, which Lightning saves
beside them, give the field names (the channel order) and the train/val/test split.

The record is a config tree (``pdeops.config``), so any network whose class can be imported is rebuilt: pdeops'
models, neuraloperator's, and a user's own module (its package on PYTHONPATH).

Trust: the file is read with ``torch.load(weights_only=True)``, which unpickles tensors and plain data only. Rebuilding
the task imports and calls the classes its record names, which runs their code, so a record may name only modules of
pdeops, neuraloperator and torch (``TRUSTED_MODULES``) unless the caller allows more: ``load_task(path,
allow_modules=["mypkg"])``, ``pdeops evaluate --allow-module mypkg``.
"""

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pdeops.config import ConfigError, import_class, instantiate
from pdeops.data import DatasetError, open_dataset
from pdeops.data._errors import quoted
from pdeops.data.datamodule import split_trajectories
from pdeops.data.datasets import FieldLayout, read_layout
from pdeops.training.tasks import CHECKPOINT_KEY, BaseOperatorTask, Task

DEFAULT_SPLIT = (0.8, 0.1, 0.1)
TRUSTED_MODULES = ("pdeops", "solvers", "neuralop", "torch")
"""Packages whose classes a checkpoint may name without the caller allowing them."""
_DATAMODULE_STATE = "PDEDataModule"  # Lightning stores a data module's state_dict under its class name


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or does not say how to rebuild its task."""


@dataclass(frozen=True)
class TrainingData:
    """What a checkpoint says about the data it was trained on.

    Args:
        fields: the fields in channel order, or None when it was trained without a ``PDEDataModule``.
        split: the train, val and test fractions of the trajectories (``PDEDataModule``'s default if unknown).
        exclude: the trajectories it left out (e.g. ones holding NaN).
        test: the test trajectories its data module used (an official split or the fractions), where its state
            records them; None for older checkpoints, whose test split is recomputed from ``split``.
    """

    fields: tuple[str, ...] | None
    split: tuple[float, float, float]
    exclude: tuple[int, ...] = ()
    test: tuple[int, ...] | None = None

    def test_samples(self, count: int, path: str) -> list[int]:
        """The test split of a file of ``count`` trajectories, as the checkpoint's data module cut it."""
        if self.test is not None:
            return list(self.test)
        return [i for i in split_trajectories(count, self.split, path=path)["test"] if i not in self.exclude]


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint's contents, tensors on the CPU, read with ``weights_only=True`` (no arbitrary objects).

    Raises:
        CheckpointError: the file is missing, a directory, or not a PyTorch checkpoint of plain data.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise CheckpointError(
            f"Checkpoint {path} {what}. Pass a .ckpt file: `pdeops fit` writes last.ckpt and best-*.ckpt to "
            "<trainer.default_root_dir>/checkpoints."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError... for a bad file
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint of tensors and plain data ({type(error).__name__}: {error}). "
            "Check that it is a complete .ckpt written by Lightning, or save it again with this version of pdeops."
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} holds no 'state_dict', so it is not a Lightning checkpoint.")
    return checkpoint


def load_task(
    path: str | os.PathLike[str], *, device: str = "cpu", allow_modules: Sequence[str] = (), **networks: nn.Module
) -> Task:
    """The trained task of a checkpoint, rebuilt from the checkpoint alone, in eval mode on ``device``.

    Args:
        path: the ``.ckpt`` file.
        device: where to put the task.
        allow_modules: packages besides ``TRUSTED_MODULES`` whose classes the checkpoint may name (e.g. your own
            ``"mypkg"``); rebuilding runs their code, so allow only checkpoints you trust.
        networks: networks to use instead of rebuilding them, by argument name (e.g. ``model=``), for a network
            that recorded no constructor arguments (one built in Python outside a config).

    Returns:
        The task (``AutoregressiveTask``, ``SpatiotemporalTask``, ...) with its weights and normalisation.

    Raises:
        CheckpointError: the checkpoint cannot be read, names no task, names a module that is not allowed or a class
            that cannot be imported, lacks a network's record, or its weights do not fit the network.
    """
    return build_task(read_checkpoint(path), str(path), allow_modules=allow_modules, **networks).to(device)


def build_task(
    checkpoint: dict[str, Any], source: str, *, allow_modules: Sequence[str] = (), **networks: nn.Module
) -> Task:
    """``load_task`` on contents already read by ``read_checkpoint``; ``source`` names the file in messages."""
    config = (checkpoint.get(CHECKPOINT_KEY) or {}).get("task")
    if not isinstance(config, dict):
        raise CheckpointError(
            f"{source} does not say which task it holds (it was saved without pdeops' record, by an older pdeops "
            "or another LightningModule). Load it with the task class directly, e.g. "
            "AutoregressiveTask.load_from_checkpoint(path, model=<the network, built as in training>)."
        )
    _require_trusted(config, source, (*TRUSTED_MODULES, *allow_modules))
    cls = _import(source, config["class_path"])
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise CheckpointError(f"{source} names {config['class_path']!r} as its task, which is not a pdeops task.")
    unknown = sorted(set(networks) - set(cls.network_arguments()))
    if unknown:
        raise CheckpointError(
            f"{cls.__name__} takes no network argument {quoted(unknown)}; its networks are "
            f"{quoted(cls.network_arguments())}."
        )
    arguments = {
        name: networks[name] if name in networks else _build(source, name, value)
        for name, value in config["init_args"].items()
    }
    task = cls(**arguments)
    task.on_load_checkpoint(checkpoint)  # as Lightning's load_from_checkpoint does before loading the weights
    try:
        task.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(
            f"The weights in {source} do not fit the rebuilt {cls.__name__}: {error}. If you passed a network, "
            "build it with the arguments it was trained with."
        ) from None
    return task.eval()


def _require_trusted(config: Any, source: str, trusted: Sequence[str]) -> None:
    """Refuse a record that names an import path (a class, or a function given as an argument) outside ``trusted``."""
    for path in _import_paths(config):
        if not any(path == root or path.startswith(f"{root}.") for root in trusted):
            root = path.partition(".")[0]
            raise CheckpointError(
                f"{source} names {path!r}, from {root!r}, a package outside pdeops, neuraloperator and torch. Loading "
                "the checkpoint would import and run it. If you trust the checkpoint, allow the package: "
                f"load_task(path, allow_modules=[{root!r}]), or --allow-module {root} on the command line."
            )


def _import_paths(value: Any) -> Iterator[str]:
    """Every string in a record that reads as a dotted import path (``package.module.Name``); the class of an
    unrecorded network is only named, never imported."""
    if isinstance(value, str):
        parts = value.split(".")
        if len(parts) > 1 and all(part.isidentifier() for part in parts):
            yield value
    elif isinstance(value, dict) and "unrecorded" not in value:
        for item in value.values():
            yield from _import_paths(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _import_paths(item)


def _build(source: str, name: str, value: Any) -> Any:
    """A recorded constructor argument: config trees built, plain values as they are."""
    if isinstance(value, dict) and "unrecorded" in value:
        raise CheckpointError(
            f"{source} cannot rebuild the task's {name!r} network, {value['unrecorded']}: {value['reason']} "
            f"Or build it as in training and pass it: load_task(path, {name}=<network>)."
        )
    if isinstance(value, dict) and isinstance(value.get("class_path"), str):
        _import(source, value["class_path"])
        try:
            return instantiate(value)
        except ConfigError as error:
            raise CheckpointError(f"{source}: the task's {name!r} {error}") from None
    return value


def _import(source: str, path: str) -> Any:
    try:
        return import_class(path)
    except ConfigError as error:
        raise CheckpointError(f"{source} names a class that cannot be imported. {error}") from None


def training_data(checkpoint: dict[str, Any]) -> TrainingData:
    """The fields and split a checkpoint was trained with, from the data module's state and hyperparameters."""
    state = checkpoint.get(_DATAMODULE_STATE) or {}
    settings = checkpoint.get("datamodule_hyper_parameters") or {}
    fields = state.get("fields") or settings.get("fields")
    split = settings.get("split") or DEFAULT_SPLIT
    return TrainingData(
        fields=None if fields is None else tuple(str(name) for name in fields),
        split=(float(split[0]), float(split[1]), float(split[2])),
        exclude=tuple(int(i) for i in settings.get("exclude") or ()),
        test=None if state.get("test") is None else tuple(int(i) for i in state["test"]),
    )


def matching_layout(
    data_path: str | os.PathLike[str], task: BaseOperatorTask, training: TrainingData, checkpoint: str
) -> FieldLayout:
    """The layout of the task's fields in ``data_path``, checked against the task's channels and spatial axes.

    Raises:
        DatasetError: the file lacks a field the checkpoint was trained on.
        ValueError: the file's channels or number of spatial axes differ from the task's.
    """
    if training.fields is not None:
        with open_dataset(data_path) as dataset:
            variables = [str(name) for name in dataset.data_vars]
        missing = [name for name in training.fields if name not in variables]
        if missing:
            raise DatasetError(
                f"{checkpoint} was trained on the fields {quoted(training.fields)}, but {data_path} has no "
                f"{quoted(missing)} (its variables: {quoted(variables)}). Evaluate on a file with those fields, e.g. "
                "one generated by the recipe the training data came from."
            )
    layout = read_layout(data_path, training.fields)
    if len(layout.fields) != task.channels or len(layout.spatial_shape) != task.spatial_dims:
        raise ValueError(
            f"{checkpoint} holds a task for {task.channels} channel(s) on {task.spatial_dims} spatial axes, but "
            f"{data_path} gives {len(layout.fields)} field(s) {quoted(layout.fields)} on the grid "
            f"{layout.spatial_shape}. Use a data file like the one it was trained on."
        )
    return layout
