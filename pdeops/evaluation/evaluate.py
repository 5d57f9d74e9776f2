"""``evaluate``: score a checkpoint's rollouts against the stored ground truth, next to the persistence baseline.

The task is rolled out from the first k stored frames of each test trajectory (``rollout``) and compared with the
stored frames that follow, in float64, for ``steps`` steps. The persistence baseline (the last input frame, held) is
scored the same way, so every number has a floor to beat. Scores (see ``pdeops.metrics``):

- relative L2 and L1 error per step, and per trajectory over the window (the mean over steps, and the space–time
  norm ratio), each as mean and median over the trajectories;
- the vorticity correlation per step and the time, after the last input frame, until it drops below 0.95 and 0.8;
  per trajectory at the accuracy axis's threshold, censored at the window's end (``correlation_time``: median,
  quartiles, and which trajectories never dropped), and for vorticity the energy-spectrum error
  (``metrics.spectrum_error``);
- for a 2-D ``vorticity`` field: energy and enstrophy over time, energy spectra, and band errors (low, mid, high
  thirds of the resolved wavenumbers), each relative to the whole field's norm so that they add up in quadrature to
  the relative L2 error, next to the truth's share of ``‖ω‖²`` in each band (an error relative to a band's own
  content is kept too, but shown only where the band holds at least ``BAND_FRACTION_FLOOR`` of the truth);
- inference throughput, and for a native pdeops file the speed-up over the file's own reference solver producing
  the same frames on the same device: at the file's fixed dt, and at equal accuracy (the cheapest solver setting of
  a sweep at least as accurate as the model on the report's accuracy axis, ``accuracy``: relative L2 over the window,
  or for chaotic flows the median time until the correlation drops below a threshold). The solver is rebuilt from
  the file's attributes by ``pdeops.data.recipes.rebuild_resolved``; where it cannot be (a foreign file, settings
  changed since), the note says why in the words every other caller uses, and the speed-ups are left out. The
  fixed-dt speed-up is never shown without the equal-accuracy one or the reason it is missing.

A model whose relative L2 error over the window is not below persistence's is flagged (``useless`` and
``warnings`` in ``report.json``, a bold line first in ``report.md`` and ``report.html``).

``resolution=N`` evaluates zero-shot at another resolution: the stored truth is resampled spectrally
(``solvers.Grid.resample``), not re-solved, so it is the stored solution's band-limited interpolant.

With ``out_dir`` the report is written as ``report.json``, ``report.md``, a self-contained ``report.html`` (tables,
and figures embedded as data URIs) and ``figures/``: snapshots of one trajectory, several trajectories at the last
step (every channel, on the data's coordinates), error and correlation against time, spectra, and with ``animate``
a GIF or MP4 of one rollout (truth | prediction | error). A folder that holds a report already is refused unless
``overwrite``. Long steps (the reference solver, the solver sweep) report progress on stderr (``pdeops._progress``).
"""

import base64
import dataclasses
import html
import json
import math
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdeops._io import write_text_atomic
from pdeops._progress import Progress
from pdeops.config import class_path
from pdeops.data import DatasetError, open_dataset
from pdeops.data.generate import require_writable
from pdeops.data.recipes import Resolved, SolverRebuildError, rebuild_resolved
from pdeops.data.setups import Setup, build_setup
from pdeops.evaluation import plots, work_precision
from pdeops.evaluation.rollout import RolloutInputs, persistence, prepare_rollout, rollout
from pdeops.metrics import (
    band_fraction,
    band_shells,
    censored_median,
    correlation_per_step,
    correlation_time,
    energy_and_enstrophy,
    energy_spectrum_error,
    first_blowup_step,
    pdebench_frmse,
    pdebench_nrmse,
    relative_lp_per_step,
    relative_lp_window,
    spectrum_error,
    summarize,
    time_until_below,
    well_vrmse,
)
from pdeops.training.timing import synchronize
from solvers import Grid, energy_spectrum

Tensor = torch.Tensor

BANDS = ("low", "mid", "high")
"""Names of ``metrics.DEFAULT_BANDS``: thirds of the largest resolved wavenumber."""
THRESHOLDS = (0.95, 0.8)
"""Correlation levels whose crossing times are reported."""
RESAMPLED = "spectrally resampled from the stored resolution (solvers.Grid.resample), not re-solved"
BAND_FRACTION_FLOOR = 1e-3
"""A band holding less than this share of the truth's ``‖ω‖²`` gets no error relative to its own content."""
FIGURE_TRAJECTORIES = 4
"""Test trajectories shown side by side in ``figures/trajectories.png``."""


