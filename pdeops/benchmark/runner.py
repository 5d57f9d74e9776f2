"""``pdeops benchmark``: every model of a suite on one dataset, one budget and several seeds, in one leaderboard.

Each (model, seed) is an ordinary ``pdeops fit`` (``pdeops.training.fit.fit_run``) of the model's configs plus the
suite's data, budget and seed (the layer ``<out>/runs/<model>/seed<k>/fit.yaml``), then one rollout of its best
checkpoint on the test split with the suite's protocol, scored by ``scoring.score_rollout`` like the persistence
baseline and the reference solver; ``pdeops.evaluation.evaluate`` writes its report (figures, speed) beside it and
times the model warm. Right after, in the same process, the solver setting matched with the model on validation
trajectories (``solver.matched_solver``) is run and timed warm on the test ones: the equal-accuracy speed-up.
Its scores go to ``result.json`` in the run folder, written last and atomically: a finished run is never run again, a
killed one resumes from its ``last.ckpt``.

Several processes may share a folder: ``--shard i/n`` runs every n-th run (a SLURM array, several GPUs), and each run
is locked while it runs (``_lock.try_lock`` on ``<run>/lock``), so a second process on the same runs skips the ones
another live process holds and says so. The data and the solver's row and sweep are prepared under one lock
(``<out>/prepare.lock``), which a second process waits for. Progress goes to stderr as plain lines (run i of n, model,
seed, elapsed, ETA) that read the same in a terminal and in a log file. The leaderboard (``leaderboard.md``,
``.json``, ``.csv`` and two figures) is built from the results present.

With the suite's ``select``, a model's hyperparameters are chosen on validation before its main runs
(``select_hyperparameters``, under ``<out>/select/<model>/lock``, which a second process waits for). With
``data.seeds``, each dataset is generated and prepared in its own folder ``<out>/data-seed<k>/`` (as ``<out>`` is
without), every (model, seed) runs on each, each folder gets its own leaderboard and ``<out>`` the pooled one.
"""

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pdeops._io import write_text_atomic
from pdeops._lock import holder, try_lock, wait_lock
from pdeops._progress import duration
from pdeops.benchmark.leaderboard import leaderboard, write_leaderboard
from pdeops.benchmark.scoring import score_checkpoint
from pdeops.benchmark.selection import choice_path, choose, final_value, variant_name, variants
from pdeops.benchmark.solver import closure_result, matched_solver, solver_result, solver_sweep
from pdeops.benchmark.suite import (
    ModelEntry,
    Suite,
    data_path,
    dataset_folders,
    inside,
    result_path,
    run_dir,
    scored_samples,
    selection_dir,
    validation_samples,
)
from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation.evaluate import evaluate
from pdeops.training.fit import fit_run, set_dotted


def log(line: str) -> None:
    """A progress line on stderr, flushed at once (``run_benchmark``'s default ``echo``)."""
    print(line, file=sys.stderr, flush=True)


