"""The leaderboard of a benchmark folder: one row per model (mean ± std over its finished seeds), persistence's, the
reference solver's and the classical closure's rows, ranked by the suite's accuracy axis (``Suite.accuracy``), the
suite's paired comparisons with their confidence intervals, training diagnostics, and the tables (``leaderboard.md``,
``.json``, ``.csv``) and figures written from them.
"""

import fnmatch
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pdeops._io import write_text_atomic
from pdeops.benchmark.selection import markdown_selection, selection_report
from pdeops.benchmark.solver import closure_result, solver_note, solver_result
from pdeops.benchmark.statistics import cell, csv_table, interval, paired_ratio, stat, verdict
from pdeops.benchmark.suite import Suite, data_path, dataset_folders, logged_metrics, result_path, run_dir, solver_dir
from pdeops.data import open_dataset
from pdeops.evaluation import plots
from pdeops.evaluation.work_precision import Accuracy, read_sweep

COLUMNS = {
    "one_step_l2": "1-step rel. L2",
    "one_step_l1": "1-step rel. L1",
    "rollout_l2": "rollout rel. L2",
    "rollout_l1": "rollout rel. L1",
    "rollout_l1_median": "rollout rel. L1, median trajectory",
    "l2_middle": "rel. L2, middle step",
    "l2_last": "rel. L2, last step",
    "nrmse": "nRMSE (PDEBench)",
    "frmse_low": "fRMSE low (PDEBench)",
    "frmse_mid": "fRMSE mid (PDEBench)",
    "frmse_high": "fRMSE high (PDEBench)",
    "vrmse": "VRMSE (The Well)",
    "correlation_time_0.95": "time to corr. < 0.95",
    "correlation_time": "corr. time, median",
    "correlation_time_q25": "corr. time, 25th pct.",
    "correlation_time_q75": "corr. time, 75th pct.",
    "spectrum_error": "spectrum error",
    "first_blowup_step": "first blow-up step",
    "parameters": "parameters",
    "train_seconds": "train s",
    "frames_per_second": "frames/s",
    "speedup_fixed_dt": "speed-up vs solver (fixed dt)",
    "speedup_equal_accuracy": "speed-up at equal accuracy",
}
"""Leaderboard columns: result key → header; each is the mean ± std over seeds."""
CORRELATION_COLUMNS = ("correlation_time", "correlation_time_q25", "correlation_time_q75", "spectrum_error")
"""The correlation-time axis's columns (at the suite's threshold), shown in Markdown only on that axis (the JSON and
CSV have them always)."""
CLOSURE = "solver + hyperviscosity, stored grid"
"""The classical closure's row (``solver.closure_result``)."""


def leaderboard(suite: Suite, out: Path, *, device: str = "cpu") -> dict[str, Any]:
    """One row per model (mean ± std over the seeds done), persistence's row, the reference solver's row, the per-step
    curves, the suite's paired comparisons (``paired_per_seed``) and training diagnostics (``training_diagnostics``).

    Each run's speed-up at equal accuracy was measured by its run (``solver.matched_solver``: the cheapest setting of
    the validation sweep at least as accurate on the suite's axis, timed on the test trajectories in the run's
    process, on ``device``). Rows are ranked by the suite's axis (``accuracy`` in the result says which). With the
    suite's ``select``, ``selection`` reports each model's grid and choice (``selection.selection_report``); with
    ``data.seeds``, the board pools the datasets (``pooled_leaderboard``).
    """
    if suite.data_seeds:
        return pooled_leaderboard(suite, out, device=device)
    results: dict[str, list[dict[str, Any]]] = {}
    total = len(suite.runs())
    for model, seed in suite.runs():
        path = result_path(out, model, seed)
        if path.exists():
            results.setdefault(model, []).append(json.loads(path.read_text()))
    rows = {model: _row(runs) for model, runs in results.items()}
    paired = paired_per_seed(suite, results)
    diagnostics = training_diagnostics(suite, out, results)
    if results:
        first = next(iter(results.values()))
        rows["persistence"] = _row([{"scores": {"model": run["scores"]["persistence"]}} for run in first])
    solver = solver_result(suite, data_path(suite, out), out) if results else None
    if solver is not None:
        rows["solver, stored grid"] = _row([solver])
    closure = closure_result(suite, data_path(suite, out), out, device=device) if solver is not None else None
    if closure is not None:
        rows[CLOSURE] = _row([closure])
    note = solver_note(data_path(suite, out)) if results else None
    return {
        "suite": suite.name,
        "description": suite.description,
        "accuracy": suite.accuracy.to_json(),
        "frame_interval": _frame_interval(data_path(suite, out)) if results else None,
        "protocol": {"context": suite.context, "steps": suite.steps, "seeds": list(suite.seeds)},
        "budget": dict(suite.budget),
        "runs_done": sum(len(runs) for runs in results.values()),
        "runs_total": total,
        "rows": rows,
        "paired": paired,
        "training_metrics": diagnostics,
        "notes": [note] if note else [],
        **({"selection": selection_report(suite, out)} if suite.select is not None else {}),
    }


