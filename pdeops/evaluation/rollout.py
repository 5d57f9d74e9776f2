"""Rollouts: advance a trained task from stored initial frames, and write the predictions as a dataset file.

``rollout`` advances any pdeops operator task by its own ``step`` (``input_frames`` in, ``output_frames`` out: one
frame for a one-step task, a block for a spatiotemporal or staggered one) through the one rollout of
``pdeops.training.rollout``, in inference mode and in batches. ``write_rollout`` does this from a checkpoint and a
data file and writes the prediction in the native format, with the CF metadata and checksums of a generated file, so
every reader and metric of pdeops, and CF tools (xarray, cf_xarray), can open it like ground truth.
"""

import dataclasses
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import numpy as np
import torch

from pdeops import __version__
from pdeops._progress import Progress
from pdeops.config import class_path
from pdeops.data import DatasetError, open_dataset
from pdeops.data.datasets import FieldLayout, FrameReader, check_samples
from pdeops.data.generate import (
    CONVENTIONS,
    COORDINATE_ATTRS,
    FORMAT_VERSION,
    command_line,
    field_storage,
    history_line,
    require_writable,
)
from pdeops.evaluation.checkpoints import build_task, matching_layout, read_checkpoint, training_data
from pdeops.training.rollout import rollout as advance
from pdeops.training.tasks import BaseOperatorTask

Tensor = torch.Tensor

PROGRESS_DELAY = 1.0
"""Seconds before a progress bar shows: quick work (warm-ups, tests, small rollouts) prints none."""
AXES = {"time": "T", "x": "X", "y": "Y", "z": "Z"}
"""The CF ``axis`` of each coordinate a rollout file may have."""
SAMPLE_ATTRS = {"long_name": "trajectory index in the data file", "units": "1"}


def rollout(task: BaseOperatorTask, initial: Tensor, steps: int, *, batch_size: int | None = None) -> Tensor:
    """Predict ``steps`` frames after ``initial``, in eval mode and under ``torch.inference_mode()``.

    The frames go to the task's device as float32 (the dtype of the trained network) ``batch_size`` trajectories
    at a time, and the prediction comes back to ``initial``'s device. A progress bar on stderr counts predicted
    frames (trajectories × steps), so one batch shows its progress too.

    Args:
        task: a trained task (``load_task``), float32.
        initial: ``(B, K, C, *S)`` in physical units with ``K ≥ k = task.input_frames``; the last k are used.
        steps: frames to predict, ≥ 1.
        batch_size: trajectories per forward pass; None: all at once.

    Returns:
        ``(B, steps, C, *S)`` float32, physical units.
    """
    k = task.input_frames
    _check_initial(task, initial, k)
    if steps < 1 or (batch_size is not None and batch_size < 1):
        raise ValueError(f"steps and batch_size must be >= 1, got steps={steps}, batch_size={batch_size}.")
    chunk = batch_size or initial.shape[0]
    device = task.device
    was_training = task.training
    task.eval()
    outputs = []
    bar = Progress(initial.shape[0] * steps, "rollout", "frame", delay=PROGRESS_DELAY)
    try:
        with torch.inference_mode():
            for start in range(0, initial.shape[0], chunk):
                frames = initial[start : start + chunk, -k:].to(device=device, dtype=torch.float32)
                outputs.append(_counted_rollout(task, frames, steps, bar).to(initial.device))
    finally:
        bar.close()
        task.train(was_training)
    return torch.cat(outputs)


def _counted_rollout(task: BaseOperatorTask, frames: Tensor, steps: int, bar: Progress) -> Tensor:
    """``task.rollout(frames, steps)`` through the same shared rollout, moving ``bar`` by each block's frames."""
    produced = 0

    def step(window: Tensor) -> Tensor:
        nonlocal produced
        block = task.step(window)
        new = min(block.shape[1], steps - produced)  # the last block is cut to ``steps``
        produced += new
        bar.update(new * window.shape[0])
        return block

    return advance(step, frames, steps, input_frames=task.input_frames, output_frames=task.output_frames)


