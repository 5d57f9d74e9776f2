"""Hyperparameters chosen on validation: the suite's ``select`` key (``suite.Selection``).

For a model with a grid, every variant (one value per key: the Cartesian product of the grid, the first key varying
slowest) is trained for the selection's budget and seed into ``<out>/select/<model>/<variant>/`` (``runner``'s
``select_hyperparameters``, through ``fit_run``: resumable, and a variant already trained is reused when the grid is
widened). Each variant is scored by its logged validation metric at the last step it was logged
(``final_value``: the run's Lightning CSV log; no test trajectory is read), the best wins (``choose``), and
``<out>/select/<model>/choice.json`` records the grid, every candidate's value and the choice, which the model's main
runs then use on top of its overrides. A choice at the lowest or highest value of a numeric key of at least two
values is flagged: the optimum may lie outside the grid (a 0 at the lower end is not flagged: nothing lies below it).
"""

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pdeops.benchmark.statistics import cell
from pdeops.benchmark.suite import Selection, Suite, dataset_folders, logged_metrics, result_path, selection_dir

EDGE_ADVICE = "at the edge: widen the grid"
"""What the leaderboard says of a choice at the edge of its grid."""


def variants(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The grid's variants, ``{key: value}`` each: the Cartesian product, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[key] for key in keys))]


def variant_name(overrides: Mapping[str, Any]) -> str:
    """A variant's folder name: ``leaf=value`` per key (the last part of the dotted key), joined by ``,``; characters
    other than letters, digits and ``. _ - + =`` become ``_``. A grid whose keys share a last part uses whole keys."""
    leaves = [key.rsplit(".", 1)[-1] for key in overrides]
    names = leaves if len(set(leaves)) == len(leaves) else list(overrides)
    text = ",".join(f"{name}={value}" for name, value in zip(names, overrides.values(), strict=True))
    return re.sub(r"[^A-Za-z0-9._+=,-]", "_", text)[:200]


def final_value(run: Path, metric: str) -> tuple[int, float] | None:
    """``(step, value)`` of ``metric`` at the last step it was logged in the run's CSV log (a resumed fit's versions
    read together); None when it was never logged."""
    points = logged_metrics(run).get(metric)
    if not points:
        return None
    last = max(range(len(points)), key=lambda i: (points[i][0], i))
    return points[last]


def choose(selection: Selection, model: str, candidates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The best of a model's candidates on the selection's metric, and whether it lies at the edge of the grid.

    Args:
        selection: the suite's ``select``.
        model: a model with a grid in it.
        candidates: one per variant, in ``variants`` order: ``variant`` (its name), ``overrides`` and ``value`` (the
            final validation value; None or not finite: never logged, or diverged, and never chosen) and ``step``.

    Returns:
        ``model``, ``metric``, ``mode``, ``budget``, ``seed``, ``grid`` (key → values), ``candidates``, ``chosen`` (the
        winning candidate; ties go to the first) and ``at_edge`` (``key``, ``value``, ``side``: ``lowest`` or
        ``highest``, for each numeric key of at least two values whose chosen value is the grid's extreme).

    Raises:
        ValueError: no candidate has a finite value (the metric was never logged: the message names the metric).
    """
    usable = [c for c in candidates if isinstance(c.get("value"), int | float) and math.isfinite(c["value"])]
    if not usable:
        raise ValueError(
            f"select: no bracket run of {model} logged a finite {selection.metric} (its candidates: "
            f"{[c['variant'] for c in candidates]}). Choose a metric the task logs on the validation split (e.g. "
            "val/rollout_l2) and a select.budget long enough to reach a validation (e.g. whole epochs)."
        )
    sign = 1.0 if selection.mode == "min" else -1.0
    chosen = min(usable, key=lambda c: sign * c["value"])  # min keeps the first of equals
    grid = selection.grids[model]
    at_edge = []
    for key, values in grid.items():
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        value = chosen["overrides"][key]
        if len(numbers) < 2 or len(numbers) != len(values):
            continue
        if value == min(numbers) and value != 0:
            at_edge.append({"key": key, "value": value, "side": "lowest"})
        elif value == max(numbers):
            at_edge.append({"key": key, "value": value, "side": "highest"})
    return {
        "model": model,
        "metric": selection.metric,
        "mode": selection.mode,
        "budget": dict(selection.budget),
        "seed": selection.seed,
        "grid": {key: list(values) for key, values in grid.items()},
        "candidates": [dict(c) for c in candidates],
        "chosen": dict(chosen),
        "at_edge": at_edge,
    }


def choice_path(out: Path, model: str) -> Path:
    """Where a model's choice is recorded, ``<out>/select/<model>/choice.json``."""
    return selection_dir(out, model) / "choice.json"


def selection_report(suite: Suite, out: Path) -> dict[str, Any] | None:
    """The suite's selection as the leaderboard reports it: ``metric``, ``mode``, ``budget``, ``seed`` and ``models``
    (model → its ``choice.json`` plus ``runs_not_on_choice``, the finished main runs whose ``selected`` overrides are
    not the choice's, e.g. run before ``select`` was added; None while its bracket runs have not finished); None for a
    suite without ``select``."""
    if suite.select is None:
        return None
    models: dict[str, dict[str, Any] | None] = {}
    for model in suite.select.grids:
        path = choice_path(out, model)
        if not path.is_file():
            models[model] = None
            continue
        choice = json.loads(path.read_text())
        stale = []
        for data_seed, _, folder in dataset_folders(suite, out):
            for seed in suite.seeds:
                result = result_path(folder, model, seed)
                if result.is_file() and json.loads(result.read_text()).get("selected") != choice["chosen"]["overrides"]:
                    stale.append(f"seed {seed}" if data_seed is None else f"data seed {data_seed}, seed {seed}")
        models[model] = {**choice, "runs_not_on_choice": stale}
    selection = suite.select
    return {
        "metric": selection.metric,
        "mode": selection.mode,
        "budget": dict(selection.budget),
        "seed": selection.seed,
        "models": models,
    }


def markdown_selection(report: Mapping[str, Any] | None) -> list[str]:
    """The leaderboard's "Hyperparameters chosen on validation" section: per model, each candidate's final
    validation value, the choice, and a flag on a choice at the edge of its grid."""
    if not report:
        return []
    better = "lowest" if report["mode"] == "min" else "highest"
    lines = [
        "",
        "## Hyperparameters chosen on validation",
        "",
        f"Each model's grid (every combination of its values) trained with seed {report['seed']} and budget "
        f"{report['budget']} on the first dataset; the {better} `{report['metric']}` at the last step it was logged "
        "(validation trajectories only; no test score is read) chose the values its main runs use. A choice at the "
        f"lowest or highest value of a grid is flagged ({EDGE_ADVICE}): the optimum may lie outside it.",
        "",
        f"| model | candidate | {report['metric']} | at step | choice |",
        "|---|---|---|---|---|",
    ]
    for model, choice in report["models"].items():
        if choice is None:
            lines.append(f"| {model} | – | not run yet | – | – |")
            continue
        for candidate in choice["candidates"]:
            mark = ""
            if candidate["variant"] == choice["chosen"]["variant"]:
                edges = ", ".join(f"{edge['key'].rsplit('.', 1)[-1]} {edge['side']}" for edge in choice["at_edge"])
                mark = "**chosen**" + (f"; {EDGE_ADVICE} ({edges})" if edges else "")
            value = candidate.get("value")
            lines.append(
                f"| {model} | {candidate['variant']} | {cell(value) if value is not None else 'not logged'} | "
                f"{cell(candidate.get('step'))} | {mark} |"
            )
    stale = {model: choice["runs_not_on_choice"] for model, choice in report["models"].items() if choice}
    lines += [
        f"\n{model}: run(s) {', '.join(runs)} finished on other settings than this choice (before it was made); "
        "remove their run folders and rerun to train them on it."
        for model, runs in stale.items()
        if runs
    ]
    return lines
