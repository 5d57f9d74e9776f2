"""The Spectral-Refiner's refinement stage (Cao et al., arXiv 2405.17211, ICLR 2025): after a ``SpatiotemporalFNO``
has been trained end to end (``pdeops.training.refiner.SpectralRefinerTask``), fine-tune only its output layer,
enlarged to every mode of the fine grid, on the negative Sobolev norm of the equation's residual, with no data.

- ``refine_checkpoint``: what ``pdeops refine`` runs. Load a checkpoint, read trajectories and the equation from a
  dataset file, refine per trajectory and report one row per trajectory.
- ``refine``: per trajectory. Freeze the trained model, cache the latent (the reduction layer's output), replace the
  output spectral conv by ``OutputSpectralConv.enlarged`` (old weights in the low modes, zeros elsewhere), and run
  Adam on ``η² = ‖R‖²_{L²(0,T; H^s)}`` (``pdeops.losses.sobolev.SpaceTimeVorticityResidual``) of the prediction.
- ``refine_amortised``: one enlarged output layer fitted on a set of trajectories, then used as a plain model.
- ``select_refinement``, ``refinement_grid``: choose the learning rates and schedule on validation trajectories
  (never on the trajectories reported).
- ``refinement_report``, ``format_rows``: rows of errors, residuals and cost per trajectory, and their table.

Choices (see ``pdeops.models.st_fno`` and ``pdeops.losses.sobolev`` for the model and the loss):

- ``∂t`` of the residual comes from a finite-difference stencil across ``[input frames, predicted frames]``, not
  from one Crank–Nicolson step per frame as in the reference's ``fno/finetune.py`` (that makes any field's residual
  tiny); the weight is ``(α + |k|²)^s`` on ``|R̂|²`` with s = −1, not the reference's H^(−1/2).
- Our spectral layers use ``norm="forward"``, so the reference's learning rates (bias 0.2, weights 1e-4 with
  ``"backward"``) do not carry over. Choose them with ``select_refinement`` on validation trajectories (held out
  from the trajectories you report); ``pdeops.reproductions.spectral_refiner`` does so for every training seed. The
  defaults (weights 3e-3, bias 9e-4, constant, 50 steps) are what that selection picked for each of 3 training
  seeds of the CPU protocol, from 4 learning rates × {cosine, constant}, on validation trajectories only; the
  residual alone picked the same.
- Why amortised refinement does not help (measured by ``pdeops.reproductions.spectral_refiner``): the refined layer is
  linear in each Fourier mode (``W(k) v̂(k) + δ b(k)``, one complex number each for C = 1). Per trajectory, its
  ~X·Y·m_t free coefficients can reshape that trajectory's spectrum almost freely, so 50 steps push η ~10× down; one
  layer shared by many trajectories is one linear filter plus one fixed field for all of them and lowers η only
  2–3×, even on the trajectories it was fitted on. A 2–3× lower η is no lower error: per-trajectory refinement with
  too large a learning rate also stops there, with the error unchanged or worse. η is a weak proxy for the error
  until it is pushed close to its floor.
- Refinement runs in float64 by default (the frozen trunk in its own float32).

Shapes: ``B`` trajectories, ``T_in`` input and ``T_out`` output frames, ``C`` channels (1, the vorticity), an
``X × Y`` grid, ``L`` latent steps of the model.
"""

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from pdeops._progress import Progress
from pdeops.config import init_arguments
from pdeops.data import open_dataset
from pdeops.data.datasets import check_samples
from pdeops.evaluation.checkpoints import build_task, matching_layout, read_checkpoint, training_data
from pdeops.evaluation.rollout import PROGRESS_DELAY
from pdeops.losses.sobolev import SpaceTimeVorticityResidual
from pdeops.metrics import relative_lp_window
from pdeops.models.st_fno import OutputOperator, SpatiotemporalFNO, grid_to_trajectory, trajectory_to_grid
from pdeops.training.tasks import SpatiotemporalTask
from solvers import Grid

Tensor = torch.Tensor