def pooled_leaderboard(suite: Suite, out: Path, *, device: str = "cpu") -> dict[str, Any]:
    """The leaderboard of a suite with ``data.seeds``: each dataset's board (``leaderboard`` of its folder,
    ``suite.dataset_folders``) under ``datasets``, and pooled ``rows`` (mean ± std over every finished (dataset,
    seed) run; persistence's and the solvers' rows over the datasets) and ``paired`` comparisons over the (dataset,
    seed) pairs both models have finished (``statistics.paired_ratio``: the t interval over those pairs, the bootstrap
    over them and, within each, over its test trajectories).
    """
    folders = [
        (key, sub, folder, leaderboard(sub, folder, device=device)) for key, sub, folder in dataset_folders(suite, out)
    ]
    results: dict[str, list[dict[str, Any]]] = {}
    baselines: dict[str, list[dict[str, Any]]] = {}
    for key, sub, folder, _ in folders:
        finished: dict[str, list[dict[str, Any]]] = {model: [] for model in suite.models}
        for model, seed in sub.runs():
            path = result_path(folder, model, seed)
            if path.exists():
                finished[model].append({**json.loads(path.read_text()), "data_seed": key})
        for model, runs in finished.items():
            results.setdefault(model, []).extend(runs)
        first = next((runs for runs in finished.values() if runs), None)
        if first is None:
            continue
        baselines.setdefault("persistence", []).extend(
            {"scores": {"model": run["scores"]["persistence"]}} for run in first
        )
        solver = solver_result(sub, data_path(sub, folder), folder)
        closure = closure_result(sub, data_path(sub, folder), folder, device=device) if solver is not None else None
        for name, result in (("solver, stored grid", solver), (CLOSURE, closure)):
            if result is not None:
                baselines.setdefault(name, []).append(result)
    results = {model: runs for model, runs in results.items() if runs}
    rows = {model: _row(runs) for model, runs in results.items()}
    rows.update({name: _row(runs) for name, runs in baselines.items()})
    boards = [board for *_, board in folders]
    return {
        "suite": suite.name,
        "description": suite.description,
        "accuracy": suite.accuracy.to_json(),
        "frame_interval": next((b["frame_interval"] for b in boards if b.get("frame_interval")), None),
        "protocol": {
            "context": suite.context,
            "steps": suite.steps,
            "seeds": list(suite.seeds),
            "data_seeds": list(suite.data_seeds),
        },
        "budget": dict(suite.budget),
        "runs_done": sum(board["runs_done"] for board in boards),
        "runs_total": sum(board["runs_total"] for board in boards),
        "rows": rows,
        "paired": paired_per_seed(suite, results),
        "training_metrics": {},
        "notes": [
            f"Pooled over the datasets generated with data seeds {list(suite.data_seeds)}: each model's row is the "
            "mean ± std over every finished (dataset, seed) run, persistence's and the solvers' over the datasets, "
            "and the paired comparisons pair the runs of one dataset and seed. Per dataset: the sections below, and "
            "each dataset's own leaderboard in its folder (data-seed<k>/leaderboard.md).",
            *sorted({note for board in boards for note in board["notes"]}),
        ],
        "datasets": [{"data_seed": key, "folder": folder.name, **board} for key, _, folder, board in folders],
        **({"selection": selection_report(suite, out)} if suite.select is not None else {}),
    }


