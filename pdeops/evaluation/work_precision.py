"""Work–precision: how fast the reference solver reaches a given error, and a surrogate's speed-up at equal accuracy.

A surrogate's speed-up over "the solver" means little unless the solver runs as cheaply as it can for the accuracy
the surrogate reaches: a coarser grid, a larger step or single precision may get there far faster than the setting
that made the data (McGreivy & Hakim 2024, "Weak baselines and reporting biases lead to overoptimism in machine
learning for fluid-related PDEs"). ``sweep`` runs a native file's recipe from a stored frame over solver settings
(time scheme, solve resolution, a fixed dt or an adaptive CFL step, float32 or float64), scores each against the
stored frames that follow exactly as a model's rollout is scored (relative L2 over space and time, mean over the
trajectories), and times it per frame on the device. ``cheapest_at_accuracy`` picks the fastest setting at least
as accurate as a given error: the equal-accuracy baseline of ``pdeops evaluate`` and ``pdeops benchmark``.

The solver starts from the stored frame, as the surrogate does, so both lose what the stored resolution dropped.
"""

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdeops._io import write_text_atomic
from pdeops.data.recipes import Resolved, rebuild_resolved
from pdeops.data.setups import build_setup
from pdeops.metrics import relative_lp_window
from pdeops.training.timing import synchronize
from solvers import SCHEMES, Grid, SolverInstabilityError

Tensor = torch.Tensor

PROBE_STEPS = 3
"""Solver steps timed to estimate a setting's cost before running it (after one warm-up step)."""


@dataclass(frozen=True)
class SolverSetting:
    """One way to run a recipe's solver.

    Attributes:
        scheme: a time scheme of ``solvers.SCHEMES``.
        resolution: solve points per axis (the frames are resampled spectrally to and from the stored grid).
        dt: a fixed step (shortened to land on every frame), or None for an adaptive step at ``cfl``.
        cfl: the CFL target of an adaptive step (None with a fixed ``dt``).
        dtype: ``"float32"`` or ``"float64"``.
    """

    scheme: str
    resolution: int
    dt: float | None
    cfl: float | None = None
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"Unknown time scheme {self.scheme!r}; choose from {SCHEMES}.")
        if (self.dt is None) == (self.cfl is None):
            raise ValueError("Give a solver setting either a fixed dt or an adaptive cfl, not both or neither.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")

    @property
    def label(self) -> str:
        step = f"dt {self.dt:.3g}" if self.dt is not None else f"adaptive cfl {self.cfl:g}"
        return f"{self.scheme}, {self.resolution}², {step}, {self.dtype}"


@dataclass(frozen=True)
class WorkPrecisionPoint:
    """A setting's outcome: its error against the stored truth and its cost, or why it has none.

    Attributes:
        seconds_per_frame: wall time per trajectory and stored frame (the whole batch solved at once).
        relative_l2: relative L2 over space and time, mean over the trajectories (a model's ``rollout_l2``).
        failure: why the setting has no error or time (unstable, or over the time budget); None if it ran.
    """

    setting: SolverSetting
    seconds_per_frame: float | None
    relative_l2: float | None
    failure: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.setting), "label": self.setting.label, **_outcome(self)}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> "WorkPrecisionPoint":
        fields = [field.name for field in dataclasses.fields(SolverSetting)]
        setting = SolverSetting(**{name: row[name] for name in fields})
        return cls(setting, row["seconds_per_frame"], row["relative_l2"], row["failure"])


def _outcome(point: WorkPrecisionPoint) -> dict[str, Any]:
    return {
        "seconds_per_frame": point.seconds_per_frame,
        "relative_l2": point.relative_l2,
        "failure": point.failure,
    }