def evaluate(
    checkpoint: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    *,
    steps: int | None = None,
    context: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    samples: Sequence[int] | None = None,
    device: str = "cpu",
    resolution: int | None = None,
    batch_size: int | None = None,
    allow_modules: Sequence[str] = (),
    animate: str | None = None,
    equal_accuracy: bool = True,
    overwrite: bool = False,
    accuracy: work_precision.Accuracy | None = None,
) -> dict[str, Any]:
    """Roll the checkpoint's task out on the test trajectories and score it and the persistence baseline.

    Args:
        checkpoint: the ``.ckpt`` file.
        data_path: a dataset file with the fields the task was trained on (any format ``open_dataset`` reads).
        steps: steps to compare after the given frames; None: to the end of the stored trajectories.
        context: stored frames given before the first compared one (≥ the task's k input frames); None: k.
        out_dir: where to write ``report.json``, ``report.md`` and ``figures/*.png``; None writes nothing.
        samples: trajectory indices; None: the test split the checkpoint was trained with.
        device: where the task and the reference solver run.
        resolution: points per axis to evaluate at (zero-shot); the truth is resampled, not re-solved.
        batch_size: trajectories per forward pass (and per reference-solver timing); None: all at once.
        allow_modules: packages besides pdeops, neuraloperator and torch the checkpoint may name (see ``load_task``).
        animate: ``"gif"`` or ``"mp4"`` (needs ffmpeg) to write ``figures/rollout.<format>`` of the first
            trajectory; needs ``out_dir``.
        equal_accuracy: for a native file, also sweep the reference solver's settings (``work_precision``) and
            report the speed-up over the cheapest one at least as accurate as the model.
        overwrite: replace a report already in ``out_dir`` (without it, one there is an error).
        accuracy: the axis "as accurate" is measured on (``work_precision.Accuracy``): relative L2 over the window
            (None: the default ``Accuracy()``), or the median time until the correlation drops below a threshold
            (chaotic flows).

    Returns:
        The report, JSON-safe (non-finite numbers are None, and ``notes`` says where): ``model`` and
        ``persistence`` scores, ``truth`` diagnostics, ``speed`` (``speedup`` at the file's fixed dt,
        ``equal_accuracy`` or ``equal_accuracy_omitted`` saying why there is none), ``useless`` and ``warnings``
        (a model no better than persistence), and what was evaluated.

    Raises:
        CheckpointError, DatasetError, ValueError: an unreadable checkpoint, a data file without the checkpoint's
            fields or with other channels, or ``steps``, ``samples`` or ``resolution`` out of range; ``out_dir``
            cannot be written or holds a report and ``overwrite`` is False, or ``animate`` cannot be written (all
            checked before anything is computed).
    """
    accuracy = accuracy or work_precision.Accuracy()
    _check_animate(animate, out_dir)
    if out_dir is not None:
        _check_out_dir(Path(out_dir), overwrite)
    inputs = prepare_rollout(
        checkpoint,
        data_path,
        samples=samples,
        steps=steps,
        context=context,
        device=device,
        allow_modules=allow_modules,
    )
    notes: list[str] = []
    stored = inputs.read(inputs.history + inputs.steps).to(torch.float64)
    stored_grid = _stored_grid(inputs, notes)
    truth, grid = _at_resolution(stored, stored_grid, resolution, notes)
    initial, target = truth[:, : inputs.history], truth[:, inputs.history :]
    prediction, seconds = _timed_rollout(inputs, initial, batch_size)
    lead = inputs.lead_times
    if "time" not in inputs.layout.coords:
        notes.append(f"{inputs.layout.path} has no time coordinate: times are counted in steps.")
    vorticity = _vorticity_channel(inputs, grid, notes)
    resolved = _file_solver(inputs, stored_grid, notes)
    report = {
        **_header(inputs, device, stored, truth),
        "lead_times": lead,
        "accuracy": accuracy.to_json(),
        "model": _scores(prediction, target, torch.from_numpy(lead), grid, vorticity, accuracy.threshold),
        "persistence": _scores(
            persistence(initial, inputs.steps), target, torch.from_numpy(lead), grid, vorticity, accuracy.threshold
        ),
        "truth": None if vorticity is None or grid is None else _truth_diagnostics(target[:, :, vorticity], grid),
        "speed": _speed(inputs, resolved, stored, stored_grid, lead, seconds, batch_size, device, notes),
    }
    report["warnings"] = report_warnings(report)
    report["useless"] = bool(report["warnings"])
    if not equal_accuracy:
        equal: dict[str, Any] | str = "not asked for (equal_accuracy=False, `--no-equal-accuracy`)"
    elif truth is not stored:
        equal = "the truth is resampled to another resolution, and the solver sweep is scored at the stored one"
    elif resolved is None:
        equal = "no reference solver (see notes)"
    else:
        equal = _equal_accuracy(inputs, resolved, stored, prediction, seconds, device, notes, accuracy)
    report["speed"]["equal_accuracy"] = equal if isinstance(equal, dict) else None
    report["speed"]["equal_accuracy_omitted"] = equal if isinstance(equal, str) else None
    safe = json_safe(report, notes)
    if out_dir is not None:
        shown = slice(0, FIGURE_TRAJECTORIES)
        attrs = _variable_attrs(inputs.layout.path, [*inputs.layout.spatial_dims, *inputs.layout.fields])
        axes = _spatial_axes(inputs, grid, tuple(truth.shape[3:]), attrs)
        fields = [_field_label(name, attrs.get(name, {})) for name in inputs.layout.fields]
        write_report(safe, Path(out_dir), target[shown], prediction[shown], axes, fields, animate=animate)
    return safe


def _check_animate(animate: str | None, out_dir: str | os.PathLike[str] | None) -> None:
    if animate is None:
        return
    if animate not in plots.ANIMATION_FORMATS:
        raise ValueError(f"animate takes {' or '.join(plots.ANIMATION_FORMATS)}, got {animate!r}.")
    if out_dir is None:
        raise ValueError("An animation is written into the report's folder: give an output folder (--out).")
    if not plots.animation_available(animate):
        raise ValueError(
            "An MP4 animation needs ffmpeg on PATH (e.g. apt-get install ffmpeg, or conda install ffmpeg); "
            "--animate gif needs nothing more."
        )


REPORT_FILES = ("report.json", "report.md", "report.html")
FIGURE_FILES = ("snapshots.png", "trajectories.png", "error_vs_time.png", "spectra.png", "rollout.gif", "rollout.mp4")
"""Every file ``write_report`` may write into ``figures/``; those a new report does not write are removed."""


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    older = [name for name in REPORT_FILES if (out_dir / name).exists()]
    if older and not overwrite:
        raise DatasetError(
            f"{out_dir} already holds a report ({', '.join(older)}). Pass overwrite=True (--overwrite) to replace it, "
            "or choose another folder (--out); a report is never replaced silently."
        )
    require_writable(out_dir / "report.json")


