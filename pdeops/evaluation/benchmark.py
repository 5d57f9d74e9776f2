"""``pdeops benchmark``: every model of a suite on one dataset, one budget and several seeds, in one leaderboard.

A suite is a YAML file (``configs/benchmarks/<name>.yaml``)::

    name: ns2d-cpu
    description: one line
    data:
      generate: {recipe: ns2d-fno, samples: 40, resolution: 32, ...}   # GenerationConfig fields; or path: FILE
      fields: [vorticity]
      split: [0.8, 0.1, 0.1]
    budget: {max_epochs: 20, batch_size: 16}   # the same for every model: max_epochs, max_steps or max_time
    seeds: [0, 1]
    protocol: {context: 10, steps: 10}   # every model sees frames [0, context) and is scored on the next steps
    models:
      FNO:
        configs: [../ns2d/fno.yaml]              # the files users train with, relative to the suite
        overrides: {model.init_args.model.init_args.hidden_channels: 24}
      U-Net:
        configs: [../ns2d/fno.yaml, ../ns2d/unet.yaml]
    compare: [[FNO, U-Net]]              # optional: A / B paired seed by seed (``paired_per_seed``)
    training_metrics: ["train/*"]        # optional: fnmatch patterns over the logged columns (``training_diagnostics``)

Each (model, seed) is an ordinary ``pdeops fit`` on the model's configs plus the suite's data, budget and seed
(written to ``<out>/runs/<model>/seed<k>/suite.yaml``), then ``pdeops.evaluation.evaluate`` of its best
checkpoint on the test split with the suite's protocol. Its scores go to ``result.json`` in the run directory,
written last and atomically: a finished run is never run again, a killed one resumes from its ``last.ckpt``, and
``--shard i/n`` runs every n-th run so that several processes (a SLURM array, several GPUs) share a suite. The
leaderboard (``leaderboard.md``, ``.json``, ``.csv`` and two figures) is built from the results present.
"""

import csv
import dataclasses
import fnmatch
import io
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from pdeops._io import write_text_atomic
from pdeops.data import open_dataset
from pdeops.data.datamodule import split_trajectories
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig, resolve
from pdeops.data.setups import build_setup
from pdeops.evaluation import plots
from pdeops.evaluation.cost import paired_ratio, stat
from pdeops.evaluation.evaluate import evaluate, median
from pdeops.evaluation.work_precision import (
    WorkPrecisionPoint,
    default_settings,
    equal_accuracy,
    read_sweep,
    sweep,
    truth_from_file,
    write_sweep,
)
from pdeops.metrics import (
    correlation_per_step,
    first_blowup_step,
    pdebench_frmse,
    pdebench_nrmse,
    relative_lp_per_step,
    relative_lp_window,
    time_until_below,
    well_vrmse,
)
from pdeops.training.cli import lightning_cli
from solvers import Grid

DEFAULT_SPLIT = (0.8, 0.1, 0.1)
SUITE_KEYS = {"name", "description", "data", "budget", "seeds", "protocol", "models", "compare", "training_metrics"}
BUDGET_KEYS = {"max_epochs", "max_steps", "max_time", "batch_size"}


@dataclass(frozen=True)
class ModelEntry:
    """One model of a suite: its config files (as users train it) and the suite's overrides, dotted keys."""

    name: str
    configs: tuple[Path, ...]
    overrides: Mapping[str, Any]