@dataclass(frozen=True)
class StoredTruth:
    """Stored frames to score solver settings against.

    Attributes:
        resolved: the file's generation config (recipe, parameters, the dt and solve resolution that made it).
        frames: ``(N, T + 1, *S)`` float64: the start frame, then the T frames to predict.
        lead_times: ``(T,)`` times of those frames after the start frame.
    """

    resolved: Resolved
    frames: Tensor
    lead_times: Sequence[float]

    @property
    def stored_resolution(self) -> int:
        return int(self.frames.shape[-1])


def truth_from_file(
    path: str | os.PathLike[str], *, samples: Sequence[int] | None = None, context: int = 1, steps: int | None = None
) -> StoredTruth:
    """The stored frames of a native pdeops file from frame ``context - 1`` on (the last given frame, as for a model).

    Args:
        samples: trajectories; None: the test trajectories of the default (0.8, 0.1, 0.1) split.
        context: frames given before the first scored one (≥ 1).
        steps: frames scored after them; None: to the end.

    Raises:
        SolverRebuildError: a file whose solver cannot be rebuilt (``pdeops.data.recipes.rebuild_resolved``).
        ValueError: an exactly solved recipe (no time stepping to trade), or ``context``/``steps`` outside the
            stored frames.
    """
    from pdeops.data import open_dataset
    from pdeops.data.datamodule import split_trajectories
    from pdeops.evaluation.checkpoints import DEFAULT_SPLIT

    with open_dataset(path) as dataset:
        attrs = dict(dataset.attrs)
        resolved = rebuild_resolved(attrs, path)
        require_time_stepping(resolved, str(path))
        if samples is None:
            samples = list(split_trajectories(dataset.sizes["sample"], DEFAULT_SPLIT, path=str(path))["test"])
        times = np.asarray(dataset["time"].values, dtype=np.float64)
        total = len(times)
        stop = total if steps is None else context + steps
        if context < 1 or stop > total or stop <= context:
            raise ValueError(
                f"{path} stores {total} frames per trajectory: context={context} and steps={steps} do not fit."
            )
        frames = dataset[resolved.recipe.field].isel(sample=list(samples), time=slice(context - 1, stop)).values
    lead = (times[context:stop] - times[context - 1]).tolist()
    return StoredTruth(resolved, torch.from_numpy(np.asarray(frames)).to(torch.float64), lead)


def require_time_stepping(resolved: Resolved, where: str) -> None:
    """Check that ``resolved``'s recipe steps in time: an exactly solved one has no step to trade for speed.

    Raises:
        ValueError: an exactly solved recipe (e.g. ``convection-1d``).
    """
    if resolved.recipe.scheme not in SCHEMES:
        raise ValueError(
            f"{where}: recipe {resolved.recipe.name!r} is solved exactly in time; there is no step to trade for speed."
        )


