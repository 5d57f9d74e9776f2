"""Config trees: how a module was built, written as ``{"class_path": ..., "init_args": {...}}`` and built again.

A config tree is jsonargparse's (and so LightningCLI's) layout for a class and its constructor arguments, in plain
data: numbers, strings, None, lists and dicts, with a module argument as a nested tree. A checkpoint keeps its task's
tree, so any network whose class can be imported (a pdeops model, any neuraloperator model, a user's module) is
rebuilt from the checkpoint alone.

Where a tree comes from, in this order:

1. ``record_arguments`` called when the module was built: by the jsonargparse instantiator that ``pdeops fit``
   registers for every ``nn.Module`` it builds from a config, by ``instantiate``, and by ``RecordsArguments``, the
   mixin of pdeops' own models, tasks and losses (so that they record themselves when built from Python too);
2. neuraloperator's own record of the arguments of its models (``_init_kwargs``).

A function or class given as an argument is written as its import path (``"torch.nn.functional.silu"``), which
jsonargparse resolves back; one left at its default is not written at all.

This module is a leaf: it imports neither pdeops' training nor its evaluation.
"""

import contextlib
import dataclasses
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from torch import nn

Config = dict[str, Any]

_ARGUMENTS = "_pdeops_arguments"  # the instance attribute holding the bound constructor arguments
_PLAIN = (type(None), bool, int, float, str)


class ConfigError(ValueError):
    """A module cannot be written as a config tree, or a config tree cannot be built."""


# --- class paths -------------------------------------------------------------------------------------------------
def class_path(cls: type) -> str:
    """The shortest public import path of ``cls``: ``pdeops.models.DRIFTNet``, not ``pdeops.models.drift.DRIFTNet``.

    The path names the highest package on the class's own module path that exports the same object, so a checkpoint
    keeps naming a class that moves between private modules of its package.
    """
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = ".".join(parts[:end])
        try:
            if getattr(importlib.import_module(module), cls.__qualname__, None) is cls:
                return f"{module}.{cls.__qualname__}"
        except ImportError:  # e.g. a package whose __init__ fails: fall through to the class's own module
            continue
    return f"{cls.__module__}.{cls.__qualname__}"


def import_class(path: str, what: str = "class") -> Any:
    """The object at ``module.Name``; a ``ConfigError`` that says how to make it importable when it is not."""
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"The {what} {path!r} cannot be imported ({type(error).__name__}: {error}). Install the package that "
            "defines it, or put the directory of its module on PYTHONPATH."
        ) from None


# --- recording ---------------------------------------------------------------------------------------------------
def record_arguments(instance: object, cls: type, args: tuple, kwargs: Mapping[str, Any]) -> None:
    """Remember the arguments ``instance = cls(*args, **kwargs)`` was built with (defaults filled in)."""
    try:
        bound = inspect.signature(cls).bind(*args, **kwargs)
    except TypeError:  # not a real call of the constructor (copy.deepcopy calls __new__ bare)
        return
    bound.apply_defaults()
    object.__setattr__(instance, _ARGUMENTS, dict(bound.arguments))


class RecordsArguments:
    """Mixin for an ``nn.Module`` that records its constructor arguments whenever it is built, so that
    ``module_config`` can write it as a config tree. Put it before ``nn.Module`` among the bases."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().__new__(cls)
        record_arguments(instance, cls, args, kwargs)
        return instance


def recording_instantiator(class_type: type, *args: Any, **kwargs: Any) -> Any:
    """A jsonargparse instantiator that records the arguments of every module it builds (and, inside
    ``building_only``, builds only the classes it allows)."""
    _require_buildable(class_type)
    instance = class_type(*args, **kwargs)
    if isinstance(instance, nn.Module):
        record_arguments(instance, class_type, args, kwargs)
    return instance


def init_arguments(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments ``module`` was built with, by name, defaults filled in.

    Raises:
        ConfigError: the module recorded none (see the module docstring for what records them).
    """
    recorded = getattr(module, _ARGUMENTS, None)
    if recorded is None:
        recorded = _neuralop_arguments(module)
    if recorded is None:
        raise ConfigError(
            f"{class_path(type(module))} did not record the arguments it was built with. Build it from a config "
            "(pdeops fit, or pdeops.config.instantiate({'class_path': ..., 'init_args': {...}})), or give it "
            "the pdeops.config.RecordsArguments mixin."
        )
    return dict(recorded)