@dataclass(frozen=True)
class Suite:
    """A benchmark suite, read from YAML by ``load_suite`` (see the module docstring)."""

    path: Path
    name: str
    description: str
    data: Mapping[str, Any]
    budget: Mapping[str, Any]
    seeds: tuple[int, ...]
    context: int
    steps: int
    models: Mapping[str, ModelEntry]
    compare: tuple[tuple[str, str], ...] = ()
    """Pairs (A, B) of the suite's models whose scores the leaderboard compares seed by seed (``paired_per_seed``)."""
    training_metrics: tuple[str, ...] = ()
    """fnmatch patterns over the CSV log's columns that the leaderboard summarises (``training_diagnostics``)."""

    def runs(self, models: Sequence[str] | None = None, seeds: Sequence[int] | None = None) -> list[tuple[str, int]]:
        """The (model, seed) pairs to run, in the suite's order."""
        unknown = sorted(set(models or ()) - set(self.models))
        if unknown:
            raise ValueError(f"{self.path} has no model(s) {unknown}; its models are {sorted(self.models)}.")
        return [(model, seed) for model in (models or list(self.models)) for seed in (seeds or self.seeds)]


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read and check a suite file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing or unknown key, or a value of the wrong kind (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Benchmark suite {path} does not exist; the shipped suites are configs/benchmarks/*.")
    raw = yaml.safe_load(path.read_text()) or {}
    _require_keys(raw, SUITE_KEYS, {"name", "data", "budget", "seeds", "protocol", "models"}, str(path))
    _require_keys(raw["budget"], BUDGET_KEYS, set(), f"{path}: budget")
    if not set(raw["budget"]) & {"max_epochs", "max_steps", "max_time"}:
        raise ValueError(f"{path}: budget needs one of max_epochs, max_steps or max_time, the same for every model.")
    _require_keys(raw["data"], {"generate", "path", "fields", "split"}, set(), f"{path}: data")
    if ("generate" in raw["data"]) == ("path" in raw["data"]):
        raise ValueError(f"{path}: data needs exactly one of generate (a recipe's settings) or path (a file).")
    protocol = raw["protocol"]
    _require_keys(protocol, {"context", "steps"}, {"context", "steps"}, f"{path}: protocol")
    models = {}
    for name, entry in raw["models"].items():
        _require_keys(entry, {"configs", "overrides"}, {"configs"}, f"{path}: models.{name}")
        configs = tuple((path.parent / config).resolve() for config in entry["configs"])
        missing = [str(config) for config in configs if not config.is_file()]
        if missing:
            raise FileNotFoundError(f"{path}: models.{name} names config(s) that do not exist: {missing}.")
        models[str(name)] = ModelEntry(str(name), configs, dict(entry.get("overrides") or {}))
    return Suite(
        path=path,
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        data=raw["data"],
        budget=raw["budget"],
        seeds=tuple(int(seed) for seed in raw["seeds"]),
        context=int(protocol["context"]),
        steps=int(protocol["steps"]),
        models=models,
        compare=_compare_pairs(raw.get("compare"), models, str(path)),
        training_metrics=_patterns(raw.get("training_metrics"), str(path)),
    )


def _compare_pairs(value: Any, models: Mapping[str, ModelEntry], where: str) -> tuple[tuple[str, str], ...]:
    """The suite's ``compare`` key: a list of [A, B] pairs of its models' names."""
    if value is None:
        return ()
    names = list(models)
    example = f"[[{names[0]}, {names[-1]}]]" if len(names) > 1 else "[[A, B]]"
    if not isinstance(value, list) or not all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in value):
        raise ValueError(
            f"{where}: compare must be a list of [A, B] pairs of the suite's model names, e.g. compare: {example}; "
            f"got {value!r}."
        )
    pairs = tuple((str(a), str(b)) for a, b in value)
    unknown = sorted({name for pair in pairs for name in pair} - set(models))
    if unknown:
        raise ValueError(
            f"{where}: compare names model(s) {unknown} that the suite does not have; its models are {names}."
        )
    same = [a for a, b in pairs if a == b]
    if same:
        raise ValueError(f"{where}: compare pairs {same[0]!r} with itself; a pair names two different models.")
    return pairs


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    """The suite's ``training_metrics`` key: a list of fnmatch patterns (strings)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(pattern, str) and pattern for pattern in value):
        raise ValueError(
            f"{where}: training_metrics must be a list of fnmatch patterns over the CSV log's column names, e.g. "
            f'training_metrics: ["gate/*/mean", "train/hf_to_l1"]; got {value!r}.'
        )
    return tuple(value)


def _require_keys(mapping: Any, allowed: set[str], required: set[str], where: str) -> None:
    if not isinstance(mapping, dict):
        raise ValueError(f"{where} must be a mapping, got {mapping!r}.")
    unknown, missing = sorted(set(mapping) - allowed), sorted(required - set(mapping))
    if unknown or missing:
        raise ValueError(
            f"{where}: " + "; ".join(
                part for part in (
                    f"unknown key(s) {unknown} (allowed: {sorted(allowed)})" if unknown else "",
                    f"missing key(s) {missing}" if missing else "",
                ) if part
            )
        )  # fmt: skip


