"""Load a trained task from its checkpoint alone, and check a dataset file against what it was trained on.

A checkpoint written by a pdeops task (``pdeops fit`` or any ``Trainer``) records, besides the weights, the task's
class path, its hyperparameters and, per network argument, the ``{"class_path", "init_args"}`` record that rebuilds
the network (see ``pdeops.training.tasks``). The data module's state and hyperparameters, which Lightning saves
beside them, give the field names (the channel order) and the train/val/test split.

The record is a config tree (``pdeops.config``), so any network whose class can be imported is rebuilt: pdeops'
models, neuraloperator's, and a user's own module (its package on PYTHONPATH).

Trust: a checkpoint is data, and loading it runs no code it names. The file is read with
``torch.load(weights_only=True)``, which unpickles tensors and plain data only. Rebuilding the task builds the
classes its record names, so every node of the record is checked first (``check_record``), before anything it names
is imported or called: only classes are built, of the right base (the task a pdeops ``Task``; networks, layers and
losses ``nn.Module`` subclasses; settings dataclasses), defined in ``CODE_PACKAGES`` (pdeops, neuraloperator's models,
layers and losses, torch.nn) or in a package the caller allows (``load_task(path, allow_modules=["mypkg"])``,
``pdeops evaluate --allow-module mypkg``); a function given as an argument must be one of ``torch.nn.functional``.
jsonargparse then builds only the classes the check passed (``pdeops.config.building_only``).
"""

import functools
import inspect
import os
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.config import ConfigError, building_only, import_class, instantiate
from pdeops.data import DatasetError, open_dataset
from pdeops.data._errors import quoted
from pdeops.data.datamodule import DEFAULT_SPLIT, split_trajectories
from pdeops.data.datasets import FieldLayout, read_layout
from pdeops.training.tasks import CHECKPOINT_KEY, BaseOperatorTask, Task