PAIRED_METRICS = {
    "one_step_l1": ("one_step_l1_per_trajectory", None),
    "rollout_l1": ("rollout_l1_per_trajectory", None),
    "rollout_l1_median": ("rollout_l1_per_trajectory", lambda values: np.median(values, axis=-1)),
}
"""The scores ``paired_per_seed`` compares (keys of a result's ``scores.model``; headers from ``COLUMNS``), each with
the per-trajectory values behind it and how they make the score (None: their mean), for the bootstrap interval."""


def paired_per_seed(suite: Suite, results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Each of the suite's ``compare`` pairs (A, B), seed by seed: for each of ``PAIRED_METRICS``, A's score ÷ B's on
    every seed both have finished (``statistics.paired_ratio``: the ratios, their mean ± std, ``below_one``, the seeds
    where A is the more accurate, the 95 % intervals over seeds and, where the results keep per-trajectory errors,
    over test trajectories × seeds, and ``decided``).

    Args:
        suite: see ``load_suite``.
        results: the finished runs' ``result.json`` contents by model (as ``leaderboard`` reads them).

    Returns:
        One entry per pair: ``a``, ``b``, ``status`` (``done``, or ``not run yet`` while either model has no finished
        seed or none in common with the other), ``seeds`` (those both have) and ``metrics`` (metric → paired_ratio).
    """
    pairs = []
    for a, b in suite.compare:
        scores_a, scores_b = (_scores_by_seed(results.get(name, ())) for name in (a, b))
        seeds = sorted(set(scores_a) & set(scores_b))
        metrics = {}
        for key, (per_trajectory, reduce) in PAIRED_METRICS.items():  # a seed without a positive score is left out
            usable = [s for s in seeds if _positive(scores_a[s].get(key)) and _positive(scores_b[s].get(key))]
            if not usable:
                continue
            values = [{s: scores[s].get(per_trajectory) or [] for s in usable} for scores in (scores_a, scores_b)]
            complete = all(_positive_list(v) for side in values for v in side.values())
            metrics[key] = paired_ratio(
                {s: float(scores_a[s][key]) for s in usable},
                {s: float(scores_b[s][key]) for s in usable},
                per_trajectory=(values[0], values[1]) if complete else None,
                reduce=reduce,
            )
        pairs.append({"a": a, "b": b, "status": "done" if seeds else "not run yet", "seeds": seeds, "metrics": metrics})
    return pairs


def _scores_by_seed(runs: Sequence[Mapping[str, Any]]) -> dict[Any, Mapping[str, Any]]:
    """A model's scores by seed, or by (data seed, seed) for the runs of a pooled board."""
    return {_seed_key(run): run["scores"]["model"] for run in runs}


def _seed_key(run: Mapping[str, Any]) -> int | tuple[int, int]:
    return (int(run["data_seed"]), int(run["seed"])) if run.get("data_seed") is not None else int(run["seed"])


def _seed_label(seed: Any) -> str:
    """A seed of a paired comparison in words: ``seed 1``, or ``data seed 7, seed 1`` for a (dataset, seed) pair."""
    return f"data seed {seed[0]}, seed {seed[1]}" if isinstance(seed, list | tuple) else f"seed {seed}"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _positive_list(values: Sequence[Any]) -> bool:
    return isinstance(values, list) and bool(values) and all(_positive(value) for value in values)


def training_diagnostics(suite: Suite, out: Path, results: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """What the finished runs logged during training, for the columns of their CSV logs that match one of the suite's
    ``training_metrics`` patterns (``fnmatch``, case-sensitive; ``*`` also matches ``/``).

    For each model and matching column, the value at the first and at the last step it was logged in each seed's
    ``lightning_logs/version_*/metrics.csv`` (a resumed fit's versions taken together), then ``stat`` over the seeds.
    A run without a log is left out; so is a model none of whose logs has a matching column.

    Returns:
        ``patterns`` and ``models``: model → column → ``first`` and ``last`` (``stat``), ``first_step`` and
        ``last_step`` (one per seed, the suite's seed order) and ``seeds``.
    """
    models: dict[str, dict[str, Any]] = {}
    if not suite.training_metrics:
        return {"patterns": [], "models": models}
    for model, runs in results.items():
        per_column: dict[str, dict[str, list[Any]]] = {}
        for run in runs:
            logged = logged_metrics(run_dir(out, model, int(run["seed"])))
            for column, points in logged.items():
                if not any(fnmatch.fnmatchcase(column, pattern) for pattern in suite.training_metrics):
                    continue
                first = min(range(len(points)), key=lambda i: (points[i][0], i))
                last = max(range(len(points)), key=lambda i: (points[i][0], i))
                entry = per_column.setdefault(
                    column, {"seeds": [], "first": [], "last": [], "first_step": [], "last_step": []}
                )
                entry["seeds"].append(int(run["seed"]))
                entry["first_step"].append(points[first][0])
                entry["first"].append(points[first][1])
                entry["last_step"].append(points[last][0])
                entry["last"].append(points[last][1])
        if per_column:
            models[model] = {
                column: {**entry, "first": stat(entry["first"]), "last": stat(entry["last"])}
                for column, entry in sorted(per_column.items())
            }
    return {"patterns": list(suite.training_metrics), "models": models}


def _row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std over the runs (seeds) of every column, and of the error curve step by step."""
    values: dict[str, list[float]] = {}
    curves: list[list[float]] = []
    for run in runs:
        scores = run.get("scores", {})
        flat = {**scores.get("model", {}), **scores, **run}
        for key in COLUMNS:
            if isinstance(flat.get(key), int | float):
                values.setdefault(key, []).append(float(flat[key]))
        if "l2_per_step" in flat:
            curves.append([float(value) for value in flat["l2_per_step"]])
    row: dict[str, Any] = {"seeds": len(runs)}
    row.update({key: stat(numbers) for key, numbers in values.items()})
    censored = sum(bool(run.get("scores", {}).get("model", {}).get("correlation_time_censored")) for run in runs)
    if "correlation_time" in row:
        row["correlation_time_censored_seeds"] = censored  # > 0: the mean is a lower bound (shown with ≥)
    if curves:
        steps = [stat(column) for column in zip(*curves, strict=True)]
        row["l2_per_step"] = {"mean": [s["mean"] for s in steps], "std": [s["std"] for s in steps]}
    return row


def write_leaderboard(board: Mapping[str, Any], out: Path) -> None:
    """``leaderboard.json``, ``.md``, ``.csv`` and ``figures/`` in ``out`` (each written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "leaderboard.json", json.dumps(board, indent=1))
    write_text_atomic(out / "leaderboard.md", markdown_leaderboard(board))
    write_text_atomic(out / "leaderboard.csv", _csv(board))
    if board["rows"]:
        figures = out / "figures"
        figures.mkdir(exist_ok=True)
        plots.plot_benchmark_errors(board, figures / "error_per_step.png")
        sweep = solver_dir(out) / "work_precision.json"
        ladder = read_sweep(sweep) if sweep.exists() else []
        plots.plot_pareto(board, figures / "pareto.png", sweep=ladder)


def _frame_interval(data: Path) -> float | None:
    """The time between the stored frames of ``data`` (the figure's cost per time unit), None for a single frame."""
    with open_dataset(data) as dataset:
        times = dataset["time"].values
    return float(times[1] - times[0]) if len(times) > 1 else None


def markdown_leaderboard(board: Mapping[str, Any]) -> str:
    """The leaderboard as a Markdown table, mean ± std over seeds, the most accurate first on the board's axis."""
    accuracy = _accuracy(board)
    rows = sorted(board["rows"].items(), key=lambda item: _sort_key(item[1], accuracy["axis"]))
    columns = [key for key in COLUMNS if accuracy["axis"] == "correlation_time" or key not in CORRELATION_COLUMNS]
    header = ["model", "seeds", *(COLUMNS[key] for key in columns)]
    lines = [
        f"# Benchmark `{board['suite']}`",
        "",
        board["description"],
        "",
        f"Protocol: {board['protocol']['context']} frames given, {board['protocol']['steps']} steps scored; seeds "
        f"{board['protocol']['seeds']}; budget {board['budget']}. Runs done: {board['runs_done']} of "
        f"{board['runs_total']}.",
        "",
        f"Accuracy axis (ranks the rows and defines equal accuracy): {accuracy['label']}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for model, row in rows:
        cells = [model, str(row["seeds"]), *(_cell(row, key) for key in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean ± standard deviation over the seeds. A dash in the time-to-corr. and blow-up columns: it never "
        "happened within the scored steps; a number there is the mean over the seeds where it did. The correlation "
        "times of the accuracy axis (corr. time columns) are per trajectory, censored at the window's end (a "
        "trajectory still correlated at the end counts as the end), then median and quartiles over the test "
        "trajectories; ≥: some seed's median is censored, so the true value is at least the one shown. fRMSE is "
        "PDEBench's absolute Fourier-band error, not a relative one, computed as PDEBench's scripts call it (Lx = Ly "
        "= 1 whatever the domain; the true side lengths would multiply it by their product, 4π² on [0, 2π]²). "
        "Speed-up at equal accuracy: the model's time per frame against the cheapest reference-solver setting "
        "(scheme, grid, step, dtype; `runs/solver/work_precision.md`), chosen on the validation trajectories, whose "
        "score on the accuracy axis is at least as good as the model's, then run and timed warm on the test "
        "trajectories in the model's own process; the fixed-dt speed-up is against the solver as the file was made, "
        "which may be far more accurate than the model. The closure row's coefficient is chosen on the validation "
        "trajectories too (`runs/solver/closure.json`).",
    ]
    lines += [f"\nNote: {note}" for note in board.get("notes") or []]
    lines += _markdown_paired(board.get("paired") or [])
    lines += _markdown_diagnostics(board.get("training_metrics") or {})
    lines += _markdown_datasets(board.get("datasets") or [], accuracy)
    lines += markdown_selection(board.get("selection"))
    return "\n".join(lines) + "\n"


DATASET_COLUMNS = ("one_step_l2", "rollout_l2", "rollout_l1", "vrmse")
"""The columns of a pooled leaderboard's per-dataset tables (each dataset's own leaderboard has them all)."""


def _markdown_datasets(datasets: Sequence[Mapping[str, Any]], accuracy: Mapping[str, Any]) -> list[str]:
    """A pooled board's per-dataset sections: the main columns (mean ± std over that dataset's seeds) and its paired
    comparisons."""
    lines = []
    columns = list(dict.fromkeys([accuracy["axis"], *DATASET_COLUMNS]))
    for dataset in datasets:
        lines += [
            "",
            f"## Data seed {dataset['data_seed']} (`{dataset['folder']}/`)",
            "",
            f"Runs done: {dataset['runs_done']} of {dataset['runs_total']}; mean ± std over this dataset's seeds.",
            "",
            "| model | seeds | " + " | ".join(COLUMNS[key] for key in columns) + " |",
            "|" + "---|" * (2 + len(columns)),
        ]
        for model, row in sorted(dataset["rows"].items(), key=lambda item: _sort_key(item[1], accuracy["axis"])):
            lines.append(f"| {model} | {row['seeds']} | " + " | ".join(_cell(row, key) for key in columns) + " |")
        lines += _markdown_paired(dataset.get("paired") or [], f"### Paired per seed, data seed {dataset['data_seed']}")
    return lines


def _markdown_paired(pairs: Sequence[Mapping[str, Any]], title: str = "## Paired per seed") -> list[str]:
    if not pairs:
        return []
    lines = [
        "",
        title,
        "",
        "A's score ÷ B's on each seed both have finished (the same seed, the same data order): below 1, A is the more "
        "accurate; pairing removes the seed-to-seed spread the two share. Typical ratio: the geometric mean over the "
        "seeds, with its 95 % paired t interval over seeds and a 95 % bootstrap interval over test trajectories × "
        "seeds. Decided only when every interval excludes 1.",
        "",
        "| A vs B | metric | A / B per seed | mean ± std | typical ratio | 95 % CI (seeds) | 95 % CI (bootstrap) "
        "| verdict | A lower in |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for pair in pairs:
        label = f"{pair['a']} vs {pair['b']}"
        if pair["status"] != "done" or not pair["metrics"]:
            lines.append(f"| {label} | – | not run yet | – | – | – | – | – | – |")
            continue
        for key, ratio in pair["metrics"].items():
            per_seed = ", ".join(
                f"{r:.3g} ({_seed_label(s)})" for s, r in zip(ratio["seeds"], ratio["ratios"], strict=True)
            )
            lines.append(
                f"| {label} | {COLUMNS[key]} | {per_seed} | {cell(ratio)} | {ratio['geometric_mean']:.3g} | "
                f"{interval(ratio['ci95'])} | {interval(ratio['bootstrap_ci95'])} | "
                f"{verdict(ratio, pair['a'], pair['b'])} | {ratio['below_one']} of {ratio['n']} seeds |"
            )
    return lines


def _markdown_diagnostics(diagnostics: Mapping[str, Any]) -> list[str]:
    if not diagnostics.get("patterns"):
        return []
    lines = [
        "",
        "## Training diagnostics",
        "",
        f"Logged columns matching {diagnostics['patterns']} in each finished run's `lightning_logs/*/metrics.csv`: "
        "the value at the first and at the last step it was logged, mean ± std over the seeds with a log.",
        "",
    ]
    if not diagnostics["models"]:
        return [*lines, "No finished run's log has a matching column."]
    lines += [
        "| model | metric | seeds | first logged | at step | last logged | at step |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, columns in diagnostics["models"].items():
        for column, entry in columns.items():
            lines.append(
                f"| {model} | {column} | {len(entry['seeds'])} | {cell(entry['first'])} | "
                f"{_steps(entry['first_step'])} | {cell(entry['last'])} | {_steps(entry['last_step'])} |"
            )
    return lines


def _steps(steps: Sequence[int]) -> str:
    return ", ".join(str(step) for step in sorted(set(steps)))


def _accuracy(board: Mapping[str, Any]) -> dict[str, Any]:
    """The board's accuracy axis (a board written before axes existed ranked by rollout_l2)."""
    return dict(board.get("accuracy") or Accuracy().to_json())


def _cell(row: Mapping[str, Any], key: str) -> str:
    """A Markdown cell; a correlation time some of whose seeds are censored at the window's end shows ``≥``."""
    text = cell(row.get(key))
    return f"≥ {text}" if key == "correlation_time" and row.get("correlation_time_censored_seeds") else text


def _sort_key(row: Mapping[str, Any], axis: str) -> float:
    """Most accurate first on ``axis`` (a correlation time is better higher); a row without a score last."""
    value = row.get(axis, {}).get("mean")
    if not (isinstance(value, float) and math.isfinite(value)):
        return math.inf
    return -value if axis == "correlation_time" else value


def _csv(board: Mapping[str, Any]) -> str:
    columns = [
        "model",
        "seeds",
        *(f"{key}_{part}" for key in COLUMNS for part in ("mean", "std")),
        "correlation_time_censored_seeds",
        "accuracy_axis",
    ]
    axis = _accuracy(board)["axis"]
    rows = [{"model": model, **row, "accuracy_axis": axis} for model, row in board["rows"].items()]
    return csv_table(rows, columns)