# --- data ---------------------------------------------------------------------------------------------------------
def _stored_grid(inputs: RolloutInputs, notes: list[str]) -> Grid | None:
    """The periodic grid of the stored frames (float64, CPU), or None for 3-D data (no spectral tools)."""
    shape = inputs.layout.spatial_shape
    if len(shape) > 2:
        notes.append("3-D data: spectral diagnostics, resampling and the reference solver are left out.")
        return None
    if "domain_length" in inputs.attrs:
        return Grid(shape, float(inputs.attrs["domain_length"]))
    coords = [inputs.layout.coords.get(dim) for dim in inputs.layout.spatial_dims]
    lengths = [n * float(c[1] - c[0]) for n, c in zip(shape, coords, strict=True) if c is not None and len(c) > 1]
    if len(lengths) == len(shape):
        return Grid(shape, lengths)
    notes.append("The file gives no domain length: energy and enstrophy assume a unit domain.")
    return Grid(shape, 1.0)


def _at_resolution(
    stored: Tensor, grid: Grid | None, resolution: int | None, notes: list[str]
) -> tuple[Tensor, Grid | None]:
    """The truth ``(N, T, C, *S)`` and its grid at ``resolution`` points per axis (resampled spectrally)."""
    if resolution is None or (grid is not None and grid.shape == (resolution,) * grid.ndim):
        return stored, grid
    if grid is None:
        raise ValueError(f"resolution={resolution} needs 1-D or 2-D data; leave it out for 3-D data.")
    if resolution < 4:
        raise ValueError(f"resolution must be at least 4 points per axis, got {resolution}.")
    shape = (resolution,) * grid.ndim
    notes.append(f"Zero-shot at {list(shape)} (trained and stored at {list(grid.shape)}): the truth is {RESAMPLED}.")
    return grid.resample(stored, shape), grid.with_(shape=shape)


def _vorticity_channel(inputs: RolloutInputs, grid: Grid | None, notes: list[str]) -> int | None:
    """The channel of a 2-D ``vorticity`` field on a square domain, or None (then no vorticity diagnostics)."""
    fields = inputs.layout.fields
    if grid is None or grid.ndim != 2 or "vorticity" not in fields or grid.lengths[0] != grid.lengths[1]:
        notes.append(
            "No 2-D 'vorticity' field on a square domain: energy, enstrophy, spectra and band errors are left out."
        )
        return None
    return fields.index("vorticity")


def _spatial_axes(
    inputs: RolloutInputs, grid: Grid | None, shape: tuple[int, ...], attrs: dict[str, dict[str, Any]]
) -> plots.SpatialAxes:
    """Coordinates and units for the figures of fields on ``shape`` (the evaluated grid): the file's coordinates at
    the stored resolution, the same span evenly resampled at another; grid indices for an axis without coordinates.
    ``attrs``: the coordinates' attributes (``_variable_attrs``), for their units."""
    layout = inputs.layout
    units = [_units(attrs.get(dim, {})) for dim in layout.spatial_dims]
    names: list[str] = []
    values: list[np.ndarray] = []
    for axis, (dim, n) in enumerate(zip(layout.spatial_dims, shape, strict=True)):
        stored = layout.coords.get(dim)
        if stored is None or len(stored) == 0:
            names.append(f"{dim} (grid index)")
            values.append(np.arange(n, dtype=np.float64))
            units[axis] = None
            continue
        names.append(dim)
        if len(stored) == n:
            values.append(np.asarray(stored, dtype=np.float64))
        else:  # zero-shot, which needs a grid (1-D or 2-D): the same periodic domain on n points
            assert grid is not None
            values.append(float(stored[0]) + np.arange(n) * (grid.lengths[axis] / n))
    return plots.SpatialAxes(tuple(names), tuple(values), tuple(units))