@dataclass(frozen=True)
class RefinementOptions:
    """How the output layer is refined.

    Args:
        steps: Adam steps (per trajectory for ``refine``; in all for ``refine_amortised``).
        modes: ``(m_x, m_y, m_t)`` of the enlarged output layer; None takes every spatial mode of the grid
            (``(X // 2, Y // 2)``) and the reference's 6 temporal modes.
        weight_lr: (peak) Adam learning rate of the spectral weights.
        bias_lr: (peak) Adam learning rate of the per-mode bias.
        schedule: ``"cosine"`` (annealed to 0 over ``steps``) or ``"constant"``.
        dtype: precision of the refined layer and the residual (the frozen trunk keeps its own).
    """

    steps: int = 50
    modes: tuple[int, int, int] | None = None
    weight_lr: float = 3e-3
    bias_lr: float = 9e-4
    schedule: Literal["cosine", "constant"] = "constant"
    dtype: Literal["float32", "float64"] = "float64"

    def __post_init__(self) -> None:
        if self.steps < 0 or not (self.weight_lr > 0 and self.bias_lr > 0):
            raise ValueError(
                f"steps must be >= 0 and the learning rates positive, got steps={self.steps}, "
                f"weight_lr={self.weight_lr}, bias_lr={self.bias_lr}."
            )
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")

    def describe(self) -> str:
        """A short label: ``"lr 3e-03/9e-04 constant, 50 steps"`` (weights/bias)."""
        return f"lr {self.weight_lr:.0e}/{self.bias_lr:.0e} {self.schedule}, {self.steps} steps"


@dataclass(frozen=True)
class RefinementResult:
    """Predictions and residuals before and after ``refine``, per trajectory (physical units, ``options.dtype``).

    Attributes:
        before: the frozen model's prediction ``(B, T_out, C, X, Y)``.
        after: the refined prediction, same shape.
        residual_before: η of ``before`` ``(B,)``.
        residual_after: η of ``after`` ``(B,)``.
        losses: η² at every step, before the step ``(B, steps)``.
        forward_seconds: one forward pass of the frozen model on the trajectory ``(B,)``.
        refine_seconds: the refinement of the trajectory, latent included ``(B,)``.
    """

    before: Tensor
    after: Tensor
    residual_before: Tensor
    residual_after: Tensor
    losses: Tensor
    forward_seconds: Tensor
    refine_seconds: Tensor


def refine_checkpoint(
    checkpoint: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    *,
    steps: int = 50,
    resolution: int | None = None,
    samples: Sequence[int] | Literal["all"] | None = None,
    start_step: int | None = None,
    device: str = "cpu",
    allow_modules: Sequence[str] = (),
) -> list[dict[str, float]]:
    """Refine a checkpoint's predictions of trajectories of a dataset file, one output layer per trajectory.

    The residual is the equation the file was generated from (``SpaceTimeVorticityResidual.from_attributes``). The
    input frames are ``[start, start + T_in)`` of each trajectory; the truth, when the file has them, the next
    ``T_out`` frames.

    Args:
        checkpoint: the ``.ckpt`` file of a ``SpatiotemporalTask`` whose model is a ``SpatiotemporalFNO``.
        data_path: a vorticity dataset generated by pdeops (``pdeops.losses.physics.VORTICITY_RECIPES``).
        steps: Adam steps per trajectory.
        resolution: refine at this resolution per axis, resampling inputs and truth spectrally; None: the file's.
        samples: trajectory indices, ``"all"``, or None for the test split the checkpoint was trained with.
        start_step: first input frame; None: the task's ``start_step`` (0 for a task without one).
        device: where the task runs.
        allow_modules: packages besides pdeops, neuraloperator and torch the checkpoint may name (see ``load_task``).

    Returns:
        ``refinement_report``'s rows, ``sample`` the index in the file.

    Raises:
        CheckpointError, DatasetError, ValueError: the checkpoint cannot be loaded or holds no
            ``SpatiotemporalTask``, the file does not fit it, ``samples`` are out of range, the trajectories are
            too short, or the file is not a vorticity dataset (see ``pdeops.losses.physics.vorticity_equation``).
    """
    contents = read_checkpoint(checkpoint)
    task = build_task(contents, str(checkpoint), allow_modules=allow_modules).to(device)
    if not isinstance(task, SpatiotemporalTask):
        raise ValueError(f"{checkpoint} holds a {type(task).__name__}; refinement needs a SpatiotemporalTask.")
    training = training_data(contents)
    layout = matching_layout(data_path, task, training, str(checkpoint))
    if samples is None:
        samples = training.test_samples(layout.num_samples, layout.path)
    if isinstance(samples, str) and samples != "all":
        raise ValueError(f"samples must be trajectory indices, 'all' or None, got {samples!r}.")
    chosen = list(check_samples(layout, None if isinstance(samples, str) else samples))
    with open_dataset(data_path) as dataset:
        residual = SpaceTimeVorticityResidual.from_attributes(dataset.attrs)
        frames = np.stack([dataset[name].isel(sample=chosen).values for name in layout.fields], axis=2)
    start = start_step if start_step is not None else getattr(task, "start_step", 0)
    inputs, truth = _window(torch.from_numpy(frames).double(), start, task.input_steps, task.output_steps)
    if resolution is not None:
        inputs = _resample(inputs, resolution)
        truth = None if truth is None else _resample(truth, resolution)
    result = refine(task, inputs, residual, RefinementOptions(steps=steps))
    return refinement_report(result, residual, inputs, truth, chosen)


