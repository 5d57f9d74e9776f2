"""Work–precision: how fast the reference solver reaches a given error, and a surrogate's speed-up at equal accuracy.

A surrogate's speed-up over "the solver" means little unless the solver runs as cheaply as it can for the accuracy
the surrogate reaches: a coarser grid, a larger step or single precision may get there far faster than the setting
that made the data (McGreivy & Hakim 2024, "Weak baselines and reporting biases lead to overoptimism in machine
learning for fluid-related PDEs"). ``sweep`` runs a native file's recipe from a stored frame over solver settings
(time scheme, solve resolution, a fixed dt or an adaptive CFL step, float32 or float64), scores each against the
stored frames that follow exactly as a model's rollout is scored (relative L2 over space and time, mean over the
trajectories, and the median time until the correlation with the truth drops below a threshold), and times it per
frame on the device, warm. ``cheapest_at_accuracy`` picks the fastest setting at least as accurate as a given
score on an ``Accuracy`` axis: the equal-accuracy baseline of ``pdeops evaluate`` and ``pdeops benchmark``.

Two accuracy axes (``Accuracy``): ``rollout_l2`` (lower is better) for smooth flows, and ``correlation_time``
(Kochkov et al. 2021; higher is better) for chaotic ones, where a pointwise error saturates within a few Lyapunov
times and a blurred surrogate would "match" a coarse solver.

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
from typing import Any, Literal

import numpy as np
import torch

from pdeops._io import write_text_atomic
from pdeops.data.recipes import Resolved, rebuild_resolved
from pdeops.data.setups import build_setup
from pdeops.metrics import censored_median, correlation_time, relative_lp_window
from pdeops.training.timing import synchronize
from solvers import SCHEMES, Grid, SolverInstabilityError

Tensor = torch.Tensor

AXES = ("rollout_l2", "correlation_time")
"""The accuracy axes a benchmark suite or ``pdeops evaluate`` can rank and match solvers by (``Accuracy``)."""


@dataclass(frozen=True)
class Accuracy:
    """What "as accurate" means: the axis scores are compared on.

    Attributes:
        axis: ``"rollout_l2"``: relative L2 over space and time of the scored window, mean over the trajectories
            (lower is better; smooth flows). ``"correlation_time"``: the median over the trajectories of the time
            until the vorticity correlation with the truth drops below ``threshold`` (Kochkov et al. 2021; higher
            is better; chaotic flows), censored at the window's end.
        threshold: the correlation level of ``correlation_time``.
    """

    axis: Literal["rollout_l2", "correlation_time"] = "rollout_l2"
    threshold: float = 0.95

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(
                f"accuracy must be one of {list(AXES)}, got {self.axis!r}: rollout_l2 (relative L2 over the window, "
                "for smooth flows) or correlation_time (time until the correlation with the truth drops below "
                "a threshold, for chaotic flows)."
            )
        number = isinstance(self.threshold, int | float) and not isinstance(self.threshold, bool)
        if not number or not -1 < self.threshold < 1:
            raise ValueError(
                f"The correlation threshold must be a number strictly between -1 and 1 (Kochkov et al.: 0.95), got "
                f"{self.threshold!r}."
            )

    @property
    def higher_is_better(self) -> bool:
        return self.axis == "correlation_time"

    @property
    def label(self) -> str:
        if self.axis == "rollout_l2":
            return "rollout relative L2 over the scored window, mean over the trajectories (lower is better)"
        return (
            f"time until the vorticity correlation with the truth drops below {self.threshold:g}, median over the "
            "trajectories (higher is better; ≥: censored at the window's end)"
        )

    def as_accurate(self, value: float, reference: float) -> bool:
        """Whether a score ``value`` is at least as accurate as ``reference`` on this axis."""
        return value >= reference if self.higher_is_better else value <= reference

    def of(self, point: "WorkPrecisionPoint") -> float | None:
        """A sweep point's score on this axis (None if it has none)."""
        return point.relative_l2 if self.axis == "rollout_l2" else point.correlation_time

    def to_json(self) -> dict[str, Any]:
        return {"axis": self.axis, "threshold": self.threshold, "label": self.label}


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
        hyperviscosity: a closure's ν_h of ``solvers.NavierStokes2D`` (order ``hyperviscosity_order``), 0 for none.
    """

    scheme: str
    resolution: int
    dt: float | None
    cfl: float | None = None
    dtype: str = "float32"
    hyperviscosity: float = 0.0
    hyperviscosity_order: int = 2

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
        closure = ""
        if self.hyperviscosity:
            closure = f", hyperviscosity {self.hyperviscosity:.3g} (p={self.hyperviscosity_order})"
        return f"{self.scheme}, {self.resolution}², {step}, {self.dtype}{closure}"


@dataclass(frozen=True)
class WorkPrecisionPoint:
    """A setting's outcome: its error against the stored truth and its cost, or why it has none.

    Attributes:
        seconds_per_frame: wall time per trajectory and stored frame (the whole batch solved at once).
        relative_l2: relative L2 over space and time, mean over the trajectories (a model's ``rollout_l2``).
        failure: why the setting has no error or time (unstable, or over the time budget); None if it ran.
        correlation_time: the median over the trajectories of the time until the correlation with the truth drops
            below ``threshold`` (``metrics.correlation_time``), None if the setting did not run.
        correlation_censored: whether that median is censored at the window's end (the true one is at least it).
        threshold: the correlation level.
    """

    setting: SolverSetting
    seconds_per_frame: float | None
    relative_l2: float | None
    failure: str | None = None
    correlation_time: float | None = None
    correlation_censored: bool | None = None
    threshold: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.setting), "label": self.setting.label, **_outcome(self)}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> "WorkPrecisionPoint":
        fields = [field.name for field in dataclasses.fields(SolverSetting)]
        setting = SolverSetting(**{name: row[name] for name in fields if name in row})
        return cls(
            setting,
            row["seconds_per_frame"],
            row["relative_l2"],
            row["failure"],
            row.get("correlation_time"),
            row.get("correlation_censored"),
            row.get("threshold", 0.95),
        )


def _outcome(point: WorkPrecisionPoint) -> dict[str, Any]:
    return {
        "seconds_per_frame": point.seconds_per_frame,
        "relative_l2": point.relative_l2,
        "failure": point.failure,
        "correlation_time": point.correlation_time,
        "correlation_censored": point.correlation_censored,
        "threshold": point.threshold,
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
    from pdeops.data.datamodule import DEFAULT_SPLIT, split_trajectories

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
    - resolutions: a quarter of the stored resolution (at least 8), doubled up to the file's solve resolution; any
      list of even sizes otherwise (e.g. 32, 40, 48, 64, 80, 96, 128: the frontier of chaotic flows lies between
      the doublings);
    - dts: the file's dt doubled until it passes the interval between frames, so the largest stable ones sit near
      the scheme's stability limit (unstable ones are reported as such);
    - cfls: adaptive steps at these CFL targets (none with ``cfls=()``);
    - dtypes: ``float32`` and/or ``float64``.

    Raises:
        ValueError: an odd or too small resolution (the 2/3 rule and the real FFT's Nyquist mode want even sizes).
    """
    odd = [n for n in resolutions or () if int(n) != n or n < 4 or n % 2]
    if odd:
        raise ValueError(
            f"Solve grids must be even sizes of at least 4 points per axis, got {odd}; e.g. 32, 40, 48, 64, 96."
        )
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
    threshold: float = 0.95,
) -> list[WorkPrecisionPoint]:
    """Run every setting from the stored start frames and score it against the stored frames that follow.

    Args:
        truth: from ``truth_from_file``.
        settings: from ``default_settings`` or built by hand.
        device: where the solver runs (and is timed).
        max_seconds: a setting whose estimated run time (from a few timed steps) exceeds this is skipped and
            reported as such, so that a sweep over small dts at high resolution stays affordable.
        progress: called as ``progress(i, n, setting)`` before each setting.
        threshold: the correlation level of each point's ``correlation_time``.

    Returns:
        One point per setting, in the order given.
    """
    settings = list(settings)
    points = []
    for i, setting in enumerate(settings):
        if progress is not None:
            progress(i, len(settings), setting)
        points.append(run_setting(truth, setting, device=device, max_seconds=max_seconds, threshold=threshold)[0])
    return points


