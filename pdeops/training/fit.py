"""``fit_run``: one training run into its own folder through ``pdeops fit`` (LightningCLI), resumable.

Everything in pdeops that trains (the benchmark, the paper reproductions, the demo) trains through this function, so
a run folder always looks the same:

- ``fit.yaml``: the caller's overrides, the layer after its config files (with the folder as
  ``trainer.default_root_dir`` and, unless ``quiet=False``, ``QUIET_TRAINER``); ``pdeops fit -c CONFIG... -c
  fit.yaml`` repeats the run;
- what ``pdeops fit`` writes there: ``config.yaml`` (the resolved config), ``checkpoints/`` (``last.ckpt`` and, with
  validation, ``best-*.ckpt``) and the logger's files;
- ``fit.json``, written atomically once the fit has ended: the checkpoint to use, ``last.ckpt``, the seconds the fit
  took and the network's parameter count.

A folder with ``fit.json`` is finished: ``fit_run`` reads its record back and trains nothing. A folder with
``checkpoints/last.ckpt`` but no ``fit.json`` was interrupted: the fit resumes from ``last.ckpt`` (``--ckpt_path
last``). ``resume=False`` clears both and fits afresh (for callers that time the fit in the same process).
"""

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch.cli import LightningCLI

from pdeops._io import write_text_atomic
from pdeops.training.cli import lightning_cli

QUIET_TRAINER: Mapping[str, Any] = {"enable_progress_bar": False, "enable_model_summary": False}
"""Trainer settings of a run inside a benchmark or a reproduction, which prints its own progress lines."""


@dataclass(frozen=True)
class FitRun:
    """A finished fit.

    Attributes:
        folder: the run folder.
        checkpoint: the best checkpoint by the validation metric where the run kept one, else ``last``.
        last: ``checkpoints/last.ckpt``, the weights at the end of training.
        seconds: wall-clock seconds of the whole ``pdeops fit`` call (config parsing included); for a run read back,
            those of the call that finished it.
        parameters: the trained task's parameter count.
        cli: the LightningCLI of this call (its ``trainer``, ``model``, ``datamodule``); None for a run read back.
    """

    folder: Path
    checkpoint: Path
    last: Path
    seconds: float
    parameters: int
    cli: LightningCLI | None = None


def fit_run(
    configs: Sequence[str | os.PathLike[str]],
    folder: str | os.PathLike[str],
    *,
    overrides: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    quiet: bool = True,
    resume: bool = True,
) -> FitRun:
    """``pdeops fit -c CONFIG... -c <folder>/fit.yaml ARGS`` into ``folder``, or its record if it already finished.

    Args:
        configs: config files, in order (later ones override earlier ones); may be empty when ``overrides`` is a
            whole config.
        folder: the run folder (created).
        overrides: a config tree (nested mappings, e.g. ``{"trainer": {"max_epochs": 3}}``) layered after
            ``configs``; ``trainer.default_root_dir`` is always ``folder``.
        args: more ``pdeops fit`` arguments after the config files, e.g. ``["--trainer.callbacks+=..."]``.
        quiet: no progress bar and no model summary (``QUIET_TRAINER``; ``overrides`` may still set either).
        resume: reuse a finished run and resume an interrupted one; False fits afresh.

    Raises:
        FileNotFoundError: the fit wrote no ``checkpoints/last.ckpt`` (e.g. overrides that disable checkpointing).
        Whatever ``pdeops fit`` raises for a bad config.
    """
    folder = Path(folder)
    record, last = folder / "fit.json", folder / "checkpoints" / "last.ckpt"
    if resume and record.is_file() and last.is_file():
        return _read_record(folder, record, last)
    if not resume:
        shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    record.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    layer = _merged({"trainer": {**(QUIET_TRAINER if quiet else {}), "default_root_dir": str(folder)}}, overrides or {})
    layer["trainer"]["default_root_dir"] = str(folder)
    settings = folder / "fit.yaml"
    settings.write_text(yaml.safe_dump(layer, sort_keys=False))
    command = ["fit", *(arg for config in configs for arg in ("-c", str(config))), "-c", str(settings), *args]
    if resume and last.is_file():
        command += ["--ckpt_path", "last"]
    start = time.perf_counter()
    cli = lightning_cli(command)
    seconds = time.perf_counter() - start
    if not last.is_file():
        raise FileNotFoundError(
            f"{folder}: the fit wrote no checkpoints/last.ckpt. Keep the trainer's checkpointing on (a run folder "
            "is resumed and scored from its checkpoints)."
        )
    best = getattr(cli.trainer.checkpoint_callback, "best_model_path", "")
    checkpoint = Path(best) if best else last
    parameters = sum(p.numel() for p in cli.model.parameters())
    entry = {"checkpoint": str(checkpoint), "seconds": seconds, "parameters": parameters, "command": command}
    write_text_atomic(record, json.dumps(entry, indent=1))
    return FitRun(folder, checkpoint, last, seconds, parameters, cli)


def _read_record(folder: Path, record: Path, last: Path) -> FitRun:
    entry = json.loads(record.read_text())
    checkpoint = Path(entry.get("checkpoint") or last)
    if not checkpoint.is_file():
        checkpoint = last
    return FitRun(folder, checkpoint, last, float(entry["seconds"]), int(entry.get("parameters", 0)))


def _merged(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` layered over ``base``: nested mappings merged key by key, anything else replaced."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        merged[key] = _merged(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return merged


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """``tree["a"]["b"]["c"] = value`` for ``dotted`` ``"a.b.c"``, creating the mappings on the way."""
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value