def refine(
    task: SpatiotemporalTask,
    inputs: Tensor,
    residual: SpaceTimeVorticityResidual,
    options: RefinementOptions | None = None,
) -> RefinementResult:
    """Refine the output layer of ``task``'s ``SpatiotemporalFNO`` for each trajectory of ``inputs``, without data.

    The trained task is left as it is (its parameters are never touched); each trajectory gets its own enlarged
    output layer, fitted on the fine grid of ``inputs`` by Adam on the squared negative Sobolev norm of the
    residual of its prediction (the input frames feed the ``∂t`` stencil).

    Args:
        task: a trained ``SpatiotemporalTask`` (or ``SpectralRefinerTask``) whose model is a ``SpatiotemporalFNO``.
        inputs: the input frames ``(B, T_in, C, X, Y)`` in physical units, on the grid to refine on.
        residual: the equation's space–time residual (``SpaceTimeVorticityResidual.from_attributes`` builds it from
            a data file).
        options: see ``RefinementOptions``.

    Returns:
        The ``RefinementResult``.

    A progress bar on stderr counts the Adam steps of all trajectories.
    """
    options = options or RefinementOptions()
    model = _refinable(task)
    dtype = getattr(torch, options.dtype)
    inputs = inputs.to(device=task.device, dtype=dtype)
    fields = ("before", "after", "residual_before", "residual_after", "losses", "forward_seconds", "refine_seconds")
    per_trajectory: dict[str, list[Tensor]] = {name: [] for name in fields}
    with Progress(inputs.shape[0] * options.steps, "refine", "step", delay=PROGRESS_DELAY) as bar:
        for b in range(inputs.shape[0]):
            for name, value in _refine_one(task, model, inputs[b : b + 1], residual, options, bar.update).items():
                per_trajectory[name].append(value)
    return RefinementResult(**{name: torch.cat(values) for name, values in per_trajectory.items()})


def _refine_one(
    task: SpatiotemporalTask,
    model: SpatiotemporalFNO,
    trajectory: Tensor,
    residual: SpaceTimeVorticityResidual,
    options: RefinementOptions,
    on_step: Callable[[], object],
) -> dict[str, Tensor]:
    """``refine`` of one trajectory ``(1, T_in, C, X, Y)``: the fields of its ``RefinementResult``."""
    dtype = trajectory.dtype
    start = _clock(trajectory.device)
    with torch.no_grad():
        before = task(trajectory.float()).to(dtype)
    forward_seconds = _clock(trajectory.device) - start
    start = _clock(trajectory.device)
    head, latent, last = _enlarged_head(task, model, trajectory, options)
    losses = _fit(task, head, [(latent, last, trajectory)], residual, options, model.output_steps, on_step)
    refine_seconds = _clock(trajectory.device) - start
    with torch.no_grad():
        after = _decode(task, head, latent, last, model.output_steps)
        return {
            "before": before,
            "after": after,
            "residual_before": residual(before, trajectory),
            "residual_after": residual(after, trajectory),
            "losses": losses[None],
            "forward_seconds": torch.tensor([forward_seconds]),
            "refine_seconds": torch.tensor([refine_seconds]),
        }