def run_setting(
    truth: StoredTruth,
    setting: SolverSetting,
    *,
    device: str = "cpu",
    max_seconds: float = math.inf,
    threshold: float = 0.95,
) -> tuple[WorkPrecisionPoint, Tensor | None]:
    """One setting from the stored start frames, scored against the stored frames that follow and timed warm (one
    short solve first: kernels, FFT plans, cached coefficients), the whole batch at once.

    Returns:
        The point, and the solution on the stored grid ``(N, T, *S)`` float64 (None if it did not run).
    """
    resolved = truth.resolved
    stored = Grid(truth.frames.shape[2:], resolved.recipe.length)
    shape = (setting.resolution,) * stored.ndim
    grid = Grid(shape, resolved.recipe.length, dtype=getattr(torch, setting.dtype), device=device)
    options: dict[str, Any] = {"scheme": setting.scheme, "dt": setting.dt}
    if setting.cfl is not None:
        options["cfl"] = setting.cfl
    if setting.hyperviscosity:  # the Navier–Stokes recipes' builders hand their options on to NavierStokes2D
        options.update(hyperviscosity=setting.hyperviscosity, hyperviscosity_order=setting.hyperviscosity_order)
    setup = build_setup(resolved, grid, **options)
    u0 = stored.resample(truth.frames[:, 0], shape).to(device=device, dtype=grid.dtype)
    times = [0.0, *truth.lead_times]
    frames = len(truth.lead_times) * len(u0)
    try:
        estimate = _estimate_seconds(setup.solve, u0, setting, times)
        if estimate > max_seconds:
            skipped = f"skipped: estimated {estimate:.0f} s > {max_seconds:g} s"
            return WorkPrecisionPoint(setting, None, None, skipped, threshold=threshold), None
        synchronize(grid.device)
        start = time.perf_counter()
        solved = setup.solve(u0, times)
        synchronize(grid.device)
        seconds = time.perf_counter() - start
    except SolverInstabilityError as instability:
        return WorkPrecisionPoint(setting, None, None, f"unstable: {instability}", threshold=threshold), None
    pred = Grid(shape, resolved.recipe.length).resample(solved[:, 1:].cpu().to(torch.float64), stored.shape)
    error = float(relative_lp_window(pred[:, :, None], truth.frames[:, 1:, None]).mean())
    if not math.isfinite(error):
        unstable = "unstable: non-finite error"
        return WorkPrecisionPoint(setting, seconds / frames, None, unstable, threshold=threshold), None
    lead = torch.tensor(truth.lead_times, dtype=torch.float64)
    median, censored = censored_median(*correlation_time(pred[:, :, None], truth.frames[:, 1:, None], lead, threshold))
    return WorkPrecisionPoint(setting, seconds / frames, error, None, median, censored, threshold), pred