def run_benchmark(
    suite: Suite,
    out: str | os.PathLike[str],
    *,
    models: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    device: str = "cpu",
    shard: tuple[int, int] | None = None,
    echo: Callable[[str], None] = log,
) -> dict[str, Any]:
    """Run the suite's (model, seed) runs that have no result yet, then build the leaderboard in ``out``.

    Args:
        suite: see ``load_suite``.
        out: the benchmark directory (data, runs, leaderboard).
        models, seeds: a subset of the suite's (None: all).
        device: ``cpu`` or ``cuda``.
        shard: ``(i, n)``: only every n-th run, starting at the i-th (the leaderboard covers what is done).
        echo: where progress lines go (stderr by default).

    Returns:
        The leaderboard (see ``leaderboard``).
    """
    out = Path(out)
    runs = suite.runs(models, seeds)
    if shard is not None:
        i, n = shard
        if not 0 <= i < n:
            raise ValueError(f"shard must be i/n with 0 <= i < n, got {i}/{n}.")
        runs = runs[i::n]
    started = time.perf_counter()
    folders = dataset_folders(suite, out)
    data: dict[int | None, Path] = {}
    for key, sub, folder in folders:
        with wait_lock(inside(folder, "prepare.lock"), waiting=echo):
            data[key] = prepare_data(sub, folder, echo=echo)
            solver_result(sub, data[key], folder)
            closure_result(sub, data[key], folder, device=device)
            solver_sweep(sub, data[key], folder, device=device)
    todo = [
        (key, sub, folder, model, seed)
        for key, sub, folder in folders
        for model, seed in runs
        if not result_path(folder, model, seed).exists()
    ]
    total = len(runs) * len(folders)
    echo(f"benchmark {suite.name}: {total - len(todo)} of {total} run(s) done; {len(todo)} to run on {device}")
    chosen: dict[str, dict[str, Any]] = {}
    if suite.select is not None:  # on the first dataset, before any main run; a widened grid trains its new variants
        for model in dict.fromkeys(model for model, _ in runs):
            if model in suite.select.grids:
                entry = suite.models[model]
                chosen[model] = select_hyperparameters(suite, entry, data[folders[0][0]], out, device=device, echo=echo)
    durations: list[float] = []
    for number, (key, sub, folder, model, seed) in enumerate(todo, start=1):
        label = f"{model}, seed {seed}" if key is None else f"{model}, data seed {key}, seed {seed}"
        lock = run_dir(folder, model, seed) / "lock"
        with try_lock(lock) as held:
            if not held:
                echo(f"run {number} of {len(todo)}: {label}: skipped, {holder(lock)} is running it")
                continue
            if result_path(folder, model, seed).exists():
                echo(f"run {number} of {len(todo)}: {label}: finished by another process meanwhile")
                continue
            remaining = statistics.mean(durations) * (len(todo) - number + 1) if durations else None
            left = "" if remaining is None else f"; about {duration(remaining)} left"
            echo(f"run {number} of {len(todo)}: {label} (elapsed {duration(time.perf_counter() - started)}{left})")
            start = time.perf_counter()
            entry = suite.models[model]
            if model in chosen:
                entry = ModelEntry(entry.name, entry.configs, {**entry.overrides, **chosen[model]})
            result = run_one(sub, entry, seed, data[key], folder, device=device, selected=chosen.get(model))
            durations.append(time.perf_counter() - start)
            score = result["scores"]["model"][suite.accuracy.axis]
            echo(
                f"run {number} of {len(todo)}: {label}: done in {duration(durations[-1])}, "
                f"{_AXIS_WORDS[suite.accuracy.axis]} {'not finite' if score is None else f'{score:.4g}'}"
            )
    if suite.data_seeds:
        for _, sub, folder in folders:
            write_leaderboard(leaderboard(sub, folder, device=device), folder)
    board = leaderboard(suite, out, device=device)
    write_leaderboard(board, out)
    echo(f"wrote {out}/leaderboard.md, .json, .csv and figures/ ({board['runs_done']} of {board['runs_total']} runs)")
    return board


def select_hyperparameters(
    suite: Suite,
    entry: ModelEntry,
    data: Path,
    out: Path,
    *,
    device: str = "cpu",
    echo: Callable[[str], None] = log,
) -> dict[str, Any]:
    """Choose a model's hyperparameters from its grid on validation (``selection``): train every variant not yet
    trained into ``<out>/select/<model>/<variant>`` (the selection's budget and seed, the model's overrides and the
    variant's on top), read each one's final validation metric, write ``choice.json``, and return the chosen
    variant's overrides. The test trajectories are never read: a bracket run is fitted (validated on the validation
    split) and never scored.

    Raises:
        ValueError: no variant logged a finite value of the metric (``selection.choose``).
    """
    selection = suite.select
    if selection is None or entry.name not in selection.grids:
        raise ValueError(f"{suite.path}: select.grids has no grid for {entry.name!r}.")
    with wait_lock(selection_dir(out, entry.name) / "lock", waiting=echo):
        candidates = []
        grid = variants(selection.grids[entry.name])
        for number, overrides in enumerate(grid, start=1):
            name = variant_name(overrides)
            folder = selection_dir(out, entry.name, name)
            if not (folder / "fit.json").is_file():
                echo(f"select {entry.name}: variant {number} of {len(grid)}: {name}")
            variant = ModelEntry(entry.name, entry.configs, {**entry.overrides, **overrides})
            settings = _fit_settings(suite, variant, selection.seed, data, folder, device, budget=selection.budget)
            fit_run(entry.configs, folder, overrides=settings)
            point = final_value(folder, selection.metric)
            value = None if point is None or not math.isfinite(point[1]) else point[1]
            candidates.append(
                {"variant": name, "overrides": overrides, "value": value, "step": None if point is None else point[0]}
            )
        choice = choose(selection, entry.name, candidates)
        with open_dataset(data) as dataset:
            choice["validation_samples"] = validation_samples(suite, dataset.sizes["sample"])
        choice["data"] = str(data)
        write_text_atomic(choice_path(out, entry.name), json.dumps(choice, indent=1))
    best = choice["chosen"]
    edge = f"; at the edge of the grid: {[e['key'] for e in choice['at_edge']]}" if choice["at_edge"] else ""
    echo(f"select {entry.name}: {best['variant']} ({selection.metric} {best['value']:.4g}){edge}")
    return dict(best["overrides"])


