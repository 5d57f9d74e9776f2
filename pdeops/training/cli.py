"""``pdeops fit|validate|test``: LightningCLI over the tasks and ``PDEDataModule``.

What the data fixes, the CLI links in this one place, so that model and data cannot disagree
(``apply_on="instantiate"``: the data module reads the file first):

- the task's ``channels``, ``spatial_dims``, ``history``, ``unroll`` (= ``data.horizon``) and ``rollout_steps``
  (= ``data.eval_horizon``);
- the network's ``in_channels`` (``history × channels`` for window tasks, ``channels`` for trajectories) and
  ``out_channels`` (``channels``): a network that nests another (``NeuralStagger``) passes them on itself; an
  ``image_size`` (``DRIFTNet``, ``ScOT``) is the grid's side.

A physics task without a ``residual`` builds the one of the data file's equation (its recipe and parameters), so no
viscosity or time step is typed twice.

Every network built from a config records its config tree (``pdeops.config``), so checkpoints rebuild any network
whose class can be imported, and neuraloperator's models can be named by ``class_path`` directly. Optimisers and
schedules are task arguments (``model.init_args.optimizer``, ``model.init_args.lr_scheduler``).

Collocation tasks (PINNs, ``pdeops.training.collocation``) sample their own points: a config whose task is one of
them runs with no ``data:`` section.

Bad input is named early and in one paragraph: the data file's layout is checked against the windows and splits
asked for (``PDEDataModule.check``) before the model or the trainer is built, and a network whose constructor refuses
its arguments is reported with the constructor's own message (``build_network``). A printed or saved config
(``--print_config``, ``lightning_logs/version_N/config.yaml``) runs again as it is: see
``pdeops.config.prepare_jsonargparse`` for how class and function arguments are written.

Logs: CSV by default (``<trainer.default_root_dir>/lightning_logs/version_N/metrics.csv``), whatever is installed;
Lightning's own default would switch to TensorBoard once ``tensorboard`` is installed. Choose another logger with
``--trainer.logger`` (``lightning.pytorch.loggers.TensorBoardLogger``, ``WandbLogger``, or ``false``).

Checkpoints, in ``<trainer.default_root_dir>/checkpoints``: ``best-*.ckpt`` by the validation rollout error
(``checkpoint.*``) and ``last.ckpt`` after every validation epoch (``last_checkpoint.*``), so ``--ckpt_path last``
resumes the run where it stopped.
"""

import contextlib
import io
import logging
import re
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from pdeops.config import ConfigError, class_path, import_class, prepare_jsonargparse, recording_instantiator
from pdeops.data.datamodule import PDEDataModule
from pdeops.training.collocation import BaseCollocationTask

COMMANDS = ("fit", "validate", "test")
CHECKPOINT_ALIASES = ("last", "best", "hpc", "registry")


def _network_in_channels(data: PDEDataModule) -> int:
    return data.history * data.channels if data.task == "window" else data.channels


DATA_LINKS = {
    "model.init_args.channels": lambda d: d.channels,
    "model.init_args.spatial_dims": lambda d: len(d.spatial_shape),
    "model.init_args.history": lambda d: d.history,
    "model.init_args.unroll": lambda d: d.horizon,
    "model.init_args.rollout_steps": lambda d: d.eval_horizon or d.horizon,
    "model.init_args.model.init_args.in_channels": _network_in_channels,
    "model.init_args.model.init_args.out_channels": lambda d: d.channels,
    "model.init_args.model.init_args.image_size": lambda d: d.spatial_shape[0],  # DRIFTNet, ScOT: square grids
}
"""Task and network arguments computed from the data module (skipped for a task or network without them)."""


def build_network(class_type: type, *args: Any, **kwargs: Any) -> Any:
    """Build a module of the config (a network, a loss) and record its arguments (``recording_instantiator``).

    Raises:
        ConfigError: its constructor refused the arguments; the message is the constructor's own, with the class
            (jsonargparse would bury it under the task's union error and a dump of every argument).
    """
    try:
        with _without_debug_prints():
            return recording_instantiator(class_type, *args, **kwargs)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(
            f"{class_path(class_type)} refused the arguments the config gives it: {str(error).rstrip('.')} "
            f"({type(error).__name__} in its constructor). Fix its init_args in the config (--print_config shows "
            "them all)."
        ) from error