def _estimate_seconds(solve: Callable[..., Tensor], u0: Tensor, setting: SolverSetting, times: list[float]) -> float:
    """Seconds for the whole run, from ``PROBE_STEPS`` timed steps (fixed dt; adaptive steps are not estimated),
    after a warm-up step (kernels, FFT plans, cached coefficients), which every setting gets."""
    first = setting.dt if setting.dt is not None else min(b - a for a, b in zip(times, times[1:], strict=False))
    solve(u0, [0.0, first])  # warm-up
    synchronize(u0.device)
    if setting.dt is None:
        return 0.0
    start = time.perf_counter()
    solve(u0, [0.0, PROBE_STEPS * setting.dt])
    synchronize(u0.device)
    per_step = (time.perf_counter() - start) / PROBE_STEPS
    return per_step * math.ceil(times[-1] / setting.dt)


def cheapest_at_accuracy(
    points: Iterable[WorkPrecisionPoint], score: float, accuracy: Accuracy = Accuracy()
) -> WorkPrecisionPoint | None:
    """The fastest setting at least as accurate as ``score`` on the ``accuracy`` axis (a relative L2 at most it, or a
    correlation time at least it); None if no setting that ran is that accurate."""
    accurate = [
        p
        for p in points
        if (value := accuracy.of(p)) is not None
        and p.seconds_per_frame is not None
        and accuracy.as_accurate(value, score)
    ]
    return min(accurate, key=lambda p: p.seconds_per_frame or math.inf, default=None)


