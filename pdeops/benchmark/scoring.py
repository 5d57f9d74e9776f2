"""One scoring path for every row of a leaderboard: ``score_rollout`` scores a model's rollout, the persistence
baseline and the reference solver's solution against the same stored truth, with the same definitions.

The scores (``pdeops.metrics``, float64): relative L2 and L1 over the space–time window per trajectory (mean over
the test trajectories; L1 also its median trajectory), relative L2 per step (and at the first, middle and last
step), relative L1 of the first step, PDEBench's nRMSE and fRMSE bands, The Well's VRMSE, the time until the
correlation with the truth drops below 0.95 (the median over trajectories; None when that median never drops within
the window), and the first step where a trajectory blows up. Each trajectory's window errors are kept too
(``*_per_trajectory``), for the bootstrap intervals of ``statistics.paired_ratio``.

The correlation-time axis (``work_precision.Accuracy``, at the suite's threshold): each trajectory's time until its
correlation drops below the threshold, censored at the window's end (``correlation_time_per_trajectory`` and
``correlation_time_censored_per_trajectory``), their median (``correlation_time``, with ``correlation_time_censored``
when the median itself is censored: the true one is at least it) and quartiles; and for a vorticity field the
energy-spectrum error of the rollout (``metrics.spectrum_error``), a statistical check.

fRMSE is computed as PDEBench's scripts call it, with ``Lx = Ly = 1`` whatever the domain (``pdebench_frmse``'s
``lengths=None``), so that it stands next to their published numbers; the domain's true side lengths would multiply
it by their product (4π² ≈ 39.5 on [0, 2π]²).
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from pdeops.evaluation.evaluate import median
from pdeops.evaluation.rollout import persistence, prepare_rollout, rollout
from pdeops.metrics import (
    censored_median,
    correlation_per_step,
    correlation_time,
    first_blowup_step,
    pdebench_frmse,
    pdebench_nrmse,
    relative_lp_per_step,
    relative_lp_window,
    spectrum_error,
    time_until_below,
    well_vrmse,
)
from solvers import Grid

Tensor = torch.Tensor
CORRELATION_LEVEL = 0.95


def score_rollout(
    prediction: Tensor,
    truth: Tensor,
    lead_times: Tensor,
    *,
    threshold: float = CORRELATION_LEVEL,
    vorticity: bool = False,
) -> dict[str, Any]:
    """The leaderboard's scores of one prediction against the truth.

    Args:
        prediction, truth: ``(N, T, C, *S)``, the same frames (the prediction's dtype may be float32; the metrics
            compute in float64).
        lead_times: ``(T,)``, the time of each frame since the last given one.
        threshold: the correlation level of ``correlation_time`` (the suite's ``accuracy``).
        vorticity: whether the one channel is a 2-D vorticity field on a square domain (then the energy-spectrum
            error is scored too; as a ratio of spectra it does not depend on the domain's length).

    Returns:
        JSON-ready numbers (non-finite ones as None), keyed as ``leaderboard.COLUMNS`` plus ``l2_per_step`` and the
        per-trajectory lists ``rollout_l2_per_trajectory``, ``rollout_l1_per_trajectory`` and
        ``one_step_l1_per_trajectory``, ``correlation_time_per_trajectory`` and
        ``correlation_time_censored_per_trajectory``.
    """
    curve = relative_lp_per_step(prediction, truth).mean(0).tolist()
    window_l2 = relative_lp_window(prediction, truth)
    window_l1 = relative_lp_window(prediction, truth, 1)
    first_l1 = relative_lp_per_step(prediction[:, :1], truth[:, :1], 1)[:, 0]
    correlation = time_until_below(correlation_per_step(prediction, truth), CORRELATION_LEVEL, lead_times)
    bands = pdebench_frmse(prediction, truth).mean(dim=(0, 1))  # PDEBench's Lx = Ly = 1
    blowup = first_blowup_step(prediction, truth)
    times, censored = correlation_time(prediction, truth, lead_times, threshold)
    middle, middle_censored = censored_median(times, censored)
    q25, q75 = torch.quantile(times, torch.tensor([0.25, 0.75], dtype=times.dtype)).tolist()
    spectrum = None
    if vorticity:
        grid = Grid(tuple(prediction.shape[3:]), 1.0)
        spectrum = spectrum_error(prediction[:, :, 0], truth[:, :, 0], grid).mean()
    return {
        "rollout_l2": _number(window_l2.mean()),
        "rollout_l1": _number(window_l1.mean()),
        "rollout_l1_median": _number(median(window_l1)),
        "l2_per_step": [_number(value) for value in curve],
        "one_step_l2": _number(curve[0]),
        "one_step_l1": _number(first_l1.mean()),
        "l2_middle": _number(curve[(len(curve) - 1) // 2]),
        "l2_last": _number(curve[-1]),
        "nrmse": _number(pdebench_nrmse(prediction, truth).mean()),
        **{f"frmse_{band}": _number(value) for band, value in zip(("low", "mid", "high"), bands, strict=True)},
        "vrmse": _number(well_vrmse(prediction, truth).mean()),
        "correlation_time_0.95": _number(median(correlation)),
        "first_blowup_step": int(blowup[blowup > 0].min()) if bool((blowup > 0).any()) else None,
        "rollout_l2_per_trajectory": [_number(value) for value in window_l2.tolist()],
        "rollout_l1_per_trajectory": [_number(value) for value in window_l1.tolist()],
        "one_step_l1_per_trajectory": [_number(value) for value in first_l1.tolist()],
        "correlation_threshold": threshold,
        "correlation_time": _number(middle),
        "correlation_time_censored": middle_censored,
        "correlation_time_q25": _number(q25),
        "correlation_time_q75": _number(q75),
        "correlation_time_per_trajectory": [_number(value) for value in times.tolist()],
        "correlation_time_censored_per_trajectory": censored.tolist(),
        "spectrum_error": _number(spectrum),
    }


def _number(value: Tensor | float | None) -> float | None:
    """A plain float, None for a missing or non-finite one (JSON has no inf or nan)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def score_checkpoint(
    checkpoint: str,
    data: str,
    *,
    context: int,
    steps: int,
    samples: Sequence[int],
    device: str = "cpu",
    threshold: float = CORRELATION_LEVEL,
) -> dict[str, dict[str, Any]]:
    """``score_rollout`` of a checkpoint's rollout and of persistence on ``samples`` of a data file: ``steps`` frames
    after the first ``context`` stored ones (the suite's protocol), as ``{"model": ..., "persistence": ...}``;
    ``threshold``: the correlation level of the correlation-time axis."""
    inputs = prepare_rollout(checkpoint, data, samples=samples, steps=steps, context=context, device=device)
    stored = inputs.read(inputs.history + inputs.steps).to(torch.float64)
    given, truth = stored[:, : inputs.history], stored[:, inputs.history :]
    lead = torch.from_numpy(inputs.lead_times)
    vorticity = is_vorticity(inputs.layout.fields, inputs.layout.spatial_shape)
    return {
        "model": score_rollout(
            rollout(inputs.task, given, inputs.steps), truth, lead, threshold=threshold, vorticity=vorticity
        ),
        "persistence": score_rollout(
            persistence(given, inputs.steps), truth, lead, threshold=threshold, vorticity=vorticity
        ),
    }


def is_vorticity(fields: Sequence[str], shape: Sequence[int]) -> bool:
    """Whether frames of ``fields`` on a grid of ``shape`` are one 2-D vorticity field (the energy-spectrum error
    needs that; pdeops' 2-D recipes are solved on square domains)."""
    return list(fields) == ["vorticity"] and len(shape) == 2


def lead_times(times: np.ndarray, start: int, stop: int) -> Tensor:
    """``(stop - start - 1,)``: the times of frames ``start + 1 .. stop - 1`` since frame ``start``."""
    return torch.from_numpy(times[start + 1 : stop] - times[start])