_AXIS_WORDS = {"rollout_l2": "rollout rel. L2", "correlation_time": "median correlation time"}


def prepare_data(suite: Suite, out: Path, *, echo: Callable[[str], None] = log) -> Path:
    """The suite's data file (``suite.data_path``), checked to open, generated first (resumably) if the suite
    generates it and it is not there yet."""
    path = data_path(suite, out)
    if "generate" in suite.data and not path.exists():
        config = GenerationConfig(**suite.data["generate"])
        echo(f"generating the suite's data: {config.samples} trajectories of {config.recipe} into {path}")
        start = time.perf_counter()
        generate(config, path, batch_size=16)
        echo(f"generated {path} in {duration(time.perf_counter() - start)}")
    with open_dataset(path):  # a clear error now rather than in every run
        pass
    return path


def run_one(
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    data: Path,
    out: Path,
    *,
    device: str = "cpu",
    selected: dict[str, Any] | None = None,
) -> dict:
    """Fit (``fit_run``: a finished fit is reused, a killed one resumed) and score one (model, seed); returns its
    result, also written to ``result.json`` (with ``selected``, the overrides chosen on validation, when given: they
    are in ``entry.overrides`` already)."""
    run = run_dir(out, entry.name, seed)
    fitted = fit_run(entry.configs, run, overrides=_fit_settings(suite, entry, seed, data, run, device))
    checkpoint = str(fitted.checkpoint)
    report = evaluate(  # the equal-accuracy speed-up: matched_solver below
        checkpoint,
        data,
        steps=suite.steps,
        context=suite.context,
        out_dir=run / "eval",
        device=device,
        equal_accuracy=False,
        overwrite=True,  # the run folder is the benchmark's: a run scored again (its result lost) replaces its report
        accuracy=suite.accuracy,
    )
    with open_dataset(data) as dataset:
        samples = scored_samples(suite, dataset.sizes["sample"])
    scores = score_checkpoint(
        checkpoint,
        str(data),
        context=suite.context,
        steps=suite.steps,
        samples=samples,
        device=device,
        threshold=suite.accuracy.threshold,
    )
    frames_per_second = report["speed"]["model"]["frames_per_second"]
    match = matched_solver(
        suite, data, out, scores["model"][suite.accuracy.axis], frames_per_second, device=device
    )  # timed now, in the process that just timed the model
    result = {
        "model": entry.name,
        "seed": seed,
        "checkpoint": checkpoint,
        "parameters": fitted.parameters,
        "train_seconds": fitted.seconds,
        "scores": {
            **scores,
            "frames_per_second": frames_per_second,
            "speedup_fixed_dt": report["speed"]["speedup"],
            "speedup_equal_accuracy": match["speedup"],
            "equal_accuracy": match,
        },
        "report": str(run / "eval" / "report.json"),
    }
    if selected is not None:
        result["selected"] = selected
    write_text_atomic(run / "result.json", json.dumps(result, indent=1))
    return result


def _fit_settings(
    suite: Suite,
    entry: ModelEntry,
    seed: int,
    data: Path,
    run: Path,
    device: str,
    *,
    budget: Mapping[str, Any] | None = None,
) -> dict:
    """The config layer that puts a model's configs on the suite's data, budget (or ``budget``) and seed."""
    budget = dict(suite.budget if budget is None else budget)
    settings: dict[str, Any] = {
        "seed_everything": seed,
        "data": {"path": str(data), "batch_size": budget.pop("batch_size", 16)},
        "trainer": {
            **budget,
            "accelerator": "gpu" if device.startswith("cuda") else "cpu",
            "devices": 1,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(run)}},
        },
    }
    for key in ("fields", "split"):
        if key in suite.data:
            settings["data"][key] = suite.data[key]
    if "max_epochs" not in budget:
        settings["trainer"]["max_epochs"] = -1  # a step or time budget alone decides
    for dotted, value in entry.overrides.items():
        set_dotted(settings, dotted, value)
    return settings
