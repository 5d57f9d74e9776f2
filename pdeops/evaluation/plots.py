"""The evaluation figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend).

- ``plot_snapshots``: truth, prediction and their difference for one trajectory at a few steps, every channel.
- ``plot_trajectories``: the same for several trajectories at one step.
- ``animate_rollout``: truth | prediction | error of one trajectory, step by step, as a GIF or an MP4.
- ``plot_error_vs_time``: relative L2 error and correlation per step, model against persistence.
- ``plot_spectra``: energy spectra at the last step, truth against the predictions.
- ``plot_benchmark_errors``, ``plot_pareto``: a benchmark's error per step and its accuracy against cost
  (``plot_correlation_pareto`` on the correlation-time axis: time to decorrelation, the solver ladder's front).

Fields are drawn on their spatial coordinates (``SpatialAxes``): 2-D fields as images with x to the right and y up,
1-D fields as lines, 3-D fields as their middle slice along the last axis. Truth and prediction share one colour
scale per channel (diverging and centred on 0 when the truth changes sign); the error has its own, centred on 0.
Colour bars and axes name the field (``FieldLabel``: its long name and units where the file gives them). A model
has the same colour in every figure (``line_colours``: truth, persistence and the solver have fixed ones).
Every file is written under a temporary name and then renamed, so a figure on disk is never half-written.

Values may be None (a non-finite number in a JSON report); they are drawn as gaps.
"""

import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import animation, colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

ANIMATION_FORMATS = ("gif", "mp4")
MAX_ANIMATION_FRAMES = 100
"""Longer rollouts are animated at every k-th step, to keep the file small enough to embed in ``report.html``."""


def _save(figure: Figure, path: Path) -> None:
    """Write ``figure`` as a PNG, atomically."""
    FigureCanvasAgg(figure)
    temporary = path.with_name(f".{path.name}.partial")
    figure.savefig(temporary, dpi=120, format="png")
    os.replace(temporary, path)


def _values(values: Sequence[float | None]) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None becomes nan: a gap in the line


FIXED_COLOURS = {"truth": "black", "persistence": "tab:gray", "solver": "tab:brown"}
"""The colours of the lines that are not models, the same in every figure."""
PALETTE = (
    *("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:pink", "tab:olive", "tab:cyan"),
    *("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#f7b6d2", "#dbdb8d", "#9edae5"),
)
"""The models' colours: tab10 without its gray and brown (persistence, solver), then tab20's light shades."""


def line_colours(names: Iterable[str]) -> dict[str, str]:
    """A colour per name that does not depend on the figure: ``FIXED_COLOURS`` for truth, persistence and the
    solver; for a model, the ``PALETTE`` entry its name's CRC-32 picks, so that a model keeps its colour across
    figures and runs. Two names of one call that pick the same entry get distinct ones (the later in sorted order
    moves to the next free entry), so give every figure of a set the same names (e.g. all of a leaderboard's rows).
    """
    colours: dict[str, str] = {}
    taken: set[int] = set()
    for name in sorted(set(names)):
        if name in FIXED_COLOURS:
            colours[name] = FIXED_COLOURS[name]
            continue
        slot = zlib.crc32(name.encode()) % len(PALETTE)
        for offset in range(len(PALETTE)):  # more models than colours: the palette repeats
            if (slot + offset) % len(PALETTE) not in taken:
                slot = (slot + offset) % len(PALETTE)
                break
        taken.add(slot)
        colours[name] = PALETTE[slot]
    return colours


@dataclass(frozen=True)
class FieldLabel:
    """How a field is named in figures.

    Args:
        name: the variable's name in the file (``vorticity``), for panel titles.
        long_name: its CF ``long_name``, for colour bars and axes; None: the name.
        units: its CF ``units``; None (or ``"1"``, dimensionless): no units shown.
    """

    name: str
    long_name: str | None = None
    units: str | None = None

    def label(self, prefix: str = "") -> str:
        """``"<prefix><long name> [units]"``, e.g. ``label("error in ")``."""
        text = prefix + (self.long_name or self.name)
        return f"{text} [{self.units}]" if self.units and self.units != "1" else text


