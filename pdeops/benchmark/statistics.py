"""Seed statistics and tables: one home for every mean ± std, paired comparison and table pdeops prints.

- ``stat``: mean, sample standard deviation and count of per-seed values.
- ``paired_ratio``: two methods measured on the same seeds, A ÷ B seed by seed, with a 95 % confidence interval for
  the typical ratio: a paired t interval over the seeds on the log ratio (its geometric mean), and, when each seed's
  per-trajectory errors are given, a bootstrap over test trajectories × seeds. ``decided`` is True only when every
  interval computed excludes 1; with one seed (no interval) a comparison is never decided.
- ``cell``, ``markdown_table``, ``csv_table``: table cells (``mean ± std`` for a ``stat``) and whole tables.
"""

import csv
import io
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

CONFIDENCE = 0.95
"""The confidence level of every interval ``paired_ratio`` gives."""
BOOTSTRAP_RESAMPLES = 2000
"""Resamples of the bootstrap interval (fixed generator seed, so a table is reproducible)."""


def stat(values: Sequence[float]) -> dict[str, float]:
    """``{"mean", "std", "n"}`` of some numbers (std 0 for one; sample standard deviation otherwise).

    Raises:
        ValueError: no value.
    """
    numbers = [float(v) for v in values]
    if not numbers:
        raise ValueError("stat needs at least one value.")
    std = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    return {"mean": statistics.mean(numbers), "std": std, "n": len(numbers)}  # mean: exactly rounded