def _variable_attrs(path: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The attributes of the file's variables and coordinates among ``names`` (for figure labels only: none for a
    file ``open_dataset`` reads only in parts, e.g. one with several splits)."""
    try:
        with open_dataset(path) as dataset:
            return {name: dict(dataset[name].attrs) for name in names if name in dataset.variables}
    except DatasetError:  # labels without units, not a failed evaluation
        return {}


def _units(attrs: dict[str, Any]) -> str | None:
    units = str(attrs.get("units", ""))
    return None if units in ("", "1") else units  # CF: "1" is dimensionless, shown as nothing


def _field_label(name: str, attrs: dict[str, Any]) -> plots.FieldLabel:
    long_name = attrs.get("long_name")
    return plots.FieldLabel(name, None if long_name is None else str(long_name), _units(attrs))


def _header(inputs: RolloutInputs, device: str, stored: Tensor, truth: Tensor) -> dict[str, Any]:
    resampled = stored.shape != truth.shape
    return {
        "checkpoint": str(Path(inputs.checkpoint).resolve()),
        "data": inputs.layout.path,
        "task": class_path(type(inputs.task)),
        "fields": list(inputs.layout.fields),
        "samples": [int(sample) for sample in inputs.samples],
        "history": inputs.history,
        "steps": inputs.steps,
        "device": device,
        "resolution": {
            "stored": list(stored.shape[3:]),
            "evaluated": list(truth.shape[3:]),
            "truth": RESAMPLED if resampled else "stored frames",
        },
    }


# --- scores -------------------------------------------------------------------------------------------------------
def _scores(
    pred: Tensor, true: Tensor, lead: Tensor, grid: Grid | None, vorticity: int | None, threshold: float
) -> dict[str, Any]:
    """Every score of one prediction ``(N, T, C, *S)`` against the truth; ``threshold``: the correlation level of
    ``correlation_time``."""
    blowup = first_blowup_step(pred, true)
    scores = {
        "relative_l2": _relative_error(pred, true, 2),
        "relative_l1": _relative_error(pred, true, 1),
        "correlation": _correlation(pred, true, lead),
        "correlation_time": correlation_summary(pred, true, lead, threshold),
        "pdebench_nrmse": pdebench_nrmse(pred, true).mean(),
        "well_vrmse": well_vrmse(pred, true).mean(),
        "first_blowup_step": int(blowup[blowup > 0].min()) if bool((blowup > 0).any()) else None,
    }
    if grid is not None:
        # PDEBench's convention: its scripts pass Lx = Ly = 1 whatever the domain (the true lengths would multiply
        # every band by the domain's area, 4π² on [0, 2π]²), so the number stands next to their published ones
        bands = pdebench_frmse(pred, true).mean(dim=(0, 1))
        scores["pdebench_frmse"] = dict(zip(("low", "mid", "high"), bands, strict=True))
    if vorticity is not None and grid is not None:
        scores.update(_vorticity_scores(pred[:, :, vorticity], true[:, :, vorticity], grid))
    return scores


def correlation_summary(pred: Tensor, true: Tensor, lead: Tensor, threshold: float) -> dict[str, Any]:
    """The correlation-time axis of ``(N, T, C, *S)`` against the truth (``metrics.correlation_time``): per
    trajectory (censored at the window's end, flagged), their median (censored if a censored value is in the
    middle: ``metrics.censored_median``) and quartiles (counting a censored value at the window's end)."""
    times, censored = correlation_time(pred, true, lead, threshold)
    middle, middle_censored = censored_median(times, censored)
    q25, q75 = torch.quantile(times, torch.tensor([0.25, 0.75], dtype=times.dtype)).tolist()
    return {
        "threshold": threshold,
        "median": middle,
        "censored": middle_censored,
        "q25": q25,
        "q75": q75,
        "window_end": float(lead[-1]),
        "per_trajectory": times.tolist(),
        "censored_per_trajectory": censored.tolist(),
    }


def _relative_error(pred: Tensor, true: Tensor, p: int) -> dict[str, Tensor]:
    """``summarize`` of the per-step error, and the space–time error's mean and median over trajectories."""
    window = relative_lp_window(pred, true, p)
    return {
        **summarize(relative_lp_per_step(pred, true, p)),
        "spacetime_mean": window.mean(),
        "spacetime_median": median(window),
    }


def _correlation(pred: Tensor, true: Tensor, lead: Tensor) -> dict[str, Any]:
    per_step = correlation_per_step(pred, true)
    scores: dict[str, Any] = dict(summarize(per_step))
    for threshold in THRESHOLDS:
        times = time_until_below(per_step, threshold, lead)
        scores[f"time_until_below_{threshold}"] = {"mean": times.mean(), "median": median(times)}
    return scores


def _vorticity_scores(pred: Tensor, true: Tensor, grid: Grid) -> dict[str, Any]:
    """Energy, enstrophy, spectrum and band errors of predicted vorticity ``(N, T, n_x, n_y)``."""
    energy, enstrophy = energy_and_enstrophy(pred, grid)
    spectra = energy_spectrum_error(pred, true, grid)
    over_field, over_band = spectra["band_error_over_field"], spectra["band_error_over_band"]
    return {
        "energy": {"per_step_mean": energy.mean(0)},
        "enstrophy": {"per_step_mean": enstrophy.mean(0)},
        "spectrum": _spectrum_summary(spectra["spectrum_pred"]),
        "spectrum_error": spectrum_error(pred, true, grid).mean(),
        "band_error": {  # ‖P(pred − true)‖ / ‖true‖, and / ‖P true‖ (see metrics.energy_spectrum_error)
            name: {
                "per_step_mean": over_field[..., i].mean(0),
                "window_mean": over_field[..., i].mean(),
                "over_band_window_mean": over_band[..., i].mean(),
            }
            for i, name in enumerate(BANDS)
        },
    }


def _truth_diagnostics(true: Tensor, grid: Grid) -> dict[str, Any]:
    energy, enstrophy = energy_and_enstrophy(true, grid)
    k, spectrum = energy_spectrum(grid.with_(dtype=torch.float64), true)
    fraction = band_fraction(true, grid)
    return {
        "energy": {"per_step_mean": energy.mean(0)},
        "enstrophy": {"per_step_mean": enstrophy.mean(0)},
        "k": k,
        "spectrum": _spectrum_summary(spectrum.mean(0)),
        "band_fraction": {name: fraction[..., i].mean() for i, name in enumerate(BANDS)},
    }


def _spectrum_summary(spectrum: Tensor) -> dict[str, Tensor]:
    """A sample-mean spectrum ``(T, K)``: its mean over the window and its last step."""
    return {"window_mean": spectrum.mean(0), "final": spectrum[-1]}


def median(values: Tensor) -> Tensor:
    """The median of ``(N,)`` values, the mean of the middle two for even N; ``inf`` values sort last."""
    ordered = values.to(torch.float64).sort().values
    middle = (len(ordered) - 1) // 2
    return ordered[middle : len(ordered) - middle].mean()


# --- speed --------------------------------------------------------------------------------------------------------
def _timed_rollout(inputs: RolloutInputs, initial: Tensor, batch_size: int | None) -> tuple[Tensor, float]:
    """The rollout ``(N, steps, C, *S)`` and its wall time, after a one-step warm-up (kernels, FFT plans)."""
    rollout(inputs.task, initial[:1], 1)
    start = time.perf_counter()
    prediction = rollout(inputs.task, initial, inputs.steps, batch_size=batch_size)  # returns on the CPU: synced
    return prediction, time.perf_counter() - start


def _speed(
    inputs: RolloutInputs,
    resolved: Resolved | None,
    stored: Tensor,
    stored_grid: Grid | None,
    lead: np.ndarray,
    model_seconds: float,
    batch_size: int | None,
    device: str,
    notes: list[str],
) -> dict[str, Any]:
    """Model throughput, and the reference solver's (``resolved``, as the file was made) on the first batch of
    trajectories: the speed-up at the file's fixed dt."""
    frames = len(inputs.samples) * inputs.steps
    speed: dict[str, Any] = {
        "device": device,
        "model": {"seconds": model_seconds, "frames": frames, "frames_per_second": frames / model_seconds},
        "reference": None,
        "speedup": None,
    }
    if resolved is None or stored_grid is None or _solved_channel(inputs, resolved, notes) is None:
        return speed
    channel = inputs.layout.fields.index(resolved.recipe.field)
    shape = (resolved.solve_resolution,) * stored_grid.ndim
    solve_grid = Grid(shape, resolved.recipe.length, dtype=getattr(torch, resolved.config.dtype), device=device)
    count = min(len(inputs.samples), batch_size or len(inputs.samples))
    u0 = stored_grid.resample(stored[:count, inputs.history - 1, channel], shape)
    setup = build_setup(resolved, solve_grid)
    seconds = _time_solver(setup, u0.to(device=solve_grid.device, dtype=solve_grid.dtype), lead, resolved.dt)
    per_second = count * inputs.steps / seconds
    speed["reference"] = {
        "seconds": seconds,
        "frames": count * inputs.steps,
        "frames_per_second": per_second,
        "solve_resolution": list(shape),
        "recipe": resolved.recipe.name,
    }
    speed["speedup"] = speed["model"]["frames_per_second"] / per_second
    return speed


def _file_solver(inputs: RolloutInputs, stored_grid: Grid | None, notes: list[str]) -> Resolved | None:
    """The config that made the file (``rebuild_resolved``), or None with a note saying why there is none."""
    if stored_grid is None:
        return None  # 3-D data: the note says the solver is left out
    try:
        return rebuild_resolved(inputs.attrs, inputs.layout.path)
    except SolverRebuildError as error:
        notes.append(str(error))
        return None


def _solved_channel(inputs: RolloutInputs, resolved: Resolved, notes: list[str]) -> int | None:
    """The channel of the recipe's solved field among the task's, or None (noted once) if the task lacks it."""
    field = resolved.recipe.field
    if field in inputs.layout.fields:
        return inputs.layout.fields.index(field)
    note = f"Speed-ups omitted: the recipe solves {field!r}, which the task does not predict."
    if note not in notes:
        notes.append(note)
    return None


EQUAL_ACCURACY_TRAJECTORIES = 8
"""Trajectories the solver settings are swept on for the equal-accuracy speed-up (the model is re-scored on them)."""
EQUAL_ACCURACY_MAX_SECONDS = 30.0
"""A solver setting estimated to take longer than this is skipped in ``evaluate``'s sweep."""


def _equal_accuracy(
    inputs: RolloutInputs,
    resolved: Resolved,
    stored: Tensor,
    prediction: Tensor,
    model_seconds: float,
    device: str,
    notes: list[str],
    accuracy: work_precision.Accuracy,
) -> dict[str, Any] | str:
    """The model's speed-up over the cheapest reference-solver setting at least as accurate on the ``accuracy`` axis,
    on the recipe's field of the first ``EQUAL_ACCURACY_TRAJECTORIES`` trajectories (``work_precision.
    default_settings``: the recipe's scheme in float32, a ladder of grids, steps and adaptive CFL targets); or why
    there is none, in a few words. The setting is chosen on the evaluated trajectories themselves (``pdeops
    benchmark`` chooses it on validation trajectories instead)."""
    channel_index = _solved_channel(inputs, resolved, notes)
    if channel_index is None:
        return "the task does not predict the solver's field (see notes)"
    try:
        work_precision.require_time_stepping(resolved, inputs.layout.path)
    except ValueError as error:
        notes.append(f"Equal-accuracy speed-up omitted: {error}")
        return f"recipe {resolved.recipe.name!r} is solved exactly in time, with no step to trade for speed"
    count, history = min(len(stored), EQUAL_ACCURACY_TRAJECTORIES), inputs.history
    channel = slice(channel_index, channel_index + 1)
    frames = stored[:count, history - 1 :, channel]  # (count, 1 + steps, 1, *S): the last given frame, then truth
    truth = work_precision.StoredTruth(resolved, frames[:, :, 0], inputs.lead_times.tolist())
    settings = work_precision.default_settings(truth)
    with Progress(len(settings), "solver settings", "setting") as bar:

        def advance(i: int, n: int, setting: work_precision.SolverSetting) -> None:
            bar.update(i - bar.done, note=setting.label)  # i settings are solved when the (i + 1)-th starts

        points = work_precision.sweep(
            truth,
            settings,
            device=device,
            max_seconds=EQUAL_ACCURACY_MAX_SECONDS,
            progress=advance,
            threshold=accuracy.threshold,
        )
        bar.update(len(settings) - bar.done)
    if accuracy.axis == "rollout_l2":
        model_score = float(relative_lp_window(prediction[:count, :, channel], frames[:, 1:]).mean())
    else:
        lead = torch.from_numpy(inputs.lead_times)
        times = correlation_time(prediction[:count, :, channel], frames[:, 1:], lead, accuracy.threshold)
        model_score = censored_median(*times)[0]
    seconds_per_frame = model_seconds / (len(stored) * inputs.steps)
    result = work_precision.equal_accuracy(points, model_score, seconds_per_frame, accuracy)
    result["trajectories"] = count
    result["pareto_front"] = [point.to_json() for point in work_precision.pareto_front(points, accuracy)]
    if result["speedup"] is None:
        notes.append(
            f"No solver setting of the sweep ({len(points)} tried) is as accurate as the model on these trajectories."
        )
    return result


def _time_solver(setup: Setup, u0: Tensor, lead: np.ndarray, dt: float) -> float:
    """Seconds the solver takes from ``u0`` through the frames at ``lead`` times, after a one-step warm-up.

    Stepping frame by frame (for the progress bar) restarts the clock at 0 each time, which is exact for the
    recipes' autonomous equations (no explicitly time-dependent forcing) and costs one extra FFT per frame.
    """
    intervals = np.diff(lead, prepend=0.0)
    setup.solve(u0[:1], [0.0, dt])  # warm-up: kernels and FFT plans, as for the model
    synchronize(u0.device)
    start = time.perf_counter()
    state = u0
    with Progress(len(intervals), "reference solver", "frame") as bar:
        for interval in intervals:
            state = setup.solve(state, [0.0, float(interval)])[:, -1]
            bar.update()
    synchronize(u0.device)
    return time.perf_counter() - start


# --- report -------------------------------------------------------------------------------------------------------
def json_safe(report: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``report`` with tensors as lists and non-finite floats as None; adds ``notes`` (plus where None stands for
    a non-finite number) under ``"notes"``."""
    replaced: list[str] = []
    safe = _plain(report, "", replaced)
    if replaced:
        places = ", ".join(dict.fromkeys(replaced))
        notes.append(
            f"null stands for a non-finite number (inf or nan) at: {places}. A correlation time is inf when the "
            "correlation stays above the threshold for the whole window; a band error is nan when the truth has "
            "no energy in that band."
        )
    return {**safe, "notes": notes}


def _plain(value: Any, path: str, replaced: list[str]) -> Any:
    if isinstance(value, Tensor | np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(key): _plain(item, f"{path}.{key}" if path else str(key), replaced) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[]", replaced) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        replaced.append(path)
        return None
    return value


def key_steps(steps: int) -> list[int]:
    """A few steps to show (1-based): the first, a quarter, half and the last."""
    return sorted({1, max(1, steps // 4), max(1, steps // 2), steps})


def write_report(
    report: dict[str, Any],
    out_dir: Path,
    truth: Tensor,
    prediction: Tensor,
    axes: plots.SpatialAxes,
    fields: Sequence[plots.FieldLabel],
    *,
    animate: str | None = None,
) -> None:
    """Write ``report.json``, ``report.md``, ``report.html`` and ``figures/`` (each file atomically).

    Args:
        report: the JSON-safe report.
        out_dir: the folder to write into (created if missing).
        truth: the first few test trajectories, ``(N, T, C, *S)``, float64 (``report["samples"][:N]``).
        prediction: their rollouts, the same shape.
        axes: the coordinates of ``S``.
        fields: the ``C`` channels' names, long names and units (``report["fields"]`` in order).
        animate: ``"gif"`` or ``"mp4"`` to animate the first trajectory too; None: no animation.
    """
    figures_dir = out_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    lead = np.asarray(report["lead_times"], dtype=np.float64)
    samples = report["samples"][: truth.shape[0]]
    true, pred = truth.numpy(), prediction.numpy()
    figures: list[tuple[str, str]] = []  # (file name in figures/, caption)

    plots.plot_snapshots(
        true[0],
        pred[0],
        lead,
        key_steps(report["steps"]),
        fields,
        axes,
        figures_dir / "snapshots.png",
        sample=samples[0],
    )
    figures.append(("snapshots.png", f"Test trajectory {samples[0]}: truth, prediction and error at a few steps."))
    plots.plot_trajectories(
        true[:, -1], pred[:, -1], samples, report["steps"], lead[-1], fields, axes, figures_dir / "trajectories.png"
    )
    shown = plots.counted(len(samples), "test trajectory", "test trajectories")
    figures.append(("trajectories.png", f"{shown} at the last step."))
    scores = {name: report[name] for name in ("model", "persistence")}
    plots.plot_error_vs_time(lead, scores, figures_dir / "error_vs_time.png", fields=fields)
    figures.append(("error_vs_time.png", "Relative L2 error and correlation per step (means over the trajectories)."))
    if report["truth"] is not None:
        spectra = {"truth": report["truth"]["spectrum"]["final"]}
        spectra.update({name: report[name]["spectrum"]["final"] for name in ("model", "persistence")})
        plots.plot_spectra(np.asarray(report["truth"]["k"]), spectra, lead[-1], figures_dir / "spectra.png")
        figures.append(("spectra.png", "Energy spectra at the last step (means over the trajectories)."))
    if animate is not None:
        name = f"rollout.{animate}"
        plots.animate_rollout(true[0], pred[0], lead, fields, axes, figures_dir / name, sample=samples[0])
        figures.append((name, f"Rollout of test trajectory {samples[0]}: truth | prediction | error, step by step."))

    for stale in set(FIGURE_FILES) - {name for name, _ in figures}:  # an older report's, replaced (overwrite)
        (figures_dir / stale).unlink(missing_ok=True)
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    links = [f"![{caption}](figures/{name})" for name, caption in figures]
    write_text_atomic(out_dir / "report.md", markdown(report) + "\n## Figures\n\n" + "\n\n".join(links) + "\n")
    write_text_atomic(out_dir / "report.html", report_html(report, [(figures_dir / n, c) for n, c in figures]))


@dataclasses.dataclass(frozen=True)
class _Table:
    """A table of the report, rendered as Markdown and as HTML; cells use Markdown's inline code (backticks)."""

    intro: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _tables(report: dict[str, Any]) -> list[_Table]:
    """The report's tables: model against persistence, then (for vorticity) the errors per wavenumber band."""
    main = _Table(
        "",
        ("metric", "model", "persistence"),
        [(label, _fmt(get(report["model"])), _fmt(get(report["persistence"]))) for label, get in _table_rows(report)],
    )
    return [main] if report["truth"] is None else [main, _band_table(report)]


def _band_table(report: dict[str, Any]) -> _Table:
    n = min(report["resolution"]["evaluated"])
    intro = (
        f"Errors per wavenumber band of the vorticity ω, window means: the bands are thirds of the largest resolved "
        f"wavenumber k_max = {n // 2} (shells j = round(|k|), k in units of 2π/L). A band error is "
        "‖P(pred − true)‖ / ‖true‖, the band's part of the error relative to the *whole* field's norm, so the "
        "three add up in quadrature to the relative L2 error. The last two columns divide by the truth's own norm in "
        f"the band instead; they are left out (–) where the band holds less than {BAND_FRACTION_FLOOR:.1%} of the "
        "truth's ‖ω‖², since there any prediction's error is large next to almost nothing."
    )
    rows = []
    for band, shells in zip(BANDS, band_shells(n), strict=True):
        fraction = report["truth"]["band_fraction"][band]
        meaningful = fraction is not None and fraction >= BAND_FRACTION_FLOOR
        entries = [report[name]["band_error"][band] for name in ("model", "persistence")]
        rows.append(
            (
                band,
                _shell_label(shells, last=band == BANDS[-1]),
                "n/a" if fraction is None else f"{100 * fraction:.3g}%",
                *(_fmt(entry["window_mean"]) for entry in entries),
                *(_fmt(entry["over_band_window_mean"]) if meaningful else "–" for entry in entries),
            )
        )
    header = (
        "band",
        "shells j",
        "truth's share of ‖ω‖²",
        "model, of ‖true‖",
        "persistence, of ‖true‖",
        "model, of the band",
        "persistence, of the band",
    )
    return _Table(intro, header, rows)


def _shell_label(shells: range, last: bool) -> str:
    if len(shells) == 0:
        return "none"
    return f"{shells.start} and above" if last else f"{shells.start}–{shells.stop - 1}"


def markdown(report: dict[str, Any]) -> str:
    """A short human summary of ``report``: its warnings, model vs persistence, errors at a few steps, correlation
    times, band errors, speed."""
    lines = [f"# Evaluation of `{report['checkpoint']}`", ""]
    lines += [line for warning in report["warnings"] for line in (warning, "")]
    lines += [_summary(report), "", _accuracy_line(report)]
    for table in _tables(report):
        lines += ["", table.intro, ""] if table.intro else [""]
        lines.append("| " + " | ".join(table.header) + " |")
        lines.append("|" + "---|" * len(table.header))
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    lines += ["", _speed_line(report["speed"])]
    if report["notes"]:
        lines += ["", "Notes:", *(f"- {note}" for note in report["notes"])]
    return "\n".join(lines) + "\n"


def _summary(report: dict[str, Any]) -> str:
    fields = "field" if len(report["fields"]) == 1 else "fields"
    return (
        f"Data `{report['data']}`, {fields} {', '.join(report['fields'])}: "
        f"{plots.counted(len(report['samples']), 'trajectory', 'trajectories')}, "
        f"{plots.counted(report['history'], 'input frame', 'input frames')}, "
        f"{plots.counted(report['steps'], 'step', 'steps')}, "
        f"evaluated at {report['resolution']['evaluated']} ({report['resolution']['truth']})."
    )


def _accuracy_line(report: dict[str, Any]) -> str:
    """The report's accuracy axis, and the model's and persistence's score on it."""
    axis = report["accuracy"]
    if axis["axis"] == "rollout_l2":
        shown = [_fmt(report[name]["relative_l2"]["spacetime_mean"]) for name in ("model", "persistence")]
    else:
        shown = [_censored(report[name]["correlation_time"]) for name in ("model", "persistence")]
    return f"Accuracy axis: {axis['label']}. Model {shown[0]}, persistence {shown[1]}."


def _censored(summary: dict[str, Any]) -> str:
    """A correlation-time summary as text: the median (``≥`` when censored at the window's end) and quartiles."""
    median = ("≥ " if summary["censored"] else "") + _fmt(summary["median"])
    quartiles = f"{_fmt(summary['q25'])}–{_fmt(summary['q75'])}"
    return f"{median} (quartiles {quartiles}, window end {_fmt(summary['window_end'])})"


USELESS = "**Worse than persistence: this model is not useful on this data.**"
"""The first words of the warning a report carries for a model no better than holding the last input frame."""


def report_warnings(report: dict[str, Any]) -> list[str]:
    """The report's warnings: ``USELESS`` when the model's relative L2 error over the window (mean over the
    trajectories) is not below persistence's, or not finite (None in a JSON-safe report)."""
    model, held = (report[name]["relative_l2"]["spacetime_mean"] for name in ("model", "persistence"))
    model, held = (math.nan if value is None else float(value) for value in (model, held))
    if math.isfinite(model) and not (math.isfinite(held) and model >= held):
        return []
    shown = _fmt(model) if math.isfinite(model) else "not finite"
    return [
        f"{USELESS} Its relative L2 error over the window ({shown}, mean over the trajectories) is not below that "
        f"of holding the last input frame ({_fmt(held)}), so its speed-ups buy nothing."
    ]


_HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1.5rem 0; }
figure img, figure video { max-width: 100%; }
figcaption { color: #555; }
code { background: #f3f3f3; padding: 0 0.2rem; }
.warning { border-left: 0.3rem solid #c0392b; background: #fdf0ee; padding: 0.5rem 0.8rem; }
"""

_MEDIA_TYPES = {".png": "image/png", ".gif": "image/gif", ".mp4": "video/mp4"}


def report_html(report: dict[str, Any], figures: Sequence[tuple[Path, str]]) -> str:
    """``report`` as one self-contained HTML page: the tables of ``markdown``, and each figure (PNG, GIF or MP4)
    embedded as a base64 data URI, so the page can be mailed or archived alone.

    Args:
        report: the JSON-safe report.
        figures: ``(file, caption)`` of each figure, in order.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Evaluation of {html.escape(Path(report['checkpoint']).name)}</title>",
        f"<style>{_HTML_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>Evaluation of {_inline_html('`' + report['checkpoint'] + '`')}</h1>",
        *(f'<p class="warning">{_inline_html(warning)}</p>' for warning in report["warnings"]),
        f"<p>{_inline_html(_summary(report))}</p>",
        f"<p>{_inline_html(_accuracy_line(report))}</p>",
    ]
    for table in _tables(report):
        if table.intro:
            parts.append(f"<p>{_inline_html(table.intro)}</p>")
        parts += ["<table>", "<thead>", _html_row("th", table.header), "</thead>", "<tbody>"]
        parts += [_html_row("td", row) for row in table.rows]
        parts += ["</tbody>", "</table>"]
    parts.append(f"<p>{_inline_html(_speed_line(report['speed']))}</p>")
    if figures:
        parts.append("<h2>Figures</h2>")
    for path, caption in figures:
        media = _MEDIA_TYPES[path.suffix]
        uri = f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        element = (
            f'<video controls loop src="{uri}"></video>'
            if media.startswith("video")
            else f'<img src="{uri}" alt="{html.escape(caption)}">'
        )
        parts += ["<figure>", element, f"<figcaption>{html.escape(caption)}</figcaption>", "</figure>"]
    if report["notes"]:
        parts += ["<h2>Notes</h2>", "<ul>", *(f"<li>{_inline_html(note)}</li>" for note in report["notes"]), "</ul>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_row(cell: str, values: Sequence[str]) -> str:
    return "<tr>" + "".join(f"<{cell}>{_inline_html(value)}</{cell}>" for value in values) + "</tr>"


def _inline_html(text: str) -> str:
    """Markdown's inline code, strong emphasis and emphasis as HTML, everything else escaped."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]*)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", escaped)


def _table_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("relative L2, space–time, mean", lambda s: s["relative_l2"]["spacetime_mean"]),
        ("relative L2, space–time, median", lambda s: s["relative_l2"]["spacetime_median"]),
        ("relative L1, space–time, mean", lambda s: s["relative_l1"]["spacetime_mean"]),
    ]
    for step in key_steps(report["steps"]):
        label = f"relative L2 at step {step} (t + {report['lead_times'][step - 1]:.3g})"
        rows.append((label, lambda s, i=step - 1: s["relative_l2"]["per_step_mean"][i]))
    for threshold in THRESHOLDS:
        key = f"time_until_below_{threshold}"
        rows.append(
            (f"time until correlation < {threshold}, median", lambda s, key=key: s["correlation"][key]["median"])
        )
    return rows


def _speed_line(speed: dict[str, Any]) -> str:
    """The speed paragraph: throughput, the fixed-dt speed-up (so labelled) and always beside it the equal-accuracy
    speed-up or why there is none."""
    model = f"Model: {_fmt(speed['model']['frames_per_second'])} frames/s on {speed['device']}"
    if speed["reference"] is None:
        return model + " (no reference solver timing, so no speed-up; see notes)."
    reference = speed["reference"]
    line = (
        f"{model}; reference solver as the file was made ({reference['recipe']}, {reference['solve_resolution']}): "
        f"{_fmt(reference['frames_per_second'])} frames/s; fixed-dt speed-up {_fmt(speed['speedup'])}x (against "
        "the solver at the file's own dt, whatever its accuracy)."
    )
    equal = speed.get("equal_accuracy")
    if not equal:
        why = speed.get("equal_accuracy_omitted") or "not measured"
        return line + f" Speed-up at equal accuracy: unavailable, {why}; the fixed-dt figure alone can overstate it."
    if equal["speedup"] is None:
        return line + (
            " Speed-up at equal accuracy: none, as no swept solver setting is as accurate as the model (see notes)."
        )
    solver = equal["solver"]
    if equal["accuracy"]["axis"] == "rollout_l2":
        name, solver_score = "rel. L2", _fmt(solver["relative_l2"])
    else:
        name = f"median time to correlation < {equal['accuracy']['threshold']:g}"
        solver_score = ("≥ " if solver["correlation_censored"] else "") + _fmt(solver["correlation_time"])
    return line + (
        f" **Speed-up at equal accuracy: {_fmt(equal['speedup'])}x** over the cheapest of {equal['settings_tried']} "
        f"solver settings at least as accurate as the model ({name} {_fmt(equal['model_score'])} on "
        f"{plots.counted(equal['trajectories'], 'trajectory', 'trajectories')}): {solver['label']}, {name} "
        f"{solver_score}, {_fmt(1e3 * solver['seconds_per_frame'])} ms per frame against the model's "
        f"{_fmt(1e3 * equal['model_seconds_per_frame'])}."
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