def pareto_front(points: Iterable[WorkPrecisionPoint], accuracy: Accuracy = Accuracy()) -> list[WorkPrecisionPoint]:
    """The settings no other setting beats in both time and accuracy (on the ``accuracy`` axis), fastest first."""
    sign = -1.0 if accuracy.higher_is_better else 1.0  # lower is better after the sign
    ran = sorted(
        (p for p in points if accuracy.of(p) is not None and p.seconds_per_frame is not None),
        key=lambda p: (p.seconds_per_frame, sign * accuracy.of(p)),  # type: ignore[operator]
    )
    front: list[WorkPrecisionPoint] = []
    for point in ran:
        if not front or sign * accuracy.of(point) < sign * accuracy.of(front[-1]):  # type: ignore[operator]
            front.append(point)
    return front


def equal_accuracy(
    points: Sequence[WorkPrecisionPoint],
    model_score: float,
    model_seconds_per_frame: float,
    accuracy: Accuracy = Accuracy(),
) -> dict[str, Any]:
    """The model's speed-up over the cheapest solver setting at least as accurate on the ``accuracy`` axis (None if
    no setting is)."""
    match = cheapest_at_accuracy(points, model_score, accuracy)
    return {
        "accuracy": accuracy.to_json(),
        "model_score": model_score,
        "model_seconds_per_frame": model_seconds_per_frame,
        "solver": None if match is None else match.to_json(),
        "speedup": None if match is None else match.seconds_per_frame / model_seconds_per_frame,  # type: ignore[operator]
        "settings_tried": len(points),
        "settings_ran": sum(accuracy.of(p) is not None for p in points),
    }


def write_sweep(
    points: Sequence[WorkPrecisionPoint], out: Path, *, title: str, device: str, accuracy: Accuracy = Accuracy()
) -> None:
    """``work_precision.json``, ``.md`` and ``work_precision.png`` in ``out`` (each written atomically; ``read_sweep``
    reads the first back); the Pareto front on the ``accuracy`` axis."""
    from pdeops.evaluation import plots

    out.mkdir(parents=True, exist_ok=True)
    front = {id(p) for p in pareto_front(points, accuracy)}
    rows = [{**p.to_json(), "pareto": id(p) in front} for p in points]
    content = {"title": title, "device": device, "accuracy": accuracy.to_json(), "points": rows}
    write_text_atomic(out / "work_precision.json", json.dumps(content, indent=1))
    write_text_atomic(out / "work_precision.md", markdown_table(points, title=title, device=device, accuracy=accuracy))
    plots.plot_work_precision(points, out / "work_precision.png", title=title)


def read_sweep(path: Path) -> list[WorkPrecisionPoint]:
    """The points of a ``work_precision.json``."""
    return [WorkPrecisionPoint.from_json(row) for row in json.loads(path.read_text())["points"]]


def markdown_table(
    points: Sequence[WorkPrecisionPoint], *, title: str, device: str, accuracy: Accuracy = Accuracy()
) -> str:
    """The sweep as a Markdown table, settings on the Pareto front of the ``accuracy`` axis marked ★, fastest
    first."""
    front = {id(p) for p in pareto_front(points, accuracy)}
    ordered = sorted(points, key=lambda p: (p.seconds_per_frame is None, p.seconds_per_frame or 0.0))
    threshold = points[0].threshold if points else accuracy.threshold
    lines = [
        f"# Work–precision: {title}",
        "",
        f"Device {device}. Error: relative L2 over space and time against the stored frames, mean over the "
        f"trajectories; correlation time: median over the trajectories of the time until the correlation with the "
        f"stored frames drops below {threshold:g} (≥: censored at the window's end); time: wall-clock per trajectory "
        f"and frame, warm, the batch solved at once. ★: on the Pareto front of time and {accuracy.axis}.",
        "",
        f"| setting | ms / frame | rel. L2 | time to corr. < {threshold:g} | |",
        "|---|---|---|---|---|",
    ]
    for p in ordered:
        ms = "–" if p.seconds_per_frame is None else f"{1e3 * p.seconds_per_frame:.3g}"
        error = p.failure.split(":")[0] if p.relative_l2 is None and p.failure else f"{p.relative_l2:.3g}"
        lines.append(f"| {p.setting.label} | {ms} | {error} | {censored_cell(p)} | {'★' if id(p) in front else ''} |")
    return "\n".join(lines) + "\n"


def censored_cell(point: WorkPrecisionPoint) -> str:
    """A point's correlation time as a table cell: ``≥ t`` when censored at the window's end, ``–`` when none."""
    if point.correlation_time is None:
        return "–"
    return ("≥ " if point.correlation_censored else "") + f"{point.correlation_time:.3g}"