def _check_initial(task: BaseOperatorTask, initial: Tensor, k: int) -> None:
    expected = f"(B >= 1, K >= {k}, C={task.channels}, *S with {task.spatial_dims} axes)"
    if (
        initial.ndim != 3 + task.spatial_dims
        or initial.shape[0] == 0
        or initial.shape[1] < k
        or initial.shape[2] != task.channels
    ):
        raise ValueError(
            f"initial must be {expected}, got shape {tuple(initial.shape)}. Pass at least {k} frames of the "
            f"{task.channels} field(s) the task was trained on, channels-first."
        )


def persistence(initial: Tensor, steps: int) -> Tensor:
    """The persistence baseline: the last frame of ``initial`` ``(B, K, C, *S)`` repeated, ``(B, steps, C, *S)``."""
    return initial[:, -1:].expand(-1, steps, *initial.shape[2:]).clone()


@dataclass(frozen=True)
class RolloutInputs:
    """A checkpoint's task and the data file's matching trajectories, checked against each other.

    Args:
        checkpoint: the checkpoint path.
        task: the loaded task, in eval mode on the chosen device.
        layout: the task's fields in the data file.
        attrs: the data file's attributes.
        samples: the trajectories to roll out.
        history: the stored frames before the first predicted one (the task reads the last k of them).
        steps: frames to predict after them.
        variable_attrs: the data file's attributes of the task's fields and of the coordinates, by name.
    """

    checkpoint: str
    task: BaseOperatorTask
    layout: FieldLayout
    attrs: dict[str, Any]
    samples: Sequence[int]
    history: int
    steps: int
    variable_attrs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def read(self, frames: int) -> Tensor:
        """The first ``frames`` stored frames of each trajectory, ``(N, frames, C, *S)`` in the file's dtype."""
        reader = FrameReader(self.layout)
        try:
            return torch.stack([torch.from_numpy(reader.read(sample, 0, frames)) for sample in self.samples])
        finally:
            reader.close()

    @property
    def times(self) -> np.ndarray:
        """``(steps,)``: the file's times of the predicted frames, or their frame indices if it has none."""
        return self._frame_times[self.history : self.history + self.steps]

    @property
    def lead_times(self) -> np.ndarray:
        """``(steps,)``: the time of each predicted frame since the last input frame (in frames if no times)."""
        return self.times - self._frame_times[self.history - 1]

    @property
    def _frame_times(self) -> np.ndarray:
        times = self.layout.coords.get("time", np.arange(self.layout.num_times))
        return np.asarray(times, dtype=np.float64)


