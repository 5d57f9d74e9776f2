"""The evaluation figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend).

- ``plot_snapshots``: truth, prediction and their difference for one trajectory at a few steps.
- ``plot_error_vs_time``: relative L2 error and correlation per step, model against persistence.
- ``plot_spectra``: energy spectra at the last step, truth against the predictions.
- ``plot_benchmark_errors``, ``plot_pareto``: a benchmark's error per step and its error against cost.

Values may be None (a non-finite number in a JSON report); they are drawn as gaps.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=120)


def _values(values: Sequence[float | None]) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None becomes nan: a gap in the line


def plot_snapshots(
    truth: np.ndarray, prediction: np.ndarray, lead: np.ndarray, steps: Sequence[int], field: str, path: Path
) -> None:
    """Rows truth, prediction and prediction − truth; one column per step.

    Args:
        truth: one channel of one trajectory, ``(T, n_x[, n_y])``.
        prediction: the same shape.
        lead: ``(T,)`` times since the last input frame.
        steps: 1-based steps to show.
        field: the field's name, for the title.
        path: the PNG to write.
    """
    figure = Figure(figsize=(3 * len(steps), 8.4), layout="constrained")
    axes = figure.subplots(3, len(steps), squeeze=False)
    limit = float(np.abs(truth).max()) or 1.0
    error = prediction - truth
    error_limit = float(np.abs(error[[step - 1 for step in steps]]).max()) or 1.0
    for column, step in enumerate(steps):
        rows = ((truth, limit, "truth"), (prediction, limit, "prediction"), (error, error_limit, "error"))
        for row, (frames, scale, label) in enumerate(rows):
            ax = axes[row, column]
            _draw_field(figure, ax, frames[step - 1], scale)
            ax.set_title(f"{label}, step {step} (t + {lead[step - 1]:.3g})", fontsize=9)
    figure.suptitle(f"{field}: one test trajectory")
    _save(figure, path)


def _draw_field(figure: Figure, ax: Axes, frame: np.ndarray, scale: float) -> None:
    """A 2-D frame as an image (x to the right, y up), a 1-D frame as a line."""
    if frame.ndim == 1:
        ax.plot(frame)
        ax.set_ylim(-1.05 * scale, 1.05 * scale)
        return
    image = ax.imshow(frame.T, origin="lower", cmap="RdBu_r", vmin=-scale, vmax=scale)
    ax.set_xticks([])
    ax.set_yticks([])
    figure.colorbar(image, ax=ax, shrink=0.8)


def plot_error_vs_time(lead: np.ndarray, scores: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """Relative L2 error and correlation per step (sample means), one line per method.

    Args:
        lead: ``(T,)`` times since the last input frame.
        scores: per method (e.g. ``model``, ``persistence``), its report entry with ``relative_l2`` and
            ``correlation``, each holding ``per_step_mean`` ``(T,)``.
        path: the PNG to write.
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    error_ax, correlation_ax = figure.subplots(1, 2)
    for name, entry in scores.items():
        error_ax.plot(lead, _values(entry["relative_l2"]["per_step_mean"]), marker="o", markersize=3, label=name)
        correlation_ax.plot(lead, _values(entry["correlation"]["per_step_mean"]), marker="o", markersize=3, label=name)
    error_ax.set(xlabel="time since the last input frame", ylabel="relative L2 error (mean)", yscale="log")
    correlation_ax.set(xlabel="time since the last input frame", ylabel="vorticity correlation (mean)")
    for level in (0.95, 0.8):
        correlation_ax.axhline(level, color="gray", linewidth=0.8, linestyle="--")
    error_ax.legend()
    correlation_ax.legend()
    _save(figure, path)


def plot_spectra(k: np.ndarray, spectra: Mapping[str, Sequence[float | None]], time: float, path: Path) -> None:
    """Energy spectra ``E(k)`` (sample means), log-log, without the ``k = 0`` shell.

    Args:
        k: ``(K,)`` shell wavenumbers.
        spectra: per label (``truth``, ``model``, ...), a spectrum ``(K,)``.
        time: the time since the last input frame the spectra are taken at, for the title.
        path: the PNG to write.
    """
    figure = Figure(figsize=(5.5, 4), layout="constrained")
    ax = figure.subplots()
    for label, spectrum in spectra.items():
        ax.loglog(k[1:], _values(spectrum)[1:], label=label, linestyle="-" if label == "truth" else "--")
    ax.set(xlabel="wavenumber k (shells of 2π/L)", ylabel="E(k)", title=f"energy spectra at t + {time:.3g}")
    ax.legend()
    _save(figure, path)


def plot_benchmark_errors(board: Mapping[str, Any], path: Path) -> None:
    """A benchmark's relative L2 error per rollout step, one line per model (mean over seeds, ± std shaded)."""
    figure = Figure(figsize=(6.5, 4.2))
    axis = figure.add_subplot()
    for model, row in board["rows"].items():
        curve = row.get("l2_per_step")
        if not curve:
            continue
        mean, std = _values(curve["mean"]), _values(curve["std"])
        steps = np.arange(1, len(mean) + 1)
        (line,) = axis.plot(steps, mean, label=model, linestyle="--" if model in ("persistence", "solver") else "-")
        axis.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    axis.set(xlabel="rollout step", ylabel="relative L2 error", yscale="log", title=f"{board['suite']}: error per step")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)


def plot_pareto(board: Mapping[str, Any], path: Path) -> None:
    """Rollout error against inference cost (ms per frame), marker area by parameter count, one point per model."""
    figure = Figure(figsize=(6.5, 4.2))
    axis = figure.add_subplot()
    for model, row in board["rows"].items():
        error, speed = row.get("rollout_l2"), row.get("frames_per_second")
        if not error or not speed or not speed["mean"]:
            continue
        parameters = (row.get("parameters") or {}).get("mean", 0.0)
        size = 20 + 200 * np.sqrt(parameters / 1e6)
        axis.scatter(1000 / speed["mean"], error["mean"], s=size, alpha=0.7)
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