def _neuralop_arguments(module: nn.Module) -> dict[str, Any] | None:
    """neuraloperator's record (keyword arguments, positional ones under ``"args"``) by parameter name."""
    recorded = getattr(module, "_init_kwargs", None)
    if not isinstance(recorded, dict):
        return None
    parameters = inspect.signature(type(module)).parameters
    positional = [name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    args = tuple(recorded.get("args", ()))
    if len(args) > len(positional):
        return None
    arguments = {name: value for name, value in recorded.items() if name in parameters}
    arguments.update(zip(positional, args, strict=False))
    return arguments


def module_config(module: nn.Module, *, exclude: tuple[str, ...] = ()) -> Config:
    """The config tree that rebuilds ``module`` (its weights aside), in plain data.

    Args:
        module: a module that recorded its constructor arguments (see ``init_arguments``).
        exclude: arguments to leave out (e.g. a task's optimiser, which inference does not need).

    Raises:
        ConfigError: the module recorded no arguments, or one of them cannot be written as plain data.
    """
    cls = type(module)
    parameters = inspect.signature(cls).parameters
    init_args: dict[str, Any] = {}
    for name, value in init_arguments(module).items():
        parameter = parameters.get(name)
        if name in exclude or parameter is None:
            continue
        if parameter.kind is parameter.VAR_KEYWORD:
            init_args.update({key: _plain(item, f"{name}.{key}") for key, item in value.items()})
        elif parameter.kind is parameter.VAR_POSITIONAL:
            if value:
                raise ConfigError(
                    f"{class_path(cls)} was given extra positional arguments, which a config cannot name."
                )
        elif not _plain_data(value) and value is parameter.default:
            continue  # a function or class left at its default: rebuilding takes the same default
        else:
            init_args[name] = _plain(value, name)
    return {"class_path": class_path(cls), "init_args": init_args}


def _plain(value: Any, name: str) -> Any:
    """``value`` as plain data: modules as config trees, functions and classes as import paths."""
    if isinstance(value, nn.Module):
        return module_config(value)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item, name) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _plain(item, f"{name}.{key}") for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _plain(getattr(value, f.name), f"{name}.{f.name}") for f in dataclasses.fields(value) if f.init
        }
        return {"class_path": class_path(type(value)), "init_args": fields}
    if callable(value) and hasattr(value, "__qualname__") and "<" not in value.__qualname__:
        path = f"{value.__module__}.{value.__qualname__}"
        if import_class(path, "argument") is value:
            return path
    raise ConfigError(f"argument {name!r} = {value!r} cannot be written as plain data in a config.")


def _plain_data(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_plain_data(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and _plain_data(item) for key, item in value.items())
    return isinstance(value, _PLAIN)


# --- building ----------------------------------------------------------------------------------------------------
def instantiate(config: Mapping[str, Any]) -> Any:
    """Build the object of a config tree (nested trees included), as ``pdeops fit`` builds it from YAML.

    A module's arguments are checked against its class's signature by jsonargparse, and every module built records
    its arguments, so the result can be saved and rebuilt again. Any other class (e.g. a dataclass of settings) is
    called with its ``init_args`` as they are.

    Args:
        config: ``{"class_path": "package.Class", "init_args": {...}}``.

    Raises:
        ConfigError: a class cannot be imported, or the arguments do not fit its signature.
    """
    from jsonargparse import ArgumentParser

    prepare_jsonargparse()
    for path in _class_paths(config):
        import_class(path)
    cls = import_class(config["class_path"])
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        _require_buildable(cls)
        try:
            return cls(**config.get("init_args", {}))
        except (TypeError, ValueError) as error:
            raise ConfigError(f"cannot build {config['class_path']!r} from its config: {error}") from None
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--built", type=nn.Module)
    parser.add_instantiator(recording_instantiator, object, subclasses=True)  # every class, for building_only
    try:
        parsed = parser.parse_object({"built": dict(config)})
        return parser.instantiate(parsed).built
    except Exception as error:  # jsonargparse's ArgumentError and friends; the message names the key
        raise ConfigError(f"cannot build {config.get('class_path')!r} from its config: {error}") from None


_BUILDABLE: ContextVar[frozenset[type] | None] = ContextVar("pdeops_buildable", default=None)


@contextlib.contextmanager
def building_only(classes: Iterable[type]) -> Iterator[None]:
    """Within the block, ``instantiate`` builds only ``classes``, wherever it is called from (a network that builds
    its sub-networks from a config tree, like ``NeuralStagger``, included).

    jsonargparse builds a class that a tree does not name by its import path, too: any loaded module class whose
    name a module argument gives (``act: Identity``). ``load_task`` builds a checkpoint's record in this block, with
    the classes its check passed, so that nothing else is built.
    """
    token = _BUILDABLE.set(frozenset(classes))
    try:
        yield
    finally:
        _BUILDABLE.reset(token)


def _require_buildable(cls: Any) -> None:
    allowed = _BUILDABLE.get()
    if allowed is not None and cls not in allowed:
        path = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)}"
        raise ConfigError(
            f"it would build {path}, which the checkpoint's check did not pass (it is not named by its import "
            "path where a class is built); only the classes a record names are built."
        )


def _class_paths(config: Any) -> Iterator[str]:
    if isinstance(config, Mapping):
        if isinstance(config.get("class_path"), str):
            yield config["class_path"]
        for value in config.values():
            yield from _class_paths(value)
    elif isinstance(config, list):
        for item in config:
            yield from _class_paths(item)


# --- neuraloperator's signatures for jsonargparse ---------------------------------------------------------------
TFNO_DEFAULTS = {"factorization": "Tucker", "rank": 0.1}
"""The defaults ``neuralop.models.TFNO.__init__(*args, **kwargs)`` sets on top of FNO's."""