def prepare_rollout(
    checkpoint: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    *,
    samples: Sequence[int] | None = None,
    steps: int | None = None,
    context: int | None = None,
    device: str = "cpu",
    allow_modules: Sequence[str] = (),
) -> RolloutInputs:
    """Load the task, match it to the data file, and choose the trajectories and the number of steps.

    Args:
        checkpoint: the ``.ckpt`` file.
        data_path: a dataset file with the fields the task was trained on.
        samples: trajectory indices; None: the test split the checkpoint was trained with.
        steps: frames to predict; None: to the end of the stored trajectories.
        context: stored frames before the first predicted one, at least the task's k input frames (of which it
            reads the last k); None: k. Models of different k compared on the same frames share one context.
        device: where the task runs.
        allow_modules: packages besides pdeops, neuraloperator and torch the checkpoint may name (see ``load_task``).

    Raises:
        CheckpointError, DatasetError, ValueError: see ``load_task``, ``matching_layout``; context or steps out of
            range.
    """
    contents = read_checkpoint(checkpoint)
    task = build_task(contents, str(checkpoint), allow_modules=allow_modules).to(device)
    if not isinstance(task, BaseOperatorTask):
        raise ValueError(
            f"{checkpoint} holds a {type(task).__name__}, which is not rolled out over a dataset file: rollouts and "
            "`pdeops evaluate` take operator tasks (AutoregressiveTask, SpatiotemporalTask and their subclasses). "
            "Collocation tasks (PINNs) are scored by pdeops.losses.pinn_reference.evaluate_pinn."
        )
    training = training_data(contents)
    layout = matching_layout(data_path, task, training, str(checkpoint))
    with open_dataset(data_path) as dataset:
        attrs = dict(dataset.attrs)
        names = (*layout.fields, "time", *layout.spatial_dims)
        variable_attrs = {name: dict(dataset[name].attrs) for name in names if name in dataset.variables}
    if samples is None:
        samples = training.test_samples(layout.num_samples, layout.path)
    k = task.input_frames
    context = k if context is None else context
    if context < k:
        raise ValueError(f"context={context} is shorter than the task's {k} input frames; give at least {k}.")
    available = layout.num_times - context
    if available < 1:
        raise ValueError(
            f"{layout.path} has {layout.num_times} frame(s) per trajectory, but the rollout starts after {context} "
            f"(the task reads {k}): none is left to predict. Use trajectories of more than {context} frames."
        )
    steps = available if steps is None else steps
    if not 1 <= steps <= available:
        raise ValueError(
            f"{layout.path} has {layout.num_times} frames per trajectory; after {context} given frames that "
            f"leaves 1 to {available} steps to compare, got steps={steps}."
        )
    return RolloutInputs(
        str(checkpoint), task, layout, attrs, check_samples(layout, samples), context, steps, variable_attrs
    )


def write_rollout(
    checkpoint: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    samples: Sequence[int] | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    overwrite: bool = False,
    allow_modules: Sequence[str] = (),
    command: str | None = None,
) -> Path:
    """Roll the checkpoint's task out from the first k stored frames and write the prediction as a dataset file.

    The file is in the native format (NetCDF-4 through h5netcdf, ``pdeops_format`` set, so ``open_dataset`` and
    ``xarray.open_dataset(path, engine="h5netcdf")`` read it), as first-class as a generated file: one float32
    variable per field with dims ``(sample, time, *spatial)``, e.g. ``(sample, time, x, y)``, chunked one frame per
    chunk with fletcher32 checksums; coordinates ``sample`` (the source's trajectory indices), ``time`` (the source's
    times of the predicted frames) and the source's spatial ones. CF-1.10 metadata: each field's and coordinate's
    ``long_name`` and ``units`` as the data file has them (units only where it has them), ``axis`` on ``time``
    (T) and the spatial coordinates (X, Y, Z); ``Conventions``, ``title``, ``source`` and ``history`` (the data
    file's, and a line for this command). Attributes name the checkpoint, the data file, the samples and the input
    frames (``input_frames``). It is written to ``<out>.partial``, then renamed.

    Args:
        checkpoint: the ``.ckpt`` file.
        data_path: the dataset file the initial frames come from.
        out: the file to write.
        samples: trajectory indices; None: the checkpoint's test split.
        steps: frames to predict; None: to the end of the stored trajectories.
        batch_size: trajectories per forward pass; None: all at once.
        device: where the task runs.
        overwrite: replace an existing file at ``out``.
        allow_modules: packages besides pdeops, neuraloperator and torch the checkpoint may name (see ``load_task``).
        command: the command recorded in the file's CF ``history`` (default: this process's command line).

    Returns:
        The path of the written file.
    """
    out = Path(out)
    if out.is_dir():
        raise DatasetError(f"{out} is a directory; pass the path of the dataset file to write, e.g. {out}/rollout.h5.")
    if out.exists() and (not overwrite or out.resolve() == Path(data_path).resolve()):
        raise DatasetError(
            f"{out} already exists. Choose another path, or pass overwrite=True to replace it (never the data file "
            "the rollout starts from)."
        )
    require_writable(out)
    inputs = prepare_rollout(
        checkpoint, data_path, samples=samples, steps=steps, device=device, allow_modules=allow_modules
    )
    prediction = rollout(inputs.task, inputs.read(inputs.history), inputs.steps, batch_size=batch_size)
    partial = out.with_name(out.name + ".partial")
    try:
        _write(partial, inputs, prediction, command or command_line())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return out