# --- running ---------------------------------------------------------------------------------------------------------
def run_benchmark(
    suite: Suite,
    out: str | os.PathLike[str],
    *,
    models: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    device: str = "cpu",
    shard: tuple[int, int] | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the suite's (model, seed) runs that have no result yet, then build the leaderboard in ``out``.

    Args:
        suite: see ``load_suite``.
        out: the benchmark directory (data, runs, leaderboard).
        models, seeds: a subset of the suite's (None: all).
        device: ``cpu`` or ``cuda``.
        shard: ``(i, n)``: only every n-th run, starting at the i-th (the leaderboard covers what is done).
        echo: where progress lines go.

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
    data = prepare_data(suite, out)
    solver_result(suite, data, out)
    solver_sweep(suite, data, out, device=device)
    todo = [(model, seed) for model, seed in runs if not result_path(out, model, seed).exists()]
    echo(f"benchmark {suite.name}: {len(runs) - len(todo)} of {len(runs)} run(s) done; {len(todo)} to run on {device}")
    durations: list[float] = []
    for number, (model, seed) in enumerate(todo, start=1):
        eta = "" if not durations else f", about {_minutes(statistics.mean(durations) * (len(todo) - number + 1))} left"
        echo(f"[{number}/{len(todo)}] {model}, seed {seed}{eta}")
        start = time.perf_counter()
        run_one(suite, suite.models[model], seed, data, out, device=device)
        durations.append(time.perf_counter() - start)
    board = leaderboard(suite, out, device=device)
    write_leaderboard(board, out)
    echo(f"wrote {out}/leaderboard.md, .json, .csv and figures/ ({board['runs_done']} of {board['runs_total']} runs)")
    return board


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def prepare_data(suite: Suite, out: Path) -> Path:
    """The suite's data file: its ``path`` (a relative one from the working directory if it is there, else from the
    suite's folder), or ``<out>/data.h5`` generated once (resumably) from ``generate``."""
    if "path" in suite.data:
        path = Path(suite.data["path"])
        if not path.is_absolute():
            path = (suite.path.parent / path).resolve() if not path.exists() else path
        with open_dataset(path):  # a clear error now rather than in every run
            pass
        return path
    path = out / "data.h5"
    if not path.exists():
        generate(GenerationConfig(**suite.data["generate"]), path, batch_size=16)
    return path


def _run_dir(out: Path, model: str, seed: int) -> Path:
    return out / "runs" / model / f"seed{seed}"


def result_path(out: Path, model: str, seed: int) -> Path:
    """Where a finished (model, seed) run's scores are kept; the run is done once this file exists."""
    return _run_dir(out, model, seed) / "result.json"


def run_one(suite: Suite, entry: ModelEntry, seed: int, data: Path, out: Path, *, device: str = "cpu") -> dict:
    """Fit and evaluate one (model, seed), resuming a killed fit from its ``last.ckpt``; returns its result."""
    run = _run_dir(out, entry.name, seed)
    run.mkdir(parents=True, exist_ok=True)
    settings = run / "suite.yaml"
    settings.write_text(yaml.safe_dump(_fit_settings(suite, entry, seed, data, run, device), sort_keys=False))
    args = ["fit", *(arg for config in entry.configs for arg in ("-c", str(config))), "-c", str(settings)]
    if (run / "checkpoints" / "last.ckpt").exists():
        args += ["--ckpt_path", "last"]
    start = time.perf_counter()
    cli = lightning_cli(args)
    train_seconds = time.perf_counter() - start
    callback = cli.trainer.checkpoint_callback
    checkpoint = getattr(callback, "best_model_path", "") or str(run / "checkpoints" / "last.ckpt")
    report = evaluate(  # the equal-accuracy speed-up comes from one solver sweep for all runs (solver_sweep)
        checkpoint,
        data,
        steps=suite.steps,
        context=suite.context,
        out_dir=run / "eval",
        device=device,
        equal_accuracy=False,
    )
    result = {
        "model": entry.name,
        "seed": seed,
        "checkpoint": checkpoint,
        "parameters": sum(p.numel() for p in cli.model.parameters()),
        "train_seconds": train_seconds,
        "scores": _scores(report),
        "report": str(run / "eval" / "report.json"),
    }
    partial = run / "result.json.partial"
    partial.write_text(json.dumps(result, indent=1))
    os.replace(partial, run / "result.json")
    return result


def _fit_settings(suite: Suite, entry: ModelEntry, seed: int, data: Path, run: Path, device: str) -> dict:
    """The config file that puts a model's configs on the suite's data, budget and seed."""
    budget = dict(suite.budget)
    settings: dict[str, Any] = {
        "seed_everything": seed,
        "data": {"path": str(data), "batch_size": budget.pop("batch_size", 16)},
        "trainer": {
            **budget,
            "default_root_dir": str(run),
            "accelerator": "gpu" if device.startswith("cuda") else "cpu",
            "devices": 1,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(run)}},
        },
    }
    for key in ("fields", "split"):
        if key in suite.data:
            settings["data"][key] = suite.data[key]
    if "max_epochs" not in budget:
        settings["trainer"]["max_epochs"] = -1  # a step or time budget alone decides
    for dotted, value in entry.overrides.items():
        _set_dotted(settings, dotted, value)
    return settings


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[last] = value