def _field_labels(fields: Sequence["str | FieldLabel"]) -> list[FieldLabel]:
    return [field if isinstance(field, FieldLabel) else FieldLabel(field) for field in fields]


def _fields_phrase(fields: Sequence[FieldLabel]) -> str:
    """The fields a score is taken over, for an axis label: ``" of vorticity"``; nothing without fields."""
    return f" of {', '.join(field.long_name or field.name for field in fields)}" if fields else ""


def counted(n: int, one: str, many: str) -> str:
    """``n`` things, the word agreeing: ``counted(1, "trajectory", "trajectories")`` is ``"1 trajectory"``."""
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class SpatialAxes:
    """The coordinates of a field's spatial axes, for ticks and labels.

    Args:
        names: the axes' names, e.g. ``("x", "y")``.
        values: per axis, its evenly spaced coordinates ``(n_i,)``.
        units: per axis, its units (None: unknown, and none is shown).
    """

    names: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    units: tuple[str | None, ...]

    def label(self, axis: int) -> str:
        units = self.units[axis]
        return f"{self.names[axis]} [{units}]" if units else self.names[axis]

    def extent(self, axis: int) -> tuple[float, float]:
        """The span from the first cell's edge to the last's (an image's pixels are centred on the points)."""
        values = self.values[axis]
        half = 0.5 * float(values[1] - values[0]) if len(values) > 1 else 0.5
        return float(values[0]) - half, float(values[-1]) + half

    @classmethod
    def indices(cls, shape: Sequence[int], names: Sequence[str] | None = None) -> "SpatialAxes":
        """Grid indices as coordinates, for data without any."""
        names = tuple(names or ("x", "y", "z")[: len(shape)])
        return cls(names, tuple(np.arange(n, dtype=np.float64) for n in shape), (None,) * len(shape))


@dataclass(frozen=True)
class _Scale:
    """A colour scale (for 1-D fields, the y-axis limits): a colour map and its limits."""

    cmap: str
    low: float
    high: float


