"""A finished benchmark's accuracy against its cost: ``trade_off`` puts each model's accuracy (per seed) next to its
cost per simulated time unit (counted FLOPs, and wall time measured on every seed's checkpoint,
``pdeops.evaluation.cost.step_cost``) against a reference model of the suite and against the reference solver at
equal accuracy as each run measured it (its result's ``equal_accuracy``: ``pdeops.benchmark.solver.matched_solver``).
"""

import json
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from pdeops._io import write_text_atomic
from pdeops.benchmark.statistics import markdown_table, paired_ratio, stat
from pdeops.benchmark.suite import Suite, data_path, result_path, scored_samples
from pdeops.data import open_dataset
from pdeops.evaluation.checkpoints import load_task
from pdeops.evaluation.cost import step_cost
from pdeops.training.tasks import BaseOperatorTask

TRADE_OFF_COLUMNS = {
    "model": "model",
    "parameters": "parameters",
    "rollout_l2": "rollout rel. L2",
    "error_vs_reference": "error ÷ reference (paired)",
    "gflops_per_unit": "GFLOP / time unit",
    "flops_fewer": "× fewer FLOPs",
    "ms_per_unit": "ms / time unit (1 sim.)",
    "speedup_vs_reference": "× faster than reference (paired)",
    "ms_per_unit_batched": "ms / time unit (batch)",
    "speedup_vs_reference_batched": "× faster than reference (batch, paired)",
    "solver_ms_per_unit": "solver at equal accuracy, ms / time unit (batch, the runs' timing)",
    "speedup_vs_solver": "× faster than that solver (the runs' timing)",
}
"""``trade_off``'s row keys → headers, for ``markdown_table``."""


def trade_off(
    suite: Suite,
    out: str | os.PathLike[str],
    *,
    reference: str,
    device: str = "cpu",
    repeats: int = 20,
) -> list[dict[str, Any]]:
    """Accuracy and cost per simulated time unit of every model of a finished ``pdeops benchmark`` run.

    For each model with results:

    - its rollout relative L2 over the seeds, and its ratio to ``reference``'s paired per seed (``paired_ratio``);
    - counted FLOPs per time unit of one simulation, and how many times fewer than ``reference``'s;
    - wall time per time unit, measured on every seed's checkpoint (the spread is timing noise), for one simulation
      (the latency the paper's claim is about) and for all test trajectories in one call, per trajectory
      (``_batched``); the speed-up over ``reference`` paired per seed (``reference``'s time ÷ the model's);
    - the solver at equal accuracy as each seed's run measured it (its result's ``equal_accuracy``): the cheapest
      setting of the validation sweep at least as accurate on the suite's axis, timed on the test trajectories in
      the run's own process; its time per time unit and the model's speed-up over it, over the seeds.

    Args:
        suite: a ``Suite`` whose runs are done in ``out``.
        out: the benchmark directory.
        reference: the suite's model to compare with (e.g. the fine model a decomposition replaces).
        device: where to time (the solver sweep's times come from the benchmark run's own device).
        repeats: timed calls per checkpoint (median).

    Returns:
        One row per model, the suite's order, then ``persistence``; keys as ``TRADE_OFF_COLUMNS`` plus
        ``seeds``, ``per_seed`` and ``solver_setting``.

    Raises:
        ValueError: ``reference`` is not a model of the suite or has no finished run.
    """
    out = Path(out)
    if reference not in suite.models:
        raise ValueError(
            f"reference {reference!r} is not a model of {suite.path}; its models are {list(suite.models)}."
        )
    data = data_path(suite, out)
    with open_dataset(data) as dataset:
        field = next(iter(suite.data.get("fields") or [name for name in dataset.data_vars]))
        times = dataset["time"].values
        samples = scored_samples(suite, dataset.sizes["sample"])
        given = dataset[field].isel(sample=samples, time=slice(0, suite.context)).values
    interval = float(times[1] - times[0])
    frames = torch.from_numpy(given).float().unsqueeze(2).to(device)  # (N, context, 1, *S)

    per_model: dict[str, dict[int, dict[str, Any]]] = {}
    persistence: dict[int, float] = {}
    for model, seed in suite.runs():
        path = result_path(out, model, seed)
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        task = load_task(result["checkpoint"], device=device)
        if not isinstance(task, BaseOperatorTask):
            raise ValueError(f"{model}'s task ({type(task).__name__}) does not step frames: its cost cannot be timed.")
        window = frames[:, suite.context - task.input_frames :]
        one, all_at_once = (step_cost(task.step, w, interval, repeats=repeats) for w in (window[:1], window))
        per_model.setdefault(model, {})[seed] = {
            "rollout_l2": result["scores"]["model"]["rollout_l2"],
            "parameters": result["parameters"],
            "cost": one.to_json(),
            "seconds_batched": all_at_once.seconds,
            "equal_accuracy": result["scores"].get("equal_accuracy") or {},
        }
        persistence[seed] = result["scores"]["persistence"]["rollout_l2"]
    if reference not in per_model:
        raise ValueError(f"reference {reference!r} has no finished run in {out}: run the benchmark first.")

    ref = per_model[reference]
    rows = []
    for model, seeds in per_model.items():
        error = {s: r["rollout_l2"] for s, r in seeds.items()}
        seconds = {s: r["cost"]["seconds"] for s, r in seeds.items()}
        batched = {s: r["seconds_batched"] for s, r in seeds.items()}
        flops = statistics.fmean(r["cost"]["flops"] for r in seeds.values())
        matched = [r["equal_accuracy"] for r in seeds.values() if r["equal_accuracy"].get("speedup") is not None]
        solver = [m["solver"]["test"]["seconds_per_frame"] / interval for m in matched]
        rows.append(
            {
                "model": model,
                "seeds": sorted(seeds),
                "parameters": next(iter(seeds.values()))["parameters"],
                "rollout_l2": stat(list(error.values())),
                "error_vs_reference": paired_ratio(error, {s: r["rollout_l2"] for s, r in ref.items()}),
                "gflops_per_unit": flops / 1e9,
                "flops_fewer": statistics.fmean(r["cost"]["flops"] for r in ref.values()) / flops,
                "fft_share": statistics.fmean(r["cost"]["fft_flops"] for r in seeds.values()) / flops,
                "ms_per_unit": stat([1e3 * v for v in seconds.values()]),
                "speedup_vs_reference": paired_ratio({s: r["cost"]["seconds"] for s, r in ref.items()}, seconds),
                "ms_per_unit_batched": stat([1e3 * v for v in batched.values()]),
                "speedup_vs_reference_batched": paired_ratio(
                    {s: r["seconds_batched"] for s, r in ref.items()}, batched
                ),
                "solver_setting": "; ".join(sorted({m["solver"]["label"] for m in matched})) or None,
                "solver_ms_per_unit": stat([1e3 * seconds for seconds in solver]) if solver else None,
                "speedup_vs_solver": stat([m["speedup"] for m in matched]) if matched else None,
                "per_seed": seeds,
            }
        )
    rows.append({"model": "persistence", "seeds": sorted(persistence), "rollout_l2": stat(list(persistence.values()))})
    return rows


def write_trade_off(rows: Sequence[Mapping[str, Any]], out: str | os.PathLike[str], *, title: str) -> None:
    """``trade_off.json`` and ``trade_off.md`` (``markdown_table`` under a heading) in ``out``, written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "trade_off.json", json.dumps({"title": title, "rows": rows}, indent=1, default=str))
    write_text_atomic(
        out / "trade_off.md", f"# Accuracy and cost: {title}\n\n{markdown_table(rows, TRADE_OFF_COLUMNS)}"
    )