@functools.cache
def prepare_jsonargparse() -> None:
    """Let jsonargparse read neuraloperator's models from configs (``class_path: neuralop.models.FNO``).

    Some of their signatures contradict their own defaults, which jsonargparse rejects: ``non_linearity`` is typed
    ``nn.Module`` but defaults to the function ``F.gelu``, ``conv_module`` is typed ``nn.Module`` but defaults to a
    class, ``UNO``'s required arguments have no type, and ``TFNO`` takes only ``*args, **kwargs``. This gives each
    model's ``__init__`` a ``__signature__`` with the types its defaults actually have (``Function`` for functions,
    ``type[...]`` for classes, ``Any`` where there is none) and ``TFNO`` FNO's parameters with its own defaults.
    Names, order and defaults are unchanged, so nothing else sees a difference.

    A class is thus read and written as a class (``conv_module: neuralop.layers.spectral_convolution.SpectralConv``),
    not as a callable that jsonargparse would instantiate with no arguments, and a function as its public path
    (``torch.nn.functional.gelu``), so that a printed or saved config builds the same network again.
    """
    import neuralop.models
    from jsonargparse.typing import register_type

    register_type(
        Function,
        serializer=public_import_path,
        deserializer=_import_function,
        type_check=lambda value, _: _is_function(value),
    )

    for name in dir(neuralop.models):
        cls = getattr(neuralop.models, name)
        if isinstance(cls, type) and issubclass(cls, nn.Module) and "__init__" in cls.__dict__:
            init = cls.__dict__["__init__"]
            init.__signature__ = _consistent_signature(inspect.signature(init))
    tfno = neuralop.models.TFNO
    fno_signature = inspect.signature(neuralop.models.FNO.__init__)
    tfno.__init__.__signature__ = fno_signature.replace(
        parameters=[
            p.replace(default=TFNO_DEFAULTS[p.name]) if p.name in TFNO_DEFAULTS else p
            for p in fno_signature.parameters.values()
        ]
    )


def _consistent_signature(signature: inspect.Signature) -> inspect.Signature:
    parameters = []
    for p in signature.parameters.values():
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            default = p.default
            if default is not p.empty and isinstance(default, type) and not _instance_of(default, p.annotation):
                base = p.annotation if isinstance(p.annotation, type) and issubclass(default, p.annotation) else object
                p = p.replace(annotation=type[base])
            elif default is not p.empty and _is_function(default) and not _instance_of(default, p.annotation):
                p = p.replace(annotation=Function)
            elif p.annotation is p.empty:
                p = p.replace(annotation=Any)
        parameters.append(p)
    return signature.replace(parameters=parameters)


def _instance_of(value: Any, annotation: Any) -> bool:
    try:
        return isinstance(value, annotation)
    except TypeError:  # a typing construct (Union, Literal, ...): jsonargparse validates those itself
        return True


# --- functions as arguments --------------------------------------------------------------------------------------
class Function:
    """The type ``prepare_jsonargparse`` gives an argument whose default is a function (neuraloperator's
    ``non_linearity``): a config names the function by its import path, and a printed or saved config writes it back
    as its public path (``public_import_path``)."""


def public_import_path(value: Any) -> str:
    """The import path of a function or class as its package exports it: ``torch.nn.functional.gelu``, not
    ``torch._C._nn.gelu`` (the private module that defines it).

    Among the loaded modules of the object's top-level package whose names have no private part (``_x``), those
    holding the object under its own name are candidates; the shortest path wins (then the first in sorted order),
    and the object's own module is the fallback. A string is taken to be a path already and returned unchanged.

    Raises:
        ConfigError: the object has no import path (a lambda, a local function, an instance).
    """
    if isinstance(value, str):
        return value
    name, module = getattr(value, "__qualname__", None), getattr(value, "__module__", None)
    if not (isinstance(name, str) and isinstance(module, str)) or "<" in name:
        raise ConfigError(f"{value!r} has no import path, so a config cannot name it.")
    own = f"{module}.{name}"
    if "." in name:  # a method or nested class: only its own module's path names it
        return own
    top = module.partition(".")[0]
    found = [
        f"{path}.{name}"
        for path, loaded in list(sys.modules.items())
        if path.partition(".")[0] == top
        and not any(part.startswith("_") for part in path.split("."))
        and getattr(loaded, "__dict__", {}).get(name) is value
    ]
    return min(found, key=lambda path: (path.count("."), path), default=own)


def _is_function(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


def _import_function(path: str) -> Callable:
    """The function at ``path`` (for jsonargparse); a ``ConfigError`` for a class or another non-function."""
    if not isinstance(path, str):
        raise ConfigError(f"expected the import path of a function (e.g. torch.nn.functional.gelu), got {path!r}.")
    function = import_class(path, "function")
    if not _is_function(function):
        raise ConfigError(
            f"{path} is not a function (a class or other object); give the import path of a function such as "
            "torch.nn.functional.gelu."
        )
    return function