def _scores(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the leaderboard takes from an evaluation report."""
    model, persistence = report["model"], report["persistence"]
    return {
        "model": _score_block(model),
        "persistence": _score_block(persistence),
        "frames_per_second": report["speed"]["model"]["frames_per_second"],
        "speedup_fixed_dt": report["speed"]["speedup"],
    }


def _score_block(scores: Mapping[str, Any]) -> dict[str, Any]:
    l2, l1 = scores["relative_l2"], scores["relative_l1"]
    curve = [float(v) for v in l2["per_step_mean"]]
    curve_l1 = [float(v) for v in l1["per_step_mean"]]
    correlation = scores["correlation"].get("time_until_below_0.95", {})
    frmse = scores.get("pdebench_frmse") or {}
    return {
        "rollout_l2": l2["spacetime_mean"],
        "rollout_l1": l1["spacetime_mean"],
        "rollout_l1_median": l1["spacetime_median"],
        "l2_per_step": curve,
        "one_step_l2": curve[0],
        "one_step_l1": curve_l1[0],
        "l2_middle": curve[(len(curve) - 1) // 2],
        "l2_last": curve[-1],
        "nrmse": scores["pdebench_nrmse"],
        **{f"frmse_{band}": frmse.get(band) for band in ("low", "mid", "high")},
        "vrmse": scores["well_vrmse"],
        "correlation_time_0.95": correlation.get("median"),
        "first_blowup_step": scores["first_blowup_step"],
    }


def solver_result(suite: Suite, data: Path, out: Path) -> dict[str, Any] | None:
    """The reference solver as a row: the file's recipe solved at the stored resolution with the file's dt, from
    the last given frame, scored like the models on the test split (None for a file pdeops did not generate, or
    when the suite's models predict other fields than the solver's state).

    A solver on the grid the models see is the baseline a surrogate has to beat at equal cost; the speed-up the
    models' rows quote is against the solver at the file's solve resolution instead.
    """
    path = out / "runs" / "solver" / "result.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    with open_dataset(data) as dataset:
        attrs = dict(dataset.attrs)
        if attrs.get("source_format") != "pdeops" or "config" not in attrs:
            return None
        config = GenerationConfig(**json.loads(attrs["config"]))
        resolved = resolve(dataclasses.replace(config, solve_resolution=int(attrs["resolution"]), device="cpu"))
        field = resolved.recipe.field
        if not _models_predict_only(suite, field):
            return None
        samples = scored_samples(suite, dataset.sizes["sample"])
        frames = dataset[field].isel(sample=samples).values
        times = dataset["time"].values
    truth = torch.from_numpy(frames).to(torch.float64)[:, :, None]  # (N, T, 1, *S)
    start, stop = suite.context - 1, suite.context + suite.steps
    grid = Grid(truth.shape[3:], resolved.recipe.length)
    setup = build_setup(resolved, grid)
    clock = time.perf_counter()
    # every recipe's equation is autonomous: solve from time 0 over the frames' lead times
    solved = setup.solve(truth[:, start, 0], [float(t - times[start]) for t in times[start:stop]])
    seconds = time.perf_counter() - clock
    pred, true = solved[:, 1:, None], truth[:, start + 1 : stop]
    lead = torch.from_numpy(times[start + 1 : stop] - times[start])
    result = {
        "model": "solver",
        "seed": None,
        "settings": f"{resolved.recipe.name} at {list(grid.shape)}, dt {resolved.dt}",
        "scores": {
            "model": _block(pred, true, lead, grid.lengths),
            "frames_per_second": len(samples) * suite.steps / seconds,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result, indent=1))
    return result


def _models_predict_only(suite: Suite, field: str) -> bool:
    """Whether the models are scored on the solver's state alone (else the solver's rows would score another field:
    e.g. a recipe solved in vorticity whose models predict the stored velocity)."""
    fields = suite.data.get("fields")
    return fields is None or list(fields) == [field]


def scored_samples(suite: Suite, count: int) -> list[int]:
    """The test trajectories every model (and the solver) is scored on, of a file holding ``count``."""
    return list(split_trajectories(count, tuple(suite.data.get("split", DEFAULT_SPLIT)))["test"])


def solver_sweep(suite: Suite, data: Path, out: Path, *, device: str = "cpu") -> list[WorkPrecisionPoint] | None:
    """The reference solver's work–precision sweep on the test trajectories (``work_precision.default_settings``), run
    once per benchmark directory: each model's speed-up at equal accuracy is read off it. None for a file pdeops did
    not generate, or a recipe solved exactly in time."""
    folder = out / "runs" / "solver"
    if (folder / "work_precision.json").exists():
        return read_sweep(folder / "work_precision.json")
    with open_dataset(data) as dataset:
        count = dataset.sizes["sample"]
    try:
        truth = truth_from_file(data, samples=scored_samples(suite, count), context=suite.context, steps=suite.steps)
    except ValueError:
        return None
    if not _models_predict_only(suite, truth.resolved.recipe.field):
        return None
    points = sweep(truth, default_settings(truth), device=device)
    write_sweep(points, folder, title=f"{suite.name}, test trajectories", device=device)
    return points


def _block(pred: torch.Tensor, true: torch.Tensor, lead: torch.Tensor, lengths: Sequence[float]) -> dict[str, Any]:
    """``_score_block``'s scores of a prediction ``(N, T, C, *S)`` computed directly."""
    curve = relative_lp_per_step(pred, true).mean(0).tolist()
    window_l1 = relative_lp_window(pred, true, 1)
    correlation = time_until_below(correlation_per_step(pred, true), 0.95, lead)
    bands = pdebench_frmse(pred, true, lengths=lengths).mean(dim=(0, 1)).tolist()
    blowup = first_blowup_step(pred, true)
    return {
        "rollout_l2": float(relative_lp_window(pred, true).mean()),
        "rollout_l1": float(window_l1.mean()),
        "rollout_l1_median": float(median(window_l1)),
        "l2_per_step": curve,
        "one_step_l2": curve[0],
        "one_step_l1": float(relative_lp_per_step(pred[:, :1], true[:, :1], 1).mean()),
        "l2_middle": curve[(len(curve) - 1) // 2],
        "l2_last": curve[-1],
        "nrmse": float(pdebench_nrmse(pred, true).mean()),
        **{f"frmse_{band}": value for band, value in zip(("low", "mid", "high"), bands, strict=True)},
        "vrmse": float(well_vrmse(pred, true).mean()),
        "correlation_time_0.95": float(correlation.median()) if torch.isfinite(correlation).all() else None,
        "first_blowup_step": int(blowup[blowup > 0].min()) if bool((blowup > 0).any()) else None,
    }


# --- the leaderboard -------------------------------------------------------------------------------------------------
COLUMNS = {
    "one_step_l2": "1-step rel. L2",
    "one_step_l1": "1-step rel. L1",
    "rollout_l2": "rollout rel. L2",
    "rollout_l1": "rollout rel. L1",
    "rollout_l1_median": "rollout rel. L1, median trajectory",
    "l2_middle": "rel. L2, middle step",
    "l2_last": "rel. L2, last step",
    "nrmse": "nRMSE (PDEBench)",
    "frmse_low": "fRMSE low",
    "frmse_mid": "fRMSE mid",
    "frmse_high": "fRMSE high",
    "vrmse": "VRMSE (The Well)",
    "correlation_time_0.95": "time to corr. < 0.95",
    "first_blowup_step": "first blow-up step",
    "parameters": "parameters",
    "train_seconds": "train s",
    "frames_per_second": "frames/s",
    "speedup_fixed_dt": "speed-up vs solver (fixed dt)",
    "speedup_equal_accuracy": "speed-up at equal accuracy",
}
"""Leaderboard columns: result key → header; each is the mean ± std over seeds."""


def leaderboard(suite: Suite, out: Path, *, device: str = "cpu") -> dict[str, Any]:
    """One row per model (mean ± std over the seeds done), persistence's row, and the per-step curves.

    Each run's speed-up at equal accuracy is against the cheapest setting of ``solver_sweep`` whose rollout error is
    at most the run's (its rollout relative L2 on the same test trajectories), both timed on ``device``.
    """
    results: dict[str, list[dict[str, Any]]] = {}
    total = len(suite.runs())
    points = None
    for model, seed in suite.runs():
        path = result_path(out, model, seed)
        if path.exists():
            run = json.loads(path.read_text())
            points = points or solver_sweep(suite, prepare_data(suite, out), out, device=device) or []
            scores = run["scores"]
            if points and scores.get("frames_per_second"):
                equal = equal_accuracy(points, scores["model"]["rollout_l2"], 1 / scores["frames_per_second"])
                scores["speedup_equal_accuracy"] = equal["speedup"]
            results.setdefault(model, []).append(run)
    rows = {model: _row(runs) for model, runs in results.items()}
    paired = paired_per_seed(suite, results)
    diagnostics = training_diagnostics(suite, out, results)
    if results:
        first = next(iter(results.values()))
        rows["persistence"] = _row([{"scores": {"model": run["scores"]["persistence"]}} for run in first])
    solver = solver_result(suite, prepare_data(suite, out), out) if results else None
    if solver is not None:
        rows["solver, stored grid"] = _row([solver])
    return {
        "suite": suite.name,
        "description": suite.description,
        "protocol": {"context": suite.context, "steps": suite.steps, "seeds": list(suite.seeds)},
        "budget": dict(suite.budget),
        "runs_done": sum(len(runs) for runs in results.values()),
        "runs_total": total,
        "rows": rows,
        "paired": paired,
        "training_metrics": diagnostics,
    }


PAIRED_METRICS = ("one_step_l1", "rollout_l1", "rollout_l1_median")
"""The scores ``paired_per_seed`` compares (keys of a result's ``scores.model``; headers from ``COLUMNS``)."""


def paired_per_seed(suite: Suite, results: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Each of the suite's ``compare`` pairs (A, B), seed by seed: for each of ``PAIRED_METRICS``, A's score ÷ B's on
    every seed both have finished (``cost.paired_ratio``: the ratios, their mean ± std, and ``below_one``, the seeds
    where A is the more accurate).

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
        for key in PAIRED_METRICS:  # a seed without the score (or with B's at 0) is left out of this metric
            usable = [s for s in seeds if _finite(scores_a[s].get(key)) and _finite(scores_b[s].get(key))]
            usable = [s for s in usable if scores_b[s][key] != 0]
            if usable:
                metrics[key] = paired_ratio(
                    {s: float(scores_a[s][key]) for s in usable}, {s: float(scores_b[s][key]) for s in usable}
                )
        pairs.append({"a": a, "b": b, "status": "done" if seeds else "not run yet", "seeds": seeds, "metrics": metrics})
    return pairs


def _scores_by_seed(runs: Sequence[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {int(run["seed"]): run["scores"]["model"] for run in runs}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
            logged = logged_metrics(_run_dir(out, model, int(run["seed"])))
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


def logged_metrics(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every column of a run's Lightning CSV logs (``run/lightning_logs/version_*/metrics.csv``, in version order) as
    its logged ``(step, value)`` points in file order; the cells left empty (a column not logged in that row) and the
    ``step`` and ``epoch`` columns are left out. ``{}`` for a run without a log."""
    versions = sorted(
        (run / "lightning_logs").glob("version_*/metrics.csv"),
        key=lambda path: int(suffix) if (suffix := path.parent.name.removeprefix("version_")).isdigit() else -1,
    )
    columns: dict[str, list[tuple[int, float]]] = {}
    for path in versions:
        with path.open(newline="") as stream:
            for row in csv.DictReader(stream):
                try:
                    step = int(float(row.get("step") or ""))
                except ValueError:
                    continue
                for column, text in row.items():
                    if column in ("step", "epoch") or column is None or not text:
                        continue
                    try:
                        columns.setdefault(column, []).append((step, float(text)))
                    except (TypeError, ValueError):
                        continue
    return columns


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
    row.update({key: {"mean": statistics.mean(numbers), "std": _std(numbers)} for key, numbers in values.items()})
    if curves:
        columns = list(zip(*curves, strict=True))
        row["l2_per_step"] = {"mean": [statistics.mean(c) for c in columns], "std": [_std(c) for c in columns]}
    return row


def _std(numbers: Sequence[float]) -> float:
    return statistics.stdev(numbers) if len(numbers) > 1 else 0.0


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
        plots.plot_pareto(board, figures / "pareto.png")


def markdown_leaderboard(board: Mapping[str, Any]) -> str:
    """The leaderboard as a Markdown table, mean ± std over seeds, best rollout error first."""
    rows = sorted(board["rows"].items(), key=lambda item: _sort_key(item[1]))
    header = ["model", "seeds", *COLUMNS.values()]
    lines = [
        f"# Benchmark `{board['suite']}`",
        "",
        board["description"],
        "",
        f"Protocol: {board['protocol']['context']} frames given, {board['protocol']['steps']} steps scored; seeds "
        f"{board['protocol']['seeds']}; budget {board['budget']}. Runs done: {board['runs_done']} of "
        f"{board['runs_total']}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for model, row in rows:
        cells = [model, str(row["seeds"]), *(_cell(row.get(key)) for key in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean ± standard deviation over the seeds. A dash in the correlation-time and blow-up columns: it never "
        "happened within the scored steps; a number there is the mean over the seeds where it did. fRMSE is "
        "PDEBench's absolute Fourier-band error, not a relative one. Speed-up at equal accuracy: the model's time "
        "per frame against the cheapest reference-solver setting (scheme, grid, step, dtype; `runs/solver/"
        "work_precision.md`) whose rollout error is at most the model's; the fixed-dt speed-up is against the solver "
        "as the file was made, which may be far more accurate than the model.",
    ]
    lines += _markdown_paired(board.get("paired") or [])
    lines += _markdown_diagnostics(board.get("training_metrics") or {})
    return "\n".join(lines) + "\n"


def _markdown_paired(pairs: Sequence[Mapping[str, Any]]) -> list[str]:
    if not pairs:
        return []
    lines = [
        "",
        "## Paired per seed",
        "",
        "A's score ÷ B's on each seed both have finished (the same seed, the same data order), then the mean ± std of "
        "those ratios: below 1, A is the more accurate; pairing removes the seed-to-seed spread the two share.",
        "",
        "| A vs B | metric | A / B per seed | mean ± std | A lower in |",
        "|---|---|---|---|---|",
    ]
    for pair in pairs:
        label = f"{pair['a']} vs {pair['b']}"
        if pair["status"] != "done" or not pair["metrics"]:
            lines.append(f"| {label} | – | not run yet | – | – |")
            continue
        for key, ratio in pair["metrics"].items():
            per_seed = ", ".join(f"{r:.3g} (seed {s})" for s, r in zip(ratio["seeds"], ratio["ratios"], strict=True))
            lines.append(
                f"| {label} | {COLUMNS[key]} | {per_seed} | {_cell(ratio)} | "
                f"{ratio['below_one']} of {ratio['n']} seeds |"
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
                f"| {model} | {column} | {len(entry['seeds'])} | {_cell(entry['first'])} | "
                f"{_steps(entry['first_step'])} | {_cell(entry['last'])} | {_steps(entry['last_step'])} |"
            )
    return lines


def _steps(steps: Sequence[int]) -> str:
    return ", ".join(str(step) for step in sorted(set(steps)))


def _sort_key(row: Mapping[str, Any]) -> float:
    value = row.get("rollout_l2", {}).get("mean")
    return value if isinstance(value, float) and math.isfinite(value) else math.inf


def _cell(stat: Mapping[str, float] | None) -> str:
    if not stat:
        return "–"
    mean, std = stat["mean"], stat["std"]
    if abs(mean) >= 1000:
        return f"{mean:,.0f}" + (f" ± {std:,.0f}" if std else "")
    return f"{mean:.3g}" + (f" ± {std:.2g}" if std else "")


def _csv(board: Mapping[str, Any]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["model", "seeds", *(f"{key}_{stat}" for key in COLUMNS for stat in ("mean", "std"))])
    for model, row in board["rows"].items():
        cells = [row.get(key) or {} for key in COLUMNS]
        writer.writerow([model, row["seeds"], *(cell.get(stat, "") for cell in cells for stat in ("mean", "std"))])
    return stream.getvalue()