def default_settings(
    truth: StoredTruth,
    *,
    schemes: Sequence[str] | None = None,
    resolutions: Sequence[int] | None = None,
    dts: Sequence[float] | None = None,
    cfls: Sequence[float] = (0.5, 1.0),
    dtypes: Sequence[str] = ("float32",),
) -> list[SolverSetting]:
    """Every combination of the given axes, with defaults drawn from the file:

    - schemes: the recipe's own;
    - resolutions: a quarter of the stored resolution (at least 8), doubled up to the file's solve resolution;
    - dts: the file's dt doubled until it passes the interval between frames (unstable ones are reported as such);
    - cfls: adaptive steps at these CFL targets (none with ``cfls=()``).
    """
    resolved = truth.resolved
    if resolutions is None:
        n = max(8, truth.stored_resolution // 4)
        resolutions = [n]
        while n < max(resolved.solve_resolution, truth.stored_resolution):
            n *= 2
            resolutions.append(n)
    if dts is None:
        interval = min(b - a for a, b in zip([0.0, *truth.lead_times], truth.lead_times, strict=False))
        dts, dt = [], resolved.dt
        while dt <= interval * (1 + 1e-9):
            dts.append(dt)
            dt *= 2
    steps = [(dt, None) for dt in dts] + [(None, cfl) for cfl in cfls]
    return [
        SolverSetting(scheme, resolution, dt, cfl, dtype)
        for scheme in (schemes or [resolved.recipe.scheme])
        for dtype in dtypes
        for resolution in sorted(set(resolutions))
        for dt, cfl in steps
    ]


def sweep(
    truth: StoredTruth,
    settings: Iterable[SolverSetting],
    *,
    device: str = "cpu",
    max_seconds: float = 60.0,
    progress: Callable[[int, int, SolverSetting], None] | None = None,
) -> list[WorkPrecisionPoint]:
    """Run every setting from the stored start frames and score it against the stored frames that follow.

    Args:
        truth: from ``truth_from_file``.
        settings: from ``default_settings`` or built by hand.
        device: where the solver runs (and is timed).
        max_seconds: a setting whose estimated run time (from a few timed steps) exceeds this is skipped and
            reported as such, so that a sweep over small dts at high resolution stays affordable.
        progress: called as ``progress(i, n, setting)`` before each setting.

    Returns:
        One point per setting, in the order given.
    """
    settings = list(settings)
    points = []
    for i, setting in enumerate(settings):
        if progress is not None:
            progress(i, len(settings), setting)
        points.append(_run(truth, setting, device, max_seconds))
    return points


def _run(truth: StoredTruth, setting: SolverSetting, device: str, max_seconds: float) -> WorkPrecisionPoint:
    resolved = truth.resolved
    stored = Grid(truth.frames.shape[2:], resolved.recipe.length)
    shape = (setting.resolution,) * stored.ndim
    grid = Grid(shape, resolved.recipe.length, dtype=getattr(torch, setting.dtype), device=device)
    stepping = {"scheme": setting.scheme, "dt": setting.dt}
    if setting.cfl is not None:
        stepping["cfl"] = setting.cfl
    setup = build_setup(resolved, grid, **stepping)  # type: ignore[arg-type]
    u0 = stored.resample(truth.frames[:, 0], shape).to(device=device, dtype=grid.dtype)
    times = [0.0, *truth.lead_times]
    frames = len(truth.lead_times) * len(u0)
    try:
        estimate = _estimate_seconds(setup.solve, u0, setting, times)
        if estimate > max_seconds:
            return WorkPrecisionPoint(setting, None, None, f"skipped: estimated {estimate:.0f} s > {max_seconds:g} s")
        synchronize(grid.device)
        start = time.perf_counter()
        solved = setup.solve(u0, times)
        synchronize(grid.device)
        seconds = time.perf_counter() - start
    except SolverInstabilityError as instability:
        return WorkPrecisionPoint(setting, None, None, f"unstable: {instability}")
    pred = Grid(shape, resolved.recipe.length).resample(solved[:, 1:].cpu().to(torch.float64), stored.shape)
    error = float(relative_lp_window(pred[:, :, None], truth.frames[:, 1:, None]).mean())
    if not math.isfinite(error):
        return WorkPrecisionPoint(setting, seconds / frames, None, "unstable: non-finite error")
    return WorkPrecisionPoint(setting, seconds / frames, error)


def _estimate_seconds(solve: Callable[..., Tensor], u0: Tensor, setting: SolverSetting, times: list[float]) -> float:
    """Seconds for the whole run, from ``PROBE_STEPS`` timed steps (fixed dt); adaptive steps are not estimated."""
    if setting.dt is None:
        return 0.0
    solve(u0, [0.0, setting.dt])  # warm-up: kernels, FFT plans, cached coefficients
    synchronize(u0.device)
    start = time.perf_counter()
    solve(u0, [0.0, PROBE_STEPS * setting.dt])
    synchronize(u0.device)
    per_step = (time.perf_counter() - start) / PROBE_STEPS
    return per_step * math.ceil(times[-1] / setting.dt)


def cheapest_at_accuracy(points: Iterable[WorkPrecisionPoint], error: float) -> WorkPrecisionPoint | None:
    """The fastest setting whose error is at most ``error``; None if no setting that ran is that accurate."""
    accurate = [
        p for p in points if p.relative_l2 is not None and p.seconds_per_frame is not None and p.relative_l2 <= error
    ]
    return min(accurate, key=lambda p: p.seconds_per_frame or math.inf, default=None)


def pareto_front(points: Iterable[WorkPrecisionPoint]) -> list[WorkPrecisionPoint]:
    """The settings no other setting beats in both time and error, fastest first."""
    ran = sorted(
        (p for p in points if p.relative_l2 is not None and p.seconds_per_frame is not None),
        key=lambda p: (p.seconds_per_frame, p.relative_l2),
    )
    front: list[WorkPrecisionPoint] = []
    for point in ran:
        if not front or point.relative_l2 < front[-1].relative_l2:  # type: ignore[operator]
            front.append(point)
    return front


def equal_accuracy(
    points: Sequence[WorkPrecisionPoint], model_error: float, model_seconds_per_frame: float
) -> dict[str, Any]:
    """The model's speed-up over the cheapest solver setting at least as accurate (None if no setting is)."""
    match = cheapest_at_accuracy(points, model_error)
    return {
        "model_relative_l2": model_error,
        "model_seconds_per_frame": model_seconds_per_frame,
        "solver": None if match is None else match.to_json(),
        "speedup": None if match is None else match.seconds_per_frame / model_seconds_per_frame,  # type: ignore[operator]
        "settings_tried": len(points),
        "settings_ran": sum(p.relative_l2 is not None for p in points),
    }


def write_sweep(points: Sequence[WorkPrecisionPoint], out: Path, *, title: str, device: str) -> None:
    """``work_precision.json``, ``.md`` and ``work_precision.png`` in ``out`` (each written atomically; ``read_sweep``
    reads the first back)."""
    from pdeops.evaluation import plots

    out.mkdir(parents=True, exist_ok=True)
    front = {id(p) for p in pareto_front(points)}
    rows = [{**p.to_json(), "pareto": id(p) in front} for p in points]
    write_text_atomic(
        out / "work_precision.json", json.dumps({"title": title, "device": device, "points": rows}, indent=1)
    )
    write_text_atomic(out / "work_precision.md", markdown_table(points, title=title, device=device))
    plots.plot_work_precision(points, out / "work_precision.png", title=title)


def read_sweep(path: Path) -> list[WorkPrecisionPoint]:
    """The points of a ``work_precision.json``."""
    return [WorkPrecisionPoint.from_json(row) for row in json.loads(path.read_text())["points"]]


def markdown_table(points: Sequence[WorkPrecisionPoint], *, title: str, device: str) -> str:
    """The sweep as a Markdown table, Pareto-optimal settings marked ★, fastest first."""
    front = {id(p) for p in pareto_front(points)}
    ordered = sorted(points, key=lambda p: (p.seconds_per_frame is None, p.seconds_per_frame or 0.0))
    lines = [
        f"# Work–precision: {title}",
        "",
        f"Device {device}. Error: relative L2 over space and time against the stored frames, mean over the "
        "trajectories; time: wall-clock per trajectory and frame, the batch solved at once. ★: on the Pareto front.",
        "",
        "| setting | ms / frame | rel. L2 | |",
        "|---|---|---|---|",
    ]
    for p in ordered:
        ms = "–" if p.seconds_per_frame is None else f"{1e3 * p.seconds_per_frame:.3g}"
        error = p.failure.split(":")[0] if p.relative_l2 is None and p.failure else f"{p.relative_l2:.3g}"
        lines.append(f"| {p.setting.label} | {ms} | {error} | {'★' if id(p) in front else ''} |")
    return "\n".join(lines) + "\n"