CODE_PACKAGES = ("pdeops", "solvers", "neuralop.models", "neuralop.layers", "neuralop.losses", "torch.nn")
"""Where the classes a checkpoint may name without the caller allowing them are defined: this project's packages,
neuraloperator's networks, their layers and losses, and torch's layers (not the rest of torch or neuraloperator:
``torch.hub``, ``torch.utils``, ``neuralop.data`` ... hold code that downloads, writes or runs programs)."""
_FUNCTION_MODULES = ("torch._C._nn",)  # where torch defines some of torch.nn.functional's functions (gelu, softplus)
_RULE = (
    "Loading builds only classes: a pdeops Task, nn.Module subclasses (networks, layers, losses) and dataclasses "
    "(settings), defined in pdeops, neuraloperator's models, layers and losses, torch.nn or a package you allow; an "
    "argument may also name a function of torch.nn.functional."
)
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
        CheckpointError: the file is missing, a directory, truncated or corrupt, or not a PyTorch checkpoint of plain
            data.
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
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, OSError... for a bad file
        if not zipfile.is_zipfile(path):  # torch writes a zip archive, whose directory comes last
            raise CheckpointError(
                f"{path} is truncated or corrupt ({path.stat().st_size} bytes, not a complete PyTorch checkpoint: "
                "saving it was cut short, e.g. by a full disk or a killed run). Use another checkpoint of the run "
                "(last.ckpt or a best-*.ckpt in the same checkpoints folder), or train again."
            ) from None
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
        allow_modules: packages besides ``CODE_PACKAGES`` whose classes (and functions, as arguments) the
            checkpoint may name (e.g. your own ``"mypkg"``); rebuilding runs their code, so allow only checkpoints you
            trust.
        networks: networks to use instead of rebuilding them, by argument name (e.g. ``model=``), for a network
            that recorded no constructor arguments (one built in Python outside a config).

    Returns:
        The task (``AutoregressiveTask``, ``SpatiotemporalTask``, ...) with its weights and normalisation.

    Raises:
        CheckpointError: the checkpoint cannot be read, names no task, names code a checkpoint may not name (see
            ``check_record``) or a class that cannot be imported, lacks a network's record, or its weights do not fit
            the network.
    """
    return build_task(read_checkpoint(path), str(path), allow_modules=allow_modules, **networks).to(device)


def build_task(
    checkpoint: dict[str, Any], source: str, *, allow_modules: Sequence[str] = (), **networks: nn.Module
) -> Task:
    """``load_task`` on contents already read by ``read_checkpoint``; ``source`` names the file in messages."""
    config: Any = (checkpoint.get(CHECKPOINT_KEY) or {}).get("task")
    cls, classes = check_record(config, source, allow_modules, replaced=networks)
    unknown = sorted(set(networks) - set(cls.network_arguments()))
    if unknown:
        raise CheckpointError(
            f"{cls.__name__} takes no network argument {quoted(unknown)}; its networks are "
            f"{quoted(cls.network_arguments())}."
        )
    with building_only(classes):
        arguments = {
            name: networks[name] if name in networks else _build(source, name, value)
            for name, value in config.get("init_args", {}).items()
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


def _build(source: str, name: str, value: Any) -> Any:
    """A recorded constructor argument, checked by ``check_record``: config trees built, plain values as they are."""
    if _is_unrecorded(value):
        raise CheckpointError(
            f"{source} cannot rebuild the task's {name!r} network, {value['unrecorded']}: {value['reason']} "
            f"Or build it as in training and pass it: load_task(path, {name}=<network>)."
        )
    if isinstance(value, dict) and "class_path" in value:
        try:
            return instantiate(value)
        except ConfigError as error:
            raise CheckpointError(f"{source}: the task's {name!r} {error}") from None
    return value


# --- what a record may name ----------------------------------------------------------------------------------------
def check_record(
    config: Any, source: str, allow_modules: Sequence[str] = (), replaced: Collection[str] = ()
) -> tuple[type[Task], frozenset[type]]:
    """Check a task's record before anything it names is imported (beyond ``CODE_PACKAGES``) or called.

    Every node is checked: each ``{"class_path", "init_args"}`` tree, wherever it is (networks, their arguments,
    lists, plain dicts), names a class (never a function) of the right base, defined in ``CODE_PACKAGES`` or an
    allowed package: the task a pdeops ``Task``, everything else an ``nn.Module`` subclass (networks, layers,
    losses) or a dataclass (settings). Every other string that reads as an import path is an argument that names a
    function or class: a class as above, or a function of ``torch.nn.functional`` (those are tensor operations;
    any function of an allowed package too). Which module a path may be imported from is decided from the path
    alone, before it is imported; what the object is, after.

    Args:
        config: the record, ``checkpoint["pdeops"]["task"]``.
        source: the checkpoint's name in messages.
        allow_modules: packages the caller trusts (their own networks).
        replaced: network arguments the caller passes, whose records are not used (and not checked).

    Returns:
        The task class and every class the record names: all that rebuilding it may build.

    Raises:
        CheckpointError: the record names anything else, or holds what pdeops never writes in one.
    """
    check = _RecordCheck(source, tuple(allow_modules))
    where = f"{CHECKPOINT_KEY}.task"
    if not isinstance(config, dict) or "class_path" not in config:
        raise CheckpointError(
            f"{source} does not say which task it holds (it was saved without pdeops' record, by an older pdeops "
            "or another LightningModule). Load it with the task class directly, e.g. "
            "AutoregressiveTask.load_from_checkpoint(path, model=<the network, built as in training>)."
        )
    task = cast(type[Task], check.tree(config, where, task=True))
    networks = task.network_arguments()
    for name, value in config.get("init_args", {}).items():
        if name in replaced or (name in networks and _is_unrecorded(value)):
            continue  # never imported nor built: an unrecorded network's class is only named in the message
        check.value(value, f"{where}.init_args.{name}")
    return task, frozenset(check.classes)


def _is_unrecorded(value: Any) -> bool:
    """Whether ``value`` is ``task_config``'s mark of a network that recorded no arguments (exactly that form)."""
    return (
        isinstance(value, dict)
        and set(value) == {"unrecorded", "reason"}
        and all(isinstance(item, str) for item in value.values())
    )


def _within(path: str, packages: Sequence[str]) -> bool:
    return any(path == package or path.startswith(f"{package}.") for package in packages)


def _is_import_path(value: str) -> bool:
    parts = value.split(".")
    return len(parts) > 1 and all(part.isidentifier() and not part.startswith("__") for part in parts)


@functools.cache
def _tensor_functions() -> frozenset[int]:
    """The ids of the public functions of ``torch.nn.functional`` that torch defines there or in its C modules:
    tensor operations (``gelu``, ``silu``, ``softplus``, ...), without the helpers it imports (``boolean_dispatch``,
    ``handle_torch_function``)."""
    return frozenset(
        id(value)
        for name, value in vars(F).items()
        if not name.startswith("_")
        and inspect.isroutine(value)
        and getattr(value, "__module__", None) in ("torch.nn.functional", "torch._C._nn", "torch")
    )


