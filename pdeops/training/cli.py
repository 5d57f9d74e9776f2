"""``pdeops fit|validate|test|predict``: LightningCLI over the tasks and ``PDEDataModule``.

What the data fixes, the CLI links so that model and data cannot disagree (``apply_on="instantiate"``: the data
module reads the file first):

- the task's ``channels``, ``spatial_dims``, ``history``, ``unroll`` (= ``data.horizon``) and ``rollout_steps``
  (= ``data.eval_horizon``);
- the network's ``in_channels`` (``history × channels`` for window tasks, ``channels`` for trajectories) and
  ``out_channels`` (``channels``).

Collocation tasks (PINNs, ``pdeops.training.collocation``) sample their own points: a config whose task is one of
them runs through that module's LightningCLI, with no ``data:`` section.

Checkpoints: ``ModelCheckpoint`` keeps the best by the validation rollout error and ``last.ckpt``, in
``<trainer.default_root_dir>/checkpoints``, so ``--ckpt_path last`` resumes the run in that directory.
"""

import importlib
import sys
from pathlib import Path

import yaml
from lightning.pytorch import LightningModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from pdeops.data import DatasetError
from pdeops.data.datamodule import PDEDataModule


def _network_in_channels(data: PDEDataModule) -> int:
    return data.history * data.channels if data.task == "window" else data.channels


class PDEopsCLI(LightningCLI):
    """LightningCLI with pdeops' links and checkpointing defaults."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/rollout_l2",
                "checkpoint.mode": "min",
                "checkpoint.save_last": True,
                "checkpoint.filename": "best-{epoch}-{step}",
            }
        )
        parser.link_arguments(
            "trainer.default_root_dir", "checkpoint.dirpath", compute_fn=lambda root: f"{root or '.'}/checkpoints"
        )
        links = {
            "model.init_args.channels": lambda d: d.channels,
            "model.init_args.spatial_dims": lambda d: len(d.spatial_shape),
            "model.init_args.history": lambda d: d.history,
            "model.init_args.unroll": lambda d: d.horizon,
            "model.init_args.rollout_steps": lambda d: d.eval_horizon or d.horizon,
            "model.init_args.model.init_args.in_channels": _network_in_channels,
            "model.init_args.model.init_args.out_channels": lambda d: d.channels,
        }
        for target, compute in links.items():
            parser.link_arguments("data", target, compute_fn=compute, apply_on="instantiate")


CHECKPOINT_ALIASES = ("last", "best", "hpc", "registry")


def _check_checkpoint_path(args: list[str]) -> None:
    """Refuse a ``--ckpt_path`` that names no file before anything is built (Lightning would fail at the end)."""
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--ckpt_path" and i + 1 < len(args) else arg.partition("=")[2]
        named = arg == "--ckpt_path" or arg.startswith("--ckpt_path=")
        if named and value not in CHECKPOINT_ALIASES and not Path(value).is_file():
            raise FileNotFoundError(
                f"Checkpoint {value} does not exist. Pass the path of a .ckpt file, or --ckpt_path last to "
                "resume from <trainer.default_root_dir>/checkpoints/last.ckpt."
            )


def _user_error(error: BaseException) -> BaseException | None:
    """The bad-input error behind ``error`` (LightningCLI wraps errors raised inside argument links), if any."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DatasetError | FileNotFoundError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _model_class_path(args: list[str]) -> str | None:
    """The task's ``class_path`` as the command line gives it (``-c`` files, then ``--model``), or None."""
    found = None
    for i, arg in enumerate(args[:-1]):
        if arg in ("-c", "--config") and Path(args[i + 1]).is_file():
            model = (yaml.safe_load(Path(args[i + 1]).read_text()) or {}).get("model")
            found = model.get("class_path", found) if isinstance(model, dict) else found
        elif arg in ("--model", "--model.class_path"):
            found = args[i + 1]
    return found


def _is_collocation_task(class_path: str | None) -> bool:
    """Whether the task samples its own collocation points (PINNs), so there is no ``data:`` section."""
    from pdeops.training.collocation import BaseCollocationTask

    module, _, name = (class_path or "").rpartition(".")
    if not module.startswith("pdeops."):
        return False
    task = getattr(importlib.import_module(module), name, None)
    return isinstance(task, type) and issubclass(task, BaseCollocationTask)


def run_lightning(args: list[str]) -> int:
    """Run ``fit|validate|test|predict`` with LightningCLI's own argument handling (``--help`` lists all).

    Returns:
        The exit status: 0, or 2 after printing a one-paragraph message for bad input (a missing data file or
        checkpoint); configuration errors (unknown keys, wrong types) are LightningCLI's own messages.
    """
    try:
        _check_checkpoint_path(args)
        if _is_collocation_task(_model_class_path(args)):
            from pdeops.training.collocation import main as collocation_main

            collocation_main(None if args == sys.argv[1:] else args)
            return 0
        PDEopsCLI(
            LightningModule,
            PDEDataModule,
            subclass_mode_model=True,
            args=None if args == sys.argv[1:] else args,  # LightningCLI warns when given both
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            trainer_defaults={"default_root_dir": "runs/default"},
        )
    except Exception as error:
        cause = _user_error(error)
        if cause is None:
            raise
        print(f"pdeops {args[0]}: error: {cause}", file=sys.stderr)
        return 2
    return 0