DEBUG_PRINTS = re.compile(r"^(fno_skip|channel_mlp_skip)=.*\n", re.MULTILINE)
"""What neuraloperator 2.0's UNO prints for each of its layers whenever it is built (a leftover debug print)."""


@contextlib.contextmanager
def _without_debug_prints() -> Iterator[None]:
    """Print what the block prints, less ``DEBUG_PRINTS``'s lines."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        sys.stdout.write(DEBUG_PRINTS.sub("", printed.getvalue()))


class LastCheckpoint(ModelCheckpoint):
    """The ``last.ckpt`` callback: a ``ModelCheckpoint`` of its own class, so that Lightning's callback-state key
    (class name + settings) differs from the best-checkpoint callback's even when both monitor nothing."""


class PDEopsCLI(LightningCLI):
    """LightningCLI with pdeops' links, checkpointing defaults and recording of every network it builds."""

    def __init__(self, *args: Any, **kwargs: Any):
        prepare_jsonargparse()
        kwargs.setdefault("auto_configure_optimizers", False)  # optimisers are task arguments
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # Two checkpoints: the best by the validation rollout error, and last.ckpt after every epoch. (Lightning's own
        # save_last rewrites last.ckpt only when the best improves, so resuming could lose epochs.)
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/rollout_l2",
                "checkpoint.mode": "min",
                "checkpoint.filename": "best-{epoch}-{step}",
                "last_checkpoint.filename": "last",
                "last_checkpoint.enable_version_counter": False,
            }
        )
        for callback in ("checkpoint", "last_checkpoint"):
            parser.link_arguments(
                "trainer.default_root_dir", f"{callback}.dirpath", compute_fn=lambda root: f"{root or '.'}/checkpoints"
            )
        parser.link_arguments("trainer.check_val_every_n_epoch", "last_checkpoint.every_n_epochs")
        if self.datamodule_class is not None:
            for target, compute in DATA_LINKS.items():
                parser.link_arguments("data", target, compute_fn=compute, apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        """Check the data (its layout only) before the model and the trainer are built: a window longer than the
        trajectories or an empty split is named now, not after Lightning's start-up."""
        if self.datamodule_class is None:
            return
        data = self.config.get(self.subcommand, self.config).get("data")
        if data is not None:
            PDEDataModule(**data.as_dict()).check()

    def instantiate_classes(self) -> None:
        """LightningCLI's, with a constructor's own error (``build_network``) raised as it is."""
        try:
            super().instantiate_classes()
        except Exception as error:
            refused = _refused_arguments(error)
            if refused is None:
                raise
            raise refused from refused.__cause__

    def before_fit(self) -> None:
        """Refuse a resume with nothing to resume, and a fresh run over the checkpoints of an earlier one (Lightning
        would start afresh, or write last-v1.ckpt beside the stale last.ckpt)."""
        callback = self.trainer.checkpoint_callback
        directory = getattr(callback, "dirpath", None)
        if directory is None:
            return
        last = Path(directory) / "last.ckpt"
        resume = self.config[self.subcommand].get("ckpt_path")
        if resume == "last" and not last.exists():
            raise FileNotFoundError(
                f"--ckpt_path last: there is no {last} to resume. Check --trainer.default_root_dir, or leave "
                "--ckpt_path out to start afresh."
            )
        if resume is None and last.exists():
            raise FileExistsError(
                f"{directory} holds the checkpoints of an earlier run. Resume it with --ckpt_path last, or start "
                "afresh in another --trainer.default_root_dir (or delete that folder)."
            )

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The trainer, with a CSV logger where the config leaves Lightning to pick (``logger`` unset, None, or
        ``true``), so that installing tensorboard does not change where a run's metrics go."""
        config = self.config_init.get(self.subcommand, self.config_init).get("trainer", {})
        picks = config.get("logger") in (None, True) and not config.get("barebones")  # barebones: no logger at all
        if "logger" not in kwargs and picks:
            kwargs["logger"] = CSVLogger(save_dir=config.get("default_root_dir") or ".")
        return super().instantiate_trainer(**kwargs)

    def _add_instantiators(self) -> None:
        super()._add_instantiators()  # Lightning's for the task and the data module come first
        self.parser.add_instantiator(build_network, nn.Module, subclasses=True)


def _refused_arguments(error: BaseException) -> ConfigError | None:
    """The ``ConfigError`` of ``build_network`` in the chain of ``error`` (jsonargparse's wrappers above it)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConfigError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class CollocationCLI(PDEopsCLI):
    """``PDEopsCLI`` for collocation tasks: no data module, and PINN validation's own metric."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.set_defaults({"checkpoint.monitor": "val/rel_l2"})


def _check_checkpoint_path(args: list[str]) -> None:
    """Refuse a ``--ckpt_path`` that names no file, or a truncated one, before anything is built (Lightning would
    fail at the end, deep inside ``torch.load``)."""
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--ckpt_path" and i + 1 < len(args) else arg.partition("=")[2]
        named = arg == "--ckpt_path" or arg.startswith("--ckpt_path=")
        if not named or value in CHECKPOINT_ALIASES:
            continue
        if not Path(value).is_file():
            raise FileNotFoundError(
                f"Checkpoint {value} does not exist. Pass the path of a .ckpt file, or --ckpt_path last to "
                "resume from <trainer.default_root_dir>/checkpoints/last.ckpt."
            )
        if not zipfile.is_zipfile(value):  # torch saves a zip archive whose directory is at the end of the file
            raise ValueError(
                f"Checkpoint {value} is not a complete PyTorch checkpoint (truncated or another kind of file). "
                "Resume from another one, e.g. last.ckpt or a best-*.ckpt of the same run."
            )


def _task_class_path(args: list[str]) -> str | None:
    """The task's ``class_path`` as the command line gives it (``-c`` files in order, then ``--model``), or None."""
    found = None
    for i, arg in enumerate(args[:-1]):
        if arg in ("-c", "--config") and Path(args[i + 1]).is_file():
            model = (yaml.safe_load(Path(args[i + 1]).read_text()) or {}).get("model")
            found = model.get("class_path", found) if isinstance(model, dict) else found
        elif arg in ("--model", "--model.class_path"):
            found = args[i + 1]
    return found


def _is_collocation_task(path: str | None) -> bool:
    """Whether the task samples its own collocation points (PINNs), so there is no ``data:`` section."""
    if path is None:
        return False
    try:
        task = import_class(path, "task")
    except ConfigError:
        return False  # LightningCLI reports the bad class path itself
    return isinstance(task, type) and issubclass(task, BaseCollocationTask)


NOISE = (
    # LightningCLI warns when a caller's own sys.argv differs from args: meant here
    (UserWarning, r"LightningCLI's args parameter is intended"),
    # Lightning's own calls of jsonargparse API deprecated in jsonargparse 4.49 (and pdeops' add_instantiator, the
    # way LightningCLI registers instantiators)
    (DeprecationWarning, r"\s*By default only one JsonargparseDeprecationWarning per type is shown"),
    (DeprecationWarning, r"\s*``ArgumentParser.add_instantiator`` was deprecated"),
    (DeprecationWarning, r"\s*``instantiate_classes`` was deprecated"),
    (DeprecationWarning, r"\s*skip_none parameter was deprecated"),
    # Lightning's own use of torch's LeafSpec (lightning/pytorch/utilities/_pytree.py)
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
)
"""Warnings every run of Lightning's and jsonargparse's current versions gives, about their code, not the user's."""

TIP = "💡 Tip: For seamless cloud logging"
"""The start of the advertisement Lightning logs on every run that has no LitLogger."""


def _no_tip(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(TIP)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Leave out of a run's output what is noise on every run: ``NOISE`` and Lightning's ``TIP``."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    logger.addFilter(_no_tip)
    try:
        with warnings.catch_warnings():
            for category, message in NOISE:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        logger.removeFilter(_no_tip)


def lightning_cli(args: list[str]) -> LightningCLI:
    """Run ``pdeops fit|validate|test ARGS`` and return the CLI (its ``trainer``, ``model`` and ``datamodule``).

    Raises:
        Whatever the run raises; ``pdeops.cli.main`` turns bad input into a message.
    """
    _check_checkpoint_path(args)
    collocation = _is_collocation_task(_task_class_path(args))
    with _quiet():
        return (CollocationCLI if collocation else PDEopsCLI)(
            LightningModule,
            None if collocation else PDEDataModule,
            subclass_mode_model=True,
            args=args,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            trainer_defaults={"default_root_dir": "runs/collocation" if collocation else "runs/default"},
        )