@dataclass
class _RecordCheck:
    source: str
    allowed: tuple[str, ...]
    classes: set[type] = field(default_factory=set)

    @property
    def packages(self) -> tuple[str, ...]:
        return (*CODE_PACKAGES, *self.allowed)

    def value(self, value: Any, where: str) -> None:
        """Check any node of the record: trees, plain dicts, lists, strings that name code, plain scalars."""
        if isinstance(value, dict):
            if "class_path" in value:
                self.tree(value, where)
                return
            for key, item in value.items():
                if not isinstance(key, str):
                    raise self.foreign(f"a dict key {key!r} that is not a string", where)
                self.value(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                self.value(item, f"{where}[{i}]")
        elif isinstance(value, str):
            if _is_import_path(value):
                self.reference(value, where)
        elif not isinstance(value, type(None) | bool | int | float):
            raise self.foreign(f"a {type(value).__name__}", where)

    def tree(self, node: dict[str, Any], where: str, *, task: bool = False) -> type:
        """Check a ``{"class_path", "init_args"}`` tree and everything in it; the class it builds."""
        path, init_args = node.get("class_path"), node.get("init_args", {})
        if not isinstance(path, str) or not _is_import_path(path):
            raise self.foreign(f"the class_path {path!r}, which is not a module.Class import path", where)
        extra = sorted(str(key) for key in node if key not in ("class_path", "init_args"))
        if extra:
            raise self.foreign(f"a class record for {path!r} with the key(s) {quoted(extra)}", where)
        if not isinstance(init_args, dict):
            raise self.foreign(f"the init_args {init_args!r} of {path!r}, which are not a dict", where)
        at = f"{where}.class_path"
        cls = self.resolve(path, at)
        if not inspect.isclass(cls):
            raise self.refused(path, at, f"it is a {_kind(cls)}: only classes are built")
        self.require_class(cls, path, at, task=task)
        if not task:  # a task's arguments are checked by check_record, which knows its networks
            for key, item in init_args.items():
                self.value(item, f"{where}.init_args.{key}")
        return cls

    def reference(self, path: str, where: str) -> None:
        """Check a string that names a function or class an argument takes (``torch.nn.functional.gelu``)."""
        cls = self.resolve(path, where, functions=True)
        if inspect.isclass(cls):
            self.require_class(cls, path, where)
        elif not (
            inspect.isroutine(cls)
            and (id(cls) in _tensor_functions() or _within(getattr(cls, "__module__", None) or "", self.allowed))
        ):
            raise self.refused(path, where, f"it is a {_kind(cls)}, and not one of torch.nn.functional")

    def require_class(self, cls: type, path: str, where: str, *, task: bool = False) -> None:
        if not _within(cls.__module__, self.packages):
            raise self.refused(path, where, f"it is defined in {cls.__module__}")
        if task and not issubclass(cls, Task):
            raise self.refused(path, where, "it is not a pdeops task (a Task subclass)")
        if not (issubclass(cls, nn.Module) or is_dataclass(cls)):
            raise self.refused(path, where, "it is neither an nn.Module subclass nor a dataclass")
        self.classes.add(cls)

    def resolve(self, path: str, where: str, *, functions: bool = False) -> Any:
        """The object at ``path``, imported only from a module the path may name (decided before importing)."""
        module = path.rpartition(".")[0]
        importable = _within(module, self.packages) or any(
            _within(package, [module]) for package in self.packages
        )  # in a package, or a package above one (``torch``, ``neuralop``: their top-level names)
        if not (importable or (functions and module in _FUNCTION_MODULES)):
            raise self.outside(path, where)
        try:
            return import_class(path)
        except ConfigError as error:
            raise CheckpointError(f"{self.source} names a class that cannot be imported. {error}") from None

    def outside(self, path: str, where: str) -> CheckpointError:
        root = path.partition(".")[0]
        if not _within(root, [package.partition(".")[0] for package in self.packages]):
            return CheckpointError(
                f"{self.source}, at {where}, names {path!r}, from {root!r}, a package outside pdeops, "
                "neuraloperator and torch. Loading the checkpoint would import and run it. If you trust the "
                f"checkpoint (e.g. it holds your own network), allow the package: load_task(path, "
                f"allow_modules=[{root!r}]), or --allow-module {root} on the command line."
            )
        return self.refused(path, where, f"it is from {path.rpartition('.')[0]}, outside the packages below")

    def refused(self, path: str, where: str, why: str) -> CheckpointError:
        return CheckpointError(
            f"{self.source}, at {where}, names {path!r}, which a checkpoint may not name: {why}. {_RULE} pdeops "
            "writes nothing else, so the file was altered or written by other code; nothing was run. Load a "
            "checkpoint you trust, or train again."
        )

    def foreign(self, what: str, where: str) -> CheckpointError:
        return CheckpointError(
            f"{self.source}, at {where}, holds {what}, which pdeops never writes in a checkpoint's record: the file "
            "was altered or written by other code; nothing was run. Load a checkpoint you trust, or train again."
        )


def _kind(value: Any) -> str:
    if inspect.ismodule(value):
        return "module"
    return "function" if inspect.isroutine(value) else f"{type(value).__name__} object"


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
