"""The reference solver in a benchmark: its leaderboard row on the stored grid, and its work–precision sweep.

Both are computed once per benchmark folder, in ``<out>/runs/solver/`` (``result.json``; ``work_precision.json`` and
``.md``), on the suite's test trajectories, and only for a file pdeops generated whose models predict the solver's
own state (else the solver would be scored on another field than the models).
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import torch

from pdeops._io import write_text_atomic
from pdeops.benchmark.scoring import lead_times, score_rollout
from pdeops.benchmark.suite import Suite, scored_samples, solver_dir
from pdeops.data import open_dataset
from pdeops.data.recipes import SolverRebuildError, rebuild_resolved
from pdeops.data.setups import build_setup
from pdeops.evaluation.work_precision import (
    WorkPrecisionPoint,
    default_settings,
    read_sweep,
    sweep,
    truth_from_file,
    write_sweep,
)
from solvers import Grid


def solver_result(suite: Suite, data: Path, out: Path) -> dict[str, Any] | None:
    """The reference solver as a row: the file's recipe solved at the stored resolution with the file's dt, from
    the last given frame, scored like the models (``score_rollout``) on the test split (None for a file pdeops did
    not generate, or when the suite's models predict other fields than the solver's state).

    A solver on the grid the models see is the baseline a surrogate has to beat at equal cost; the speed-up the
    models' rows quote is against the solver at the file's solve resolution instead.
    """
    path = solver_dir(out) / "result.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    with open_dataset(data) as dataset:
        try:
            resolved = rebuild_resolved(dataset.attrs, data)
        except SolverRebuildError:
            return None  # the leaderboard's notes say why (solver_note)
        resolved = dataclasses.replace(resolved, solve_resolution=int(dataset.attrs["resolution"]))
        field = resolved.recipe.field
        if not models_predict_only(suite, field):
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
    prediction, lead = solved[:, 1:, None], lead_times(times, start, stop)
    result = {
        "model": "solver",
        "seed": None,
        "settings": f"{resolved.recipe.name} at {list(grid.shape)}, dt {resolved.dt}",
        "scores": {
            "model": score_rollout(prediction, truth[:, start + 1 : stop], lead),
            "frames_per_second": len(samples) * suite.steps / seconds,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result, indent=1))
    return result


def solver_note(data: Path) -> str | None:
    """Why the solver behind ``data`` cannot be rebuilt, in the words evaluate and work-precision use
    (``recipes.rebuild_resolved``), or None when it can."""
    with open_dataset(data) as dataset:
        try:
            rebuild_resolved(dataset.attrs, data)
        except SolverRebuildError as error:
            return str(error)
    return None


def models_predict_only(suite: Suite, field: str) -> bool:
    """Whether the models are scored on the solver's state alone (else the solver's rows would score another field:
    e.g. a recipe solved in vorticity whose models predict the stored velocity)."""
    fields = suite.data.get("fields")
    return fields is None or list(fields) == [field]


def solver_sweep(suite: Suite, data: Path, out: Path, *, device: str = "cpu") -> list[WorkPrecisionPoint] | None:
    """The reference solver's work–precision sweep on the test trajectories (``work_precision.default_settings``), run
    once per benchmark directory: each model's speed-up at equal accuracy is read off it. None for a file pdeops did
    not generate, or a recipe solved exactly in time."""
    folder = solver_dir(out)
    if (folder / "work_precision.json").exists():
        return read_sweep(folder / "work_precision.json")
    with open_dataset(data) as dataset:
        count = dataset.sizes["sample"]
    try:
        truth = truth_from_file(data, samples=scored_samples(suite, count), context=suite.context, steps=suite.steps)
    except ValueError:
        return None
    if not models_predict_only(suite, truth.resolved.recipe.field):
        return None
    points = sweep(truth, default_settings(truth), device=device)
    write_sweep(points, folder, title=f"{suite.name}, test trajectories", device=device)
    return points