def refine_amortised(
    task: SpatiotemporalTask,
    inputs: Tensor,
    residual: SpaceTimeVorticityResidual,
    options: RefinementOptions | None = None,
    batch_size: int = 4,
) -> SpatiotemporalTask:
    """One enlarged output layer fitted on the residual over a set of trajectories (no data), for later inputs.

    Args:
        task: as in ``refine``.
        inputs: input frames of the set ``(N, T_in, C, X, Y)``, physical units, on the grid to refine on.
        residual: the equation's space–time residual.
        options: see ``RefinementOptions``; ``steps`` counts the Adam steps over mini-batches, cycling.
        batch_size: trajectories per step.

    Returns:
        A copy of ``task`` whose model has the refined output layer (in the model's float32); ``task`` is unchanged.
    """
    options = options or RefinementOptions()
    model = _refinable(task)
    inputs = inputs.to(device=task.device, dtype=getattr(torch, options.dtype))
    head, latent, last = _enlarged_head(task, model, inputs, options)
    batches = [
        (latent[i : i + batch_size], last[i : i + batch_size], inputs[i : i + batch_size])
        for i in range(0, inputs.shape[0], batch_size)
    ]
    with Progress(options.steps, "refine", "step", delay=PROGRESS_DELAY) as bar:
        _fit(task, head, batches, residual, options, model.output_steps, bar.update)
    refined = type(task)(**{**init_arguments(task), "model": _with_head(model, head.to(torch.float32))})
    buffers = {key: value for key, value in task.state_dict().items() if not key.startswith("model.")}
    refined.load_state_dict(buffers, strict=False)
    return refined.to(task.device).eval()


@dataclass(frozen=True)
class RefinementSelection:
    """What ``select_refinement`` measured and chose.

    Attributes:
        candidates: the options tried, in order.
        rows: per candidate, the means over the validation trajectories of ``rel_l2_after`` and
            ``residual_after``, with ``rel_l2_before`` and ``residual_before`` (the same for every candidate).
        chosen: the index of the candidate with the lowest mean validation error (``criterion="error"``) or the
            lowest mean residual after refinement (``criterion="residual"``, which needs no truth).
        chosen_by_residual: the index the residual alone would have chosen (for comparison).
    """

    candidates: tuple[RefinementOptions, ...]
    rows: tuple[dict[str, float], ...]
    chosen: int
    chosen_by_residual: int

    @property
    def options(self) -> RefinementOptions:
        """The chosen candidate."""
        return self.candidates[self.chosen]


def refinement_grid(
    learning_rates: Sequence[float],
    schedules: Sequence[Literal["cosine", "constant"]] = ("cosine", "constant"),
    *,
    steps: int = 50,
    bias_ratio: float = 0.3,
) -> tuple[RefinementOptions, ...]:
    """Candidates for ``select_refinement``: every weight learning rate × schedule, the bias's ``bias_ratio`` times
    the weights' (the ratio of the defaults), ``steps`` steps each."""
    if not learning_rates or not schedules or not bias_ratio > 0:
        raise ValueError(
            f"refinement_grid needs learning rates, schedules and a positive bias_ratio, got {list(learning_rates)}, "
            f"{list(schedules)}, {bias_ratio!r}."
        )
    return tuple(
        RefinementOptions(steps=steps, weight_lr=lr, bias_lr=bias_ratio * lr, schedule=schedule)
        for schedule in schedules
        for lr in learning_rates
    )