def _write(path: Path, inputs: RolloutInputs, prediction: Tensor, command: str) -> None:
    """Write ``prediction`` ``(N, steps, C, *S)`` as a native file (see ``write_rollout``)."""
    layout = inputs.layout
    dims = ("sample", "time", *layout.spatial_dims)
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {
            "sample": len(inputs.samples),
            "time": inputs.steps,
            **dict(zip(dims[2:], layout.spatial_shape, strict=True)),
        }
        f.create_variable("sample", ("sample",), data=np.asarray(inputs.samples, dtype=np.int64))
        f.variables["sample"].attrs.update(SAMPLE_ATTRS)
        f.create_variable("time", ("time",), data=inputs.times)
        for name in layout.spatial_dims:
            if name in layout.coords:
                f.create_variable(name, (name,), data=np.asarray(layout.coords[name], dtype=np.float64))
        for name in ("time", *layout.spatial_dims):
            if name in f.variables:
                f.variables[name].attrs.update(_coordinate_attrs(name, inputs.variable_attrs.get(name, {})))
        for channel, name in enumerate(layout.fields):
            data = prediction[:, :, channel].cpu().numpy()
            field = f.create_variable(
                name, dims, data=data, chunks=(1, 1, *layout.spatial_shape), **field_storage(None)
            )
            field.attrs.update(_cf_attrs(inputs.variable_attrs.get(name, {}), long_name=name))
    with h5py.File(path, "a") as f:  # h5py writes str attributes as variable-length UTF-8, as NetCDF-4 reads them
        f.attrs.update(_attributes(inputs, command))


def _cf_attrs(source: dict[str, Any], *, long_name: str) -> dict[str, Any]:
    """A variable's CF ``long_name`` (the data file's, else ``long_name``) and ``units`` (where the file has them)."""
    attrs = {"long_name": str(source.get("long_name", long_name))}
    if "units" in source:
        attrs["units"] = str(source["units"])
    return attrs


def _coordinate_attrs(name: str, source: dict[str, Any]) -> dict[str, Any]:
    """A coordinate's CF attributes: ``long_name`` and ``units`` as in ``_cf_attrs``, and its ``axis``."""
    default = COORDINATE_ATTRS.get(name, {}).get("long_name", name)
    return {**_cf_attrs(source, long_name=default), "axis": AXES[name]}


def _attributes(inputs: RolloutInputs, command: str) -> dict[str, Any]:
    source = inputs.attrs
    copied: dict[str, Any] = {name: source[name] for name in ("recipe", "domain_length") if name in source}
    what = source.get("recipe") or Path(inputs.layout.path).name
    earlier = source.get("history")
    history = history_line(command)
    return {
        "Conventions": CONVENTIONS,
        "title": f"{what}: model rollout of {', '.join(inputs.layout.fields)}",
        "source": f"pdeops {__version__} model rollout: {class_path(type(inputs.task))} from {inputs.checkpoint}",
        "history": f"{earlier}\n{history}" if isinstance(earlier, str) and earlier else history,
        "pdeops_format": FORMAT_VERSION,
        "description": "model rollout: predicted trajectories, not ground truth",
        "checkpoint": str(Path(inputs.checkpoint).resolve()),
        "task": class_path(type(inputs.task)),
        "data": inputs.layout.path,
        "samples": np.asarray(inputs.samples, dtype=np.int64),
        "input_frames": inputs.history,
        "initial_frames": f"the first {inputs.history} stored frames of each sample of the data file",
        "steps": inputs.steps,
        **copied,
        "pdeops_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