def paired_ratio(
    numerator: Mapping[Any, float],
    denominator: Mapping[Any, float],
    *,
    per_trajectory: tuple[Mapping[Any, Sequence[float]], Mapping[Any, Sequence[float]]] | None = None,
    reduce: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """``numerator[seed] / denominator[seed]`` over the seeds both have, with a 95 % confidence interval.

    Args:
        numerator, denominator: one positive value per seed (an error, or a time).
        per_trajectory: optionally, each seed's per-trajectory values behind ``numerator`` and ``denominator``
            (the same test trajectories, in the same order, for both), for the bootstrap interval.
        reduce: what makes a seed's value of its trajectories' (``(R, N) -> (R,)`` over the last axis), for the
            bootstrap; None: the mean.

    Returns:
        ``stat`` of the ratios (``mean``, ``std``, ``n`` seeds), ``below_one`` (the seeds where the ratio is below 1:
        for an error ratio, where the numerator's model is the more accurate; for a time ratio ``reference / model``,
        where the model is the slower), ``seeds`` (sorted) with their ``ratios``, ``geometric_mean`` (exp of the mean
        log ratio), ``ci95`` (the paired t interval of the geometric mean over the seeds; None for one seed),
        ``bootstrap_ci95`` (the interval over trajectories × seeds, resampled together; None without
        ``per_trajectory``) and ``decided`` (True when every interval given excludes 1).

    Raises:
        ValueError: no seed in common, or a ratio that is not positive and finite (no log).
    """
    seeds = sorted(set(numerator) & set(denominator))
    if not seeds:
        raise ValueError(f"no seed in common: {sorted(numerator)} against {sorted(denominator)}.")
    ratios = [numerator[s] / denominator[s] for s in seeds]
    if not all(math.isfinite(r) and r > 0 for r in ratios):
        raise ValueError(f"paired ratios need positive finite values on both sides, got ratios {ratios}.")
    logs = [math.log(r) for r in ratios]
    t_interval = _t_interval(logs)
    bootstrap = None
    if per_trajectory is not None:
        bootstrap = _bootstrap_interval([(per_trajectory[0][s], per_trajectory[1][s]) for s in seeds], reduce)
    intervals = [interval for interval in (t_interval, bootstrap) if interval is not None]
    return {
        **stat(ratios),
        "below_one": sum(r < 1 for r in ratios),
        "seeds": seeds,
        "ratios": ratios,
        "geometric_mean": math.exp(statistics.fmean(logs)),
        "ci95": t_interval,
        "bootstrap_ci95": bootstrap,
        "decided": bool(intervals) and all(not low <= 1 <= high for low, high in intervals),
    }


def _t_interval(logs: Sequence[float]) -> list[float] | None:
    """The paired t interval of exp(mean log ratio) over the seeds; None for fewer than two."""
    if len(logs) < 2:
        return None
    from scipy.stats import t

    half = float(t.ppf(0.5 + CONFIDENCE / 2, len(logs) - 1)) * statistics.stdev(logs) / math.sqrt(len(logs))
    centre = statistics.fmean(logs)
    return [math.exp(centre - half), math.exp(centre + half)]


def _bootstrap_interval(
    pairs: Sequence[tuple[Sequence[float], Sequence[float]]], reduce: Callable[[np.ndarray], np.ndarray] | None
) -> list[float]:
    """Percentile interval of the geometric mean over seeds of ``reduce(A) / reduce(B)``, resampling the seeds, and
    within each the test trajectories (the same ones for A and B: the comparison stays paired)."""
    reduce = reduce or (lambda values: values.mean(axis=-1))
    generator = np.random.default_rng(0)
    count = len(pairs)
    logs = np.zeros((BOOTSTRAP_RESAMPLES, count))
    for column, (values_a, values_b) in enumerate(pairs):
        a, b = np.asarray(values_a, dtype=np.float64), np.asarray(values_b, dtype=np.float64)
        if a.shape != b.shape or a.ndim != 1 or not len(a):
            raise ValueError(f"per-trajectory values must pair one to one, got {a.shape} and {b.shape}.")
        picks = generator.integers(0, len(a), size=(BOOTSTRAP_RESAMPLES, len(a)))
        logs[:, column] = np.log(reduce(a[picks]) / reduce(b[picks]))
    seeds = generator.integers(0, count, size=(BOOTSTRAP_RESAMPLES, count))
    resampled = np.take_along_axis(logs, seeds, axis=1).mean(axis=1)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return [float(np.exp(low)), float(np.exp(high))]


def verdict(ratio: Mapping[str, Any], a: str = "A", b: str = "B") -> str:
    """A ``paired_ratio`` of errors in words: which is lower when decided, else ``undecided``."""
    if not ratio.get("decided"):
        return "undecided"
    return f"{a} lower" if ratio["geometric_mean"] < 1 else f"{b} lower"


# --- tables ----------------------------------------------------------------------------------------------------------
def _format(value: float, digits: int) -> str:
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value != 0 and (abs(value) >= 10 ** (digits + 2) or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def cell(value: Any, digits: int = 3) -> str:
    """A table cell: ``–`` for None, ``mean ± std`` for a ``stat`` (the std left out for one value), an int in full,
    a float to ``digits`` significant digits (in full, with thousands separators, from 1000 on)."""
    if value is None:
        return "–"
    if isinstance(value, Mapping):
        text = _format(value["mean"], digits)
        spread = f"{value['std']:,.0f}" if abs(value["mean"]) >= 1000 else _format(value["std"], 2)
        return text + (f" ± {spread}" if value.get("n", 1) > 1 else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"  # counts (parameters) in full
    return _format(float(value), digits)


def interval(bounds: Sequence[float] | None) -> str:
    """A confidence interval as a cell, ``[low, high]``; ``–`` for none."""
    return "–" if bounds is None else f"[{bounds[0]:.3g}, {bounds[1]:.3g}]"


def markdown_table(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str], *, format: Callable[[Any], str] = cell
) -> str:
    """A Markdown table: one line per row, ``columns`` maps a row key to its header; cells as ``format`` writes
    them (``cell`` by default)."""
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(format(row.get(key)) for key in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A CSV table with the header ``columns``: a ``stat`` cell becomes two columns, ``<key>_mean`` and
    ``<key>_std``, when ``columns`` names them so; a missing value is an empty cell."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row, column) for column in columns])
    return stream.getvalue()


def _csv_value(row: Mapping[str, Any], column: str) -> Any:
    if column in row and not isinstance(row[column], Mapping):
        return "" if row[column] is None else row[column]
    key, _, part = column.rpartition("_")
    value = row.get(key)
    return value.get(part, "") if isinstance(value, Mapping) else ""