def _field_scale(frames: np.ndarray) -> _Scale:
    """Diverging and centred on 0 when ``frames`` change sign (vorticity), sequential otherwise (a density)."""
    finite = frames[np.isfinite(frames)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if low < 0 < high:
        limit = max(-low, high)
        return _Scale("RdBu_r", -limit, limit)
    if low == high:
        low, high = low - 1.0, high + 1.0
    return _Scale("viridis", low, high)


def _error_scale(errors: np.ndarray) -> _Scale:
    finite = np.abs(errors[np.isfinite(errors)])
    limit = (float(finite.max()) if finite.size else 0.0) or 1.0
    return _Scale("RdBu_r", -limit, limit)


def _plane(frame: np.ndarray) -> np.ndarray:
    """A 1-D or 2-D frame as it is; a 3-D one as its middle slice along the last axis."""
    return frame[..., frame.shape[-1] // 2] if frame.ndim == 3 else frame


def _slice_note(axes: SpatialAxes) -> str:
    if len(axes.names) < 3:
        return ""
    values = axes.values[2]
    return f" (3-D: the slice {axes.names[2]} = {values[len(values) // 2]:.3g})"


def _draw_field(ax: Axes, frame: np.ndarray, scale: _Scale, axes: SpatialAxes) -> Artist:
    """One frame on its coordinates: a 2-D (or sliced 3-D) frame as an image, a 1-D frame as a line. Returns the
    image or line, whose data an animation replaces."""
    frame = _plane(frame)
    ax.set_xlabel(axes.label(0), fontsize=8)
    ax.tick_params(labelsize=7)
    if frame.ndim == 1:
        (line,) = ax.plot(axes.values[0], frame, linewidth=1)
        ax.set_xlim(axes.extent(0))
        margin = 0.05 * (scale.high - scale.low)
        ax.set_ylim(scale.low - margin, scale.high + margin)
        return line
    image = ax.imshow(
        frame.T,  # (n_x, n_y): rows are y
        origin="lower",
        extent=(*axes.extent(0), *axes.extent(1)),
        cmap=scale.cmap,
        vmin=scale.low,
        vmax=scale.high,
        interpolation="nearest",
    )
    ax.set_ylabel(axes.label(1), fontsize=8)
    return image


def _colorbar(figure: Figure, artist: Artist, beside: Any, label: str) -> None:
    """One colour bar, labelled, for the panels ``beside`` (an array of axes) that share ``artist``'s scale; for
    lines (1-D fields) none, and ``label`` names their y-axes instead."""
    if isinstance(artist, AxesImage):
        colorbar = figure.colorbar(artist, ax=list(np.ravel(beside)), shrink=0.9)
        colorbar.set_label(label, fontsize=8)
        colorbar.ax.tick_params(labelsize=7)
    else:
        for ax in np.ravel(beside):
            ax.set_ylabel(label, fontsize=8)


def _which(sample: int | None) -> str:
    return "a test trajectory" if sample is None else f"test trajectory {sample}"


def plot_snapshots(
    truth: np.ndarray,
    prediction: np.ndarray,
    lead: np.ndarray,
    steps: Sequence[int],
    fields: Sequence[str | FieldLabel],
    axes: SpatialAxes,
    path: Path,
    *,
    sample: int | None = None,
) -> Figure:
    """For each channel, rows truth, prediction and prediction − truth; one column per step.

    Args:
        truth: one trajectory, ``(T, C, *S)``.
        prediction: the same shape.
        lead: ``(T,)`` times since the last input frame.
        steps: 1-based steps to show.
        fields: the ``C`` channels' names, or their ``FieldLabel`` s (long names and units for the colour bars).
        axes: the coordinates of ``S``.
        path: the PNG to write.
        sample: the trajectory's index in the data file, for the title.

    Returns:
        The figure, as written.
    """
    shown = [step - 1 for step in steps]
    labels = _field_labels(fields)
    figure = Figure(figsize=(3.4 * len(shown), 2.8 * 3 * len(fields)), layout="constrained")
    grid = figure.subplots(3 * len(fields), len(shown), squeeze=False)
    for channel, field in enumerate(labels):
        error = prediction[:, channel] - truth[:, channel]
        scale = _field_scale(truth[shown, channel])
        rows = (
            (truth[:, channel], "truth", scale),
            (prediction[:, channel], "prediction", scale),
            (error, "error", _error_scale(error[shown])),
        )
        for row, (frames, label, row_scale) in enumerate(rows):
            for column, index in enumerate(shown):
                ax = grid[3 * channel + row, column]
                artist = _draw_field(ax, frames[index], row_scale, axes)
                ax.set_title(f"{field.name} {label}, step {index + 1} (t + {lead[index]:.3g})", fontsize=8)
            if row == 1:  # truth and prediction share one colour bar
                _colorbar(figure, artist, grid[3 * channel : 3 * channel + 2], field.label())
            elif row == 2:
                _colorbar(figure, artist, grid[3 * channel + 2], field.label("error in "))
    figure.suptitle(f"{', '.join(field.name for field in labels)}: {_which(sample)}{_slice_note(axes)}")
    _save(figure, path)
    return figure


def plot_trajectories(
    truth: np.ndarray,
    prediction: np.ndarray,
    samples: Sequence[int],
    step: int,
    lead_time: float,
    fields: Sequence[str | FieldLabel],
    axes: SpatialAxes,
    path: Path,
) -> Figure:
    """One row per trajectory; for each channel, columns truth, prediction and prediction − truth at one step.

    Args:
        truth: the frames at ``step`` of several trajectories, ``(N, C, *S)``.
        prediction: the same shape.
        samples: the ``N`` trajectories' indices in the data file.
        step: the 1-based step shown.
        lead_time: its time since the last input frame.
        fields: the ``C`` channels' names, or their ``FieldLabel`` s.
        axes: the coordinates of ``S``.
        path: the PNG to write.

    Returns:
        The figure, as written.
    """
    labels = _field_labels(fields)
    figure = Figure(figsize=(3.4 * 3 * len(fields), 2.8 * len(samples)), layout="constrained")
    grid = figure.subplots(len(samples), 3 * len(fields), squeeze=False)
    for channel, field in enumerate(labels):
        error = prediction[:, channel] - truth[:, channel]
        scale = _field_scale(truth[:, channel])
        panels = (
            (truth[:, channel], "truth", scale),
            (prediction[:, channel], "prediction", scale),
            (error, "error", _error_scale(error)),
        )
        for column, (frames, label, panel_scale) in enumerate(panels):
            for row, sample in enumerate(samples):
                ax = grid[row, 3 * channel + column]
                artist = _draw_field(ax, frames[row], panel_scale, axes)
                ax.set_title(f"trajectory {sample}: {field.name} {label}", fontsize=8)
            if column == 1:  # truth and prediction share one colour bar
                _colorbar(figure, artist, grid[:, 3 * channel : 3 * channel + 2], field.label())
            elif column == 2:
                _colorbar(figure, artist, grid[:, 3 * channel + 2], field.label("error in "))
    shown = counted(len(samples), "test trajectory", "test trajectories")
    figure.suptitle(f"{shown} at step {step} (t + {lead_time:.3g}){_slice_note(axes)}")
    _save(figure, path)
    return figure


def animation_available(kind: str) -> bool:
    """Whether this machine can write an animation of ``kind`` (``gif``: pillow, which matplotlib depends on;
    ``mp4``: an ``ffmpeg`` executable on PATH)."""
    return animation.writers.is_available({"gif": "pillow", "mp4": "ffmpeg"}[kind])


def animate_rollout(
    truth: np.ndarray,
    prediction: np.ndarray,
    lead: np.ndarray,
    fields: Sequence[str | FieldLabel],
    axes: SpatialAxes,
    path: Path,
    *,
    sample: int | None = None,
    fps: int = 4,
) -> None:
    """An animation of one trajectory: for each channel a row truth | prediction | error, one frame per step.

    The colour scales are fixed over the whole rollout, so a growing error shows as deepening colour. A rollout of
    more than ``MAX_ANIMATION_FRAMES`` steps is shown at every k-th step.

    Args:
        truth: one trajectory, ``(T, C, *S)``.
        prediction: the same shape.
        lead: ``(T,)`` times since the last input frame.
        fields: the ``C`` channels' names, or their ``FieldLabel`` s.
        axes: the coordinates of ``S``.
        path: the file to write; its suffix, ``.gif`` or ``.mp4``, picks the format.
        sample: the trajectory's index in the data file, for the title.
        fps: frames per second.

    Raises:
        ValueError: another suffix, or MP4 without ffmpeg.
    """
    kind = path.suffix.lstrip(".")
    if kind not in ANIMATION_FORMATS:
        raise ValueError(f"An animation is written as .gif or .mp4, got {path.name}.")
    if not animation_available(kind):
        raise ValueError("An MP4 animation needs ffmpeg on PATH (e.g. apt-get install ffmpeg); or animate as gif.")
    error = prediction - truth
    figure = Figure(figsize=(11, 3.2 * len(fields)), layout="constrained")
    grid = figure.subplots(len(fields), 3, squeeze=False)
    artists: list[tuple[Any, np.ndarray]] = []
    for channel, field in enumerate(_field_labels(fields)):
        scale = _field_scale(truth[:, channel])
        panels = (
            (truth[:, channel], "truth", scale),
            (prediction[:, channel], "prediction", scale),
            (error[:, channel], "error", _error_scale(error[:, channel])),
        )
        for column, (frames, label, panel_scale) in enumerate(panels):
            artist = _draw_field(grid[channel, column], frames[0], panel_scale, axes)
            artists.append((artist, frames))
            grid[channel, column].set_title(f"{field.name} {label}", fontsize=9)
            if column == 1:  # truth and prediction share one colour bar
                _colorbar(figure, artist, grid[channel, :2], field.label())
            elif column == 2:
                _colorbar(figure, artist, grid[channel, 2], field.label("error in "))
    title = figure.suptitle("")
    writer = animation.PillowWriter(fps=fps) if kind == "gif" else animation.FFMpegWriter(fps=fps)
    FigureCanvasAgg(figure)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")  # the writers choose the format by suffix
    stride = -(-len(lead) // MAX_ANIMATION_FRAMES)
    with writer.saving(figure, str(temporary), dpi=80):
        for index in range(0, len(lead), stride):
            for artist, frames in artists:
                frame = _plane(frames[index])
                if frame.ndim == 1:
                    artist.set_ydata(frame)
                else:
                    artist.set_data(frame.T)
            title.set_text(f"{_which(sample)}{_slice_note(axes)}: step {index + 1} (t + {lead[index]:.3g})")
            writer.grab_frame()
    os.replace(temporary, path)


def plot_error_vs_time(
    lead: np.ndarray,
    scores: Mapping[str, Mapping[str, Any]],
    path: Path,
    *,
    fields: Sequence[str | FieldLabel] = (),
) -> Figure:
    """Relative L2 error and correlation per step (sample means), one line per method.

    Args:
        lead: ``(T,)`` times since the last input frame.
        scores: per method (e.g. ``model``, ``persistence``), its report entry with ``relative_l2`` and
            ``correlation``, each holding ``per_step_mean`` ``(T,)``.
        path: the PNG to write.
        fields: the fields both scores are taken over (all channels at once), for the axis labels.

    Returns:
        The figure, as written.
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    error_ax, correlation_ax = figure.subplots(1, 2)
    colours = line_colours(scores)
    for name, entry in scores.items():
        style = {"marker": "o", "markersize": 3, "label": name, "color": colours[name]}
        error_ax.plot(lead, _values(entry["relative_l2"]["per_step_mean"]), **style)
        correlation_ax.plot(lead, _values(entry["correlation"]["per_step_mean"]), **style)
    of = _fields_phrase(_field_labels(fields))
    error_ax.set(xlabel="time since the last input frame", ylabel=f"relative L2 error{of} (mean)", yscale="log")
    correlation_ax.set(xlabel="time since the last input frame", ylabel=f"correlation{of} (mean)")
    for level in (0.95, 0.8):
        correlation_ax.axhline(level, color="gray", linewidth=0.8, linestyle="--")
    error_ax.legend()
    correlation_ax.legend()
    _save(figure, path)
    return figure


def plot_spectra(k: np.ndarray, spectra: Mapping[str, Sequence[float | None]], time: float, path: Path) -> Figure:
    """Energy spectra ``E(k)`` (sample means), log-log, without the ``k = 0`` shell.

    Args:
        k: ``(K,)`` shell wavenumbers.
        spectra: per label (``truth``, ``model``, ...), a spectrum ``(K,)``.
        time: the time since the last input frame the spectra are taken at, for the title.
        path: the PNG to write.

    Returns:
        The figure, as written.
    """
    figure = Figure(figsize=(5.5, 4), layout="constrained")
    ax = figure.subplots()
    colours = line_colours(spectra)
    for label, spectrum in spectra.items():
        style = "-" if label == "truth" else "--"
        ax.loglog(k[1:], _values(spectrum)[1:], label=label, linestyle=style, color=colours[label])
    ax.set(xlabel="wavenumber k (shells of 2π/L)", ylabel="E(k)", title=f"energy spectra at t + {time:.3g}")
    ax.legend()
    _save(figure, path)
    return figure


def plot_benchmark_errors(board: Mapping[str, Any], path: Path) -> Figure:
    """A benchmark's relative L2 error per rollout step, one line per model (mean over seeds, ± std shaded), each
    model in its ``line_colours`` colour (the same as in ``plot_pareto``); returns the figure, as written."""
    figure = Figure(figsize=(6.5, 4.2))
    axis = figure.add_subplot()
    colours = line_colours(board["rows"])
    for model, row in board["rows"].items():
        curve = row.get("l2_per_step")
        if not curve:
            continue
        mean, std = _values(curve["mean"]), _values(curve["std"])
        steps = np.arange(1, len(mean) + 1)
        style = "--" if model in FIXED_COLOURS else "-"
        axis.plot(steps, mean, label=model, linestyle=style, color=colours[model])
        axis.fill_between(steps, mean - std, mean + std, color=colours[model], alpha=0.2, linewidth=0)
    axis.set(xlabel="rollout step", ylabel="relative L2 error", yscale="log", title=f"{board['suite']}: error per step")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_pareto(board: Mapping[str, Any], path: Path, *, sweep: Sequence[Any] = ()) -> Figure:
    """A benchmark's accuracy against cost on its accuracy axis; returns the figure, as written.

    On the ``correlation_time`` axis this is ``plot_correlation_pareto`` (with the solver ladder ``sweep``). On
    ``rollout_l2`` (the default): rollout error against inference cost (ms per frame), marker area by parameter
    count, one point per model in its ``line_colours`` colour (the same as in ``plot_benchmark_errors``).
    """
    if (board.get("accuracy") or {}).get("axis") == "correlation_time":
        return plot_correlation_pareto(board, path, sweep=sweep)
    figure = Figure(figsize=(6.5, 4.2))
    axis = figure.add_subplot()
    colours = line_colours(board["rows"])
    for model, row in board["rows"].items():
        error, speed = row.get("rollout_l2"), row.get("frames_per_second")
        if not error or not speed or not speed["mean"]:
            continue
        parameters = (row.get("parameters") or {}).get("mean", 0.0)
        size = 20 + 200 * np.sqrt(parameters / 1e6)
        axis.scatter(1000 / speed["mean"], error["mean"], s=size, alpha=0.7, color=colours[model])
        axis.annotate(
            model, (1000 / speed["mean"], error["mean"]), fontsize=8, xytext=(4, 4), textcoords="offset points"
        )
    axis.set(
        xlabel="inference cost, ms per frame",
        ylabel="rollout relative L2 error",
        xscale="log",
        yscale="log",
        title=f"{board['suite']}: error against cost (marker area ~ parameters)",
    )
    axis.grid(alpha=0.3)
    figure.tight_layout()
    _save(figure, path)
    return figure


CLASSICAL_MARKERS = {"solver, stored grid": "s", "solver + hyperviscosity, stored grid": "D"}
"""The leaderboard's classical rows (the solver and the closure on the stored grid) and their markers in
``plot_correlation_pareto``; every other row with a cost is a model (a star)."""


def plot_correlation_pareto(board: Mapping[str, Any], path: Path, *, sweep: Sequence[Any] = ()) -> Figure:
    """Median time to decorrelation against cost per trajectory and time unit (log), Kochkov et al.'s (2021) figure
    of merit for chaotic flows, with the classical Pareto front.

    Each leaderboard row with a speed (test trajectories): the models as stars in their ``line_colours`` colours,
    with the spread over seeds as error bars, the solver and the closure on the stored grid as brown markers
    (``CLASSICAL_MARKERS``); a label with ``≥`` marks a correlation time censored at the window's end. The solver
    ladder (``sweep``: ``work_precision.WorkPrecisionPoint`` s of the benchmark's sweep, on the validation
    trajectories) as open circles, and its Pareto front (no setting both cheaper and longer correlated) as a dashed
    step line through the front's settings, labelled by grid and step: a model above it beats every classical
    setting swept at its cost.

    Args:
        board: a ``leaderboard`` on the ``correlation_time`` axis; ``board["frame_interval"]`` (time between
            stored frames) turns seconds per frame into seconds per time unit; without it the x axis is per frame.
        path: the PNG to write.
        sweep: the solver ladder (settings without a time or a correlation time are left out).
    """
    interval = board.get("frame_interval")
    per = 1.0 / interval if interval else 1.0  # frames per time unit
    unit = "time unit" if interval else "frame"
    figure = Figure(figsize=(7.2, 4.8))
    axis = figure.add_subplot()
    ladder = sorted(
        (1e3 * p.seconds_per_frame * per, p.correlation_time, p)
        for p in sweep
        if p.seconds_per_frame is not None and p.correlation_time is not None
    )
    if ladder:
        axis.scatter(
            [x for x, _, _ in ladder],
            [y for _, y, _ in ladder],
            marker="o",
            facecolor="none",
            edgecolor=FIXED_COLOURS["solver"],
            label="solver ladder (validation trajectories)",
        )
        front: list[tuple[float, float]] = []
        for x, y, point in ladder:  # cheapest first: a point joins the front when it is correlated longer
            if not front or y > front[-1][1]:
                front.append((x, y))
                step = f"dt {point.setting.dt:.2g}" if point.setting.dt is not None else f"cfl {point.setting.cfl:g}"
                axis.annotate(
                    f"{point.setting.resolution}², {step}", (x, y), fontsize=7, color=FIXED_COLOURS["solver"],
                    xytext=(3, -9), textcoords="offset points",
                )  # fmt: skip
        axis.step(
            [x for x, _ in front], [y for _, y in front], where="post", linestyle="--", linewidth=1,
            color=FIXED_COLOURS["solver"], label="classical Pareto front (ladder)",
        )  # fmt: skip
    colours = line_colours(board["rows"])
    for name, row in board["rows"].items():
        time, speed = row.get("correlation_time"), row.get("frames_per_second")
        if not time or not speed or not speed.get("mean"):
            continue
        x = 1e3 * per / speed["mean"]
        censored = "≥ " if row.get("correlation_time_censored_seeds") else ""
        classical = name in CLASSICAL_MARKERS
        axis.errorbar(
            x, time["mean"], yerr=time.get("std") or 0.0, fmt=CLASSICAL_MARKERS.get(name, "*"),
            markersize=8 if classical else 13, color=FIXED_COLOURS["solver"] if classical else colours[name],
            markeredgecolor="black", capsize=3, label=name,
        )  # fmt: skip
        axis.annotate(
            f"{name} ({censored}{time['mean']:.2g})", (x, time["mean"]), fontsize=8, xytext=(6, 4),
            textcoords="offset points",
        )  # fmt: skip
    axis.set(
        xlabel=f"cost, ms per trajectory and {unit} (wall clock, warm)",
        ylabel="time to correlation < threshold, median",
        xscale="log",
        title=f"{board['suite']}: time to decorrelation against cost",
    )
    threshold = (board.get("accuracy") or {}).get("threshold")
    if threshold is not None:
        axis.set_ylabel(f"time to vorticity correlation < {threshold:g}, median")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_work_precision(
    points: Sequence[Any], path: Path, *, title: str, models: Mapping[str, tuple[float, float]] | None = None
) -> None:
    """Solver error against wall time per frame, log–log: one line per (scheme, dtype, resolution) along its steps,
    in shades of the solver's brown; the models as stars in their ``line_colours`` colours.

    Args:
        points: ``work_precision.WorkPrecisionPoint`` s; those without an error (unstable, skipped) are left out.
        models: optional surrogates to mark, name → (seconds per frame, relative L2).
    """
    figure = Figure(figsize=(7, 4.6))
    axis = figure.add_subplot()
    families: dict[tuple[str, str, int, bool], list[Any]] = {}
    for point in points:
        if point.relative_l2 is not None and point.seconds_per_frame is not None:
            s = point.setting
            families.setdefault((s.scheme, s.dtype, s.resolution, s.dt is None), []).append(point)
    shades = colormaps["copper"](np.linspace(0.15, 0.8, max(len(families), 1)))  # the solver's browns
    for shade, ((scheme, dtype, resolution, adaptive), family) in zip(shades, sorted(families.items()), strict=False):
        family.sort(key=lambda p: p.seconds_per_frame)
        axis.plot(
            [1e3 * p.seconds_per_frame for p in family],
            [p.relative_l2 for p in family],
            marker="s" if adaptive else "o",
            linestyle=":" if adaptive else "-",
            color=shade,
            label=f"{scheme} {resolution}² {dtype}" + (" adaptive" if adaptive else ""),
        )
    colours = line_colours(models or {})
    for name, (seconds, error) in (models or {}).items():
        axis.scatter(1e3 * seconds, error, marker="*", s=160, color=colours[name], edgecolor="black", zorder=3)
        axis.annotate(name, (1e3 * seconds, error), fontsize=8, xytext=(5, 4), textcoords="offset points")
    axis.set(xlabel="wall time, ms per frame", ylabel="relative L2 error vs stored truth", xscale="log", yscale="log")
    axis.set_title(f"Work–precision: {title}", fontsize=10)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    _save(figure, path)