def select_refinement(
    task: SpatiotemporalTask,
    inputs: Tensor,
    truth: Tensor | None,
    residual: SpaceTimeVorticityResidual,
    candidates: Sequence[RefinementOptions],
    criterion: Literal["error", "residual"] = "error",
) -> RefinementSelection:
    """Refine validation trajectories with every candidate and choose one: hyperparameters chosen on these, never
    on the trajectories one reports.

    Args:
        task, residual: as in ``refine``.
        inputs: validation input frames ``(B, T_in, C, X, Y)``, on the grid refinement will run on.
        truth: their true output frames ``(B, T_out, C, X, Y)``; may be None with ``criterion="residual"``.
        candidates: the options to try (``refinement_grid``).
        criterion: ``"error"`` (mean relative L2 against ``truth``) or ``"residual"`` (mean η after refinement).

    Returns:
        The ``RefinementSelection``.
    """
    if not candidates or criterion not in ("error", "residual") or (truth is None and criterion == "error"):
        raise ValueError(
            f"select_refinement needs candidates, and criterion 'residual' or 'error' (the latter with truth); got "
            f"{len(candidates)} candidate(s), criterion={criterion!r}, truth {'missing' if truth is None else 'given'}."
        )
    rows: list[dict[str, float]] = []
    names = ("rel_l2_before", "rel_l2_after", "residual_before", "residual_after")
    for options in candidates:
        report = refinement_report(refine(task, inputs, residual, options), residual, inputs, truth)
        keys = [key for key in names if key in report[0]]
        rows.append({key: sum(row[key] for row in report) / len(report) for key in keys})
    by_error = min(range(len(rows)), key=lambda i: rows[i].get("rel_l2_after", math.inf))
    by_residual = min(range(len(rows)), key=lambda i: rows[i]["residual_after"])
    return RefinementSelection(
        tuple(candidates), tuple(rows), by_error if criterion == "error" else by_residual, by_residual
    )


def refinement_report(
    result: RefinementResult,
    residual: SpaceTimeVorticityResidual,
    inputs: Tensor,
    truth: Tensor | None = None,
    samples: Sequence[int] | None = None,
) -> list[dict[str, float]]:
    """One row per trajectory: errors against the truth, residuals and the cost of refining.

    Args:
        result: what ``refine`` returned for ``inputs``.
        residual: the residual it used.
        inputs: the input frames ``(B, T_in, C, X, Y)``.
        truth: the true output frames ``(B, T_out, C, X, Y)``, or None.
        samples: the trajectories' indices in their file (default 0 … B−1).

    Returns:
        Rows with ``sample``; ``rel_l2_before`` and ``rel_l2_after`` (plain space–time relative L2 over the output
        window, ``pdeops.metrics.relative_lp_window``) and ``residual_truth`` (η of the truth: the floor of the
        ∂t stencil) when ``truth`` is given; ``residual_before``, ``residual_after`` (η); ``refine_seconds`` and
        ``cost_forward_passes`` (refinement time over one forward pass of the frozen model).
    """
    rows = []
    for b in range(result.before.shape[0]):
        row = {
            "sample": b if samples is None else samples[b],
            "residual_before": float(result.residual_before[b]),
            "residual_after": float(result.residual_after[b]),
            "refine_seconds": float(result.refine_seconds[b]),
            "cost_forward_passes": float(result.refine_seconds[b] / result.forward_seconds[b]),
        }
        if truth is not None:
            true = truth[b : b + 1].to(result.after)
            row["rel_l2_before"] = float(relative_lp_window(result.before[b : b + 1], true)[0])
            row["rel_l2_after"] = float(relative_lp_window(result.after[b : b + 1], true)[0])
            row["residual_truth"] = float(residual(true, inputs[b : b + 1].to(true))[0])
        rows.append(row)
    return rows


def format_rows(rows: Sequence[Mapping[str, float]]) -> str:
    """A plain-text table of ``refinement_report`` rows (one column per key)."""
    columns = list(rows[0]) if rows else []
    widths = [max(len(name), 10) for name in columns]
    lines = [" ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True))]
    for row in rows:
        cells = [
            f"{row[name]:>{width}d}" if isinstance(row[name], int) else f"{row[name]:>{width}.3e}"
            for name, width in zip(columns, widths, strict=True)
        ]
        lines.append(" ".join(cells))
    return "\n".join(lines)


# --- the refinement's parts ----------------------------------------------------------------------------------------
def _refinable(task: SpatiotemporalTask) -> SpatiotemporalFNO:
    """The task's model, checked to be a ``SpatiotemporalFNO``."""
    model = task.model
    if not isinstance(model, SpatiotemporalFNO):
        raise ValueError(
            f"Refinement replaces the output layer of a SpatiotemporalFNO; this task's model is "
            f"{type(model).__name__}. Train a SpatiotemporalFNO (configs/ns2d/st_fno.yaml)."
        )
    return model


def _enlarged_head(
    task: SpatiotemporalTask, model: SpatiotemporalFNO, inputs: Tensor, options: RefinementOptions
) -> tuple[OutputOperator, Tensor, Tensor]:
    """The enlarged output operator, the cached latent ``(B, C, X, Y, L)`` and last frame ``(B, C, X, Y, 1)``.

    ``inputs`` are ``(B, T_in, C, X, Y)`` in physical units; the head, latent and last frame are in their dtype.
    """
    normalized = task.normalize(inputs)
    with torch.no_grad():
        latent = model.latent(normalized.float()).to(inputs.dtype)
    last = trajectory_to_grid(normalized)[..., -1:]
    nx, ny = inputs.shape[-2:]
    old = model.output.conv.modes
    mx, my, mt = options.modes or (nx // 2, ny // 2, 6)
    head = model.output.enlarged((max(mx, old[0]), max(my, old[1]), max(mt, old[2])))
    return head.to(inputs.dtype), latent, last


def _decode(task: SpatiotemporalTask, head: OutputOperator, latent: Tensor, last: Tensor, steps: int) -> Tensor:
    """Physical prediction ``(B, T_out, C, X, Y)`` of the head from the cached latent."""
    return task.denormalize(grid_to_trajectory(head(latent, last, steps)))


def _fit(
    task: SpatiotemporalTask,
    head: OutputOperator,
    batches: Sequence[tuple[Tensor, Tensor, Tensor]],
    residual: SpaceTimeVorticityResidual,
    options: RefinementOptions,
    steps_out: int,
    on_step: Callable[[], object],
) -> Tensor:
    """Adam on η² (summed over each batch's trajectories), cycling through ``batches``; returns η² per step.

    ``on_step()`` is called after every step (a progress bar's ``update``).

    Each batch is ``(latent (B, C, X, Y, L), last frame (B, C, X, Y, 1), inputs (B, T_in, C, X, Y))``; the result
    is ``(options.steps,)`` float64.
    """
    conv = head.conv
    optimizer = torch.optim.Adam(
        [{"params": [conv.weight], "lr": options.weight_lr}, {"params": [conv.bias], "lr": options.bias_lr}]
    )
    schedule: torch.optim.lr_scheduler.LRScheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(options.steps, 1))
        if options.schedule == "cosine"
        else torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    )
    losses = torch.zeros(options.steps, dtype=torch.float64)
    for step in range(options.steps):
        latent, last, inputs = batches[step % len(batches)]
        optimizer.zero_grad()
        loss = residual(_decode(task, head, latent, last, steps_out), inputs).square().sum()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses[step] = loss.detach()
        on_step()
    return losses


def _clock(device: torch.device) -> float:
    """``time.perf_counter()`` after the device's queued work (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _with_head(model: SpatiotemporalFNO, head: OutputOperator) -> SpatiotemporalFNO:
    """A copy of ``model`` with ``head`` as its output operator (``output_modes`` recorded for checkpoints)."""
    copy = SpatiotemporalFNO(**{**init_arguments(model), "output_modes": head.conv.modes})
    state = {key: value for key, value in model.state_dict().items() if not key.startswith("output.")}
    state.update({f"output.{key}": value for key, value in head.state_dict().items()})
    copy.load_state_dict(state)
    return copy.to(next(model.parameters()).device)


# --- reading a file's trajectories ---------------------------------------------------------------------------------
def _window(frames: Tensor, start: int, input_steps: int, output_steps: int) -> tuple[Tensor, Tensor | None]:
    """Input frames ``[start, start + T_in)`` and, if the file has them, the true next ``T_out`` frames.

    ``frames`` are ``(B, T, C, X, Y)``; returns ``(B, T_in, C, X, Y)`` and ``(B, T_out, C, X, Y)`` or None.
    """
    stop = start + input_steps
    if start < 0 or frames.shape[1] < stop:
        raise ValueError(
            f"the input frames must start at a frame >= 0 and end within the trajectories' {frames.shape[1]} "
            f"frames; got start {start} + input_steps {input_steps}."
        )
    truth = frames[:, stop : stop + output_steps]
    return frames[:, start:stop], truth if truth.shape[1] == output_steps else None


def _resample(frames: Tensor, resolution: int) -> Tensor:
    """Spectral resampling of ``(..., X, Y)`` frames to ``(..., resolution, resolution)``."""
    return Grid(frames.shape[-2:], dtype=frames.dtype).resample(frames, (resolution, resolution))
