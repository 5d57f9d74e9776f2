"""The reference solver in a benchmark: its leaderboard row on the stored grid, the classical closure's row, its
work–precision sweep, and each model's equal-accuracy match.

All but the match are computed once per benchmark folder, in ``<out>/runs/solver/`` (``result.json``,
``closure.json``; ``work_precision.json`` and ``.md``), and only for a file pdeops generated whose models predict the
solver's own state (else the solver would be scored on another field than the models).

What is chosen is chosen on the suite's validation trajectories, and what is reported is scored on the test ones:

- the sweep (``solver_sweep``) runs on the validation trajectories; a model's match (``matched_solver``) is the
  cheapest setting there at least as accurate as the model's test score on the suite's axis, then run, scored and
  timed on the test trajectories right after the model's own timing, in the same process (``runner.run_one``), so
  that the speed-up compares two warm timings taken under the same load;
- the closure's coefficient (``choose_closure``) is the best on the validation trajectories, and its row is scored
  and timed on the test ones.

Every timing is warm: one short solve first (kernels, FFT plans, cached coefficients), as the models get one step.
"""

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from pdeops._io import write_text_atomic
from pdeops.benchmark.scoring import lead_times, score_rollout
from pdeops.benchmark.suite import SolverSpec, Suite, scored_samples, solver_dir, validation_samples
from pdeops.data import open_dataset
from pdeops.data.recipes import SolverRebuildError, rebuild_resolved
from pdeops.data.setups import build_setup
from pdeops.evaluation.work_precision import (
    Accuracy,
    SolverSetting,
    StoredTruth,
    WorkPrecisionPoint,
    cheapest_at_accuracy,
    default_settings,
    read_sweep,
    run_setting,
    sweep,
    truth_from_file,
    write_sweep,
)
from pdeops.training.timing import synchronize
from solvers import Grid, SolverInstabilityError


def solver_result(suite: Suite, data: Path, out: Path) -> dict[str, Any] | None:
    """The reference solver as a row: the file's recipe solved at the stored resolution with the file's dt, from
    the last given frame, scored like the models (``score_rollout``) on the test split and timed warm (None for a
    file pdeops did not generate, or when the suite's models predict other fields than the solver's state).

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
    setup.solve(truth[:1, start, 0], [0.0, resolved.dt])  # warm-up, as the models get one
    synchronize(grid.device)
    clock = time.perf_counter()
    # every recipe's equation is autonomous: solve from time 0 over the frames' lead times
    solved = setup.solve(truth[:, start, 0], [float(t - times[start]) for t in times[start:stop]])
    synchronize(grid.device)
    seconds = time.perf_counter() - clock
    prediction, lead = solved[:, 1:, None], lead_times(times, start, stop)
    result = {
        "model": "solver",
        "seed": None,
        "settings": f"{resolved.recipe.name} at {list(grid.shape)}, dt {resolved.dt}",
        "scores": {
            "model": score_rollout(
                prediction,
                truth[:, start + 1 : stop],
                lead,
                threshold=suite.accuracy.threshold,
                vorticity=field == "vorticity",
            ),
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
    """The reference solver's work–precision sweep on the VALIDATION trajectories (``work_precision.default_settings``
    over the suite's ``solver`` axes), run once per benchmark directory: the setting each model is matched with is
    chosen on it (``matched_solver``), never on the test trajectories. None for a file pdeops did not generate, or a
    recipe solved exactly in time."""
    folder = solver_dir(out)
    if (folder / "work_precision.json").exists():
        return read_sweep(folder / "work_precision.json")
    truth = _truth(suite, data, "val")
    if truth is None:
        return None
    spec = suite.solver
    settings = default_settings(
        truth,
        schemes=spec.schemes,
        resolutions=spec.grids,
        dts=spec.dts,
        cfls=spec.cfl,
        dtypes=spec.dtypes,
    )
    points = sweep(truth, settings, device=device, max_seconds=spec.max_seconds, threshold=suite.accuracy.threshold)
    title = f"{suite.name}, validation trajectories {list(truth_samples(suite, data, 'val'))}"
    write_sweep(points, folder, title=title, device=device, accuracy=suite.accuracy)
    return points


def matched_solver(
    suite: Suite, data: Path, out: Path, model_score: float | None, model_frames_per_second: float, *, device: str
) -> dict[str, Any]:
    """The equal-accuracy baseline of one model: the cheapest setting of the validation sweep (``solver_sweep``)
    at least as accurate as the model's test score on the suite's axis, then run, scored and timed warm on the test
    trajectories in the calling process (the one that just timed the model), and the model's speed-up over it.

    Returns:
        ``accuracy``, ``model_score``, ``model_seconds_per_frame``, ``solver`` (the setting's label and fields,
        ``validation`` and ``test``: its score and seconds per frame on each split; None when no setting is as
        accurate on validation, or there is no sweep), ``speedup`` (the solver's test seconds per frame ÷ the
        model's; None without a match) and ``reason`` (why there is none, or None).
    """
    accuracy = suite.accuracy
    result: dict[str, Any] = {
        "accuracy": accuracy.to_json(),
        "model_score": model_score,
        "model_seconds_per_frame": 1 / model_frames_per_second,
        "solver": None,
        "speedup": None,
        "reason": None,
    }
    points = solver_sweep(suite, data, out, device=device)
    if not points:
        result["reason"] = "no solver sweep for this data (see the leaderboard's notes)"
        return result
    if model_score is None:
        result["reason"] = "the model's score is not finite"
        return result
    match = cheapest_at_accuracy(points, model_score, accuracy)
    if match is None:
        result["reason"] = f"no swept solver setting is as accurate as the model on validation ({len(points)} tried)"
        return result
    truth = _truth(suite, data, "test")
    assert truth is not None  # the sweep exists, so the file's solver rebuilds
    tested, _ = run_setting(truth, match.setting, device=device, threshold=accuracy.threshold)
    result["solver"] = {
        **match.to_json(),
        "validation": {"score": accuracy.of(match), "seconds_per_frame": match.seconds_per_frame},
        "test": {
            "score": accuracy.of(tested),
            "censored": tested.correlation_censored,
            "seconds_per_frame": tested.seconds_per_frame,
            "failure": tested.failure,
        },
    }
    if tested.seconds_per_frame is None:
        result["reason"] = f"the matched setting failed on the test trajectories: {tested.failure}"
        return result
    result["speedup"] = tested.seconds_per_frame * model_frames_per_second
    return result


def closure_result(suite: Suite, data: Path, out: Path, *, device: str = "cpu") -> dict[str, Any] | None:
    """The classical closure as a row: the file's recipe solved on the stored grid with hyperviscosity
    ``ν_h (−Δ)^p`` (``solvers.NavierStokes2D``), ν_h chosen among ``suite.solver.closure_factors`` (and none) on the
    validation trajectories by the suite's accuracy axis, then scored (``score_rollout``) and timed warm on the test
    trajectories. Computed once per benchmark folder (``runs/solver/closure.json``). None for a recipe other than
    2-D Navier–Stokes, or whenever the solver row has none.

    A candidate's ν_h is ``factor · ν k_c^{2 − 2p}``: at the stored grid's dealiasing cutoff ``k_c = (2π/L)·n/3``
    its damping rate is ``factor`` times the molecular one, ``ν k_c²``.

    Returns:
        The row's result (``scores.model``, ``frames_per_second``), ``settings`` (the chosen setting's label),
        ``chosen_on`` (the validation samples) and ``candidates`` (each factor, ν_h and validation score).
    """
    path = solver_dir(out) / "closure.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    validation = _truth(suite, data, "val")
    if validation is None or not validation.resolved.recipe.name.startswith("ns2d"):
        return None
    chosen, candidates = choose_closure(validation, suite.solver, suite.accuracy, device=device)
    test = _truth(suite, data, "test")
    assert test is not None
    point, solved = run_setting(test, chosen, device=device, threshold=suite.accuracy.threshold)
    if solved is None or point.seconds_per_frame is None:
        return None
    lead = torch.tensor(test.lead_times, dtype=torch.float64)
    result = {
        "model": "closure",
        "seed": None,
        "settings": chosen.label,
        "chosen_on": truth_samples(suite, data, "val"),
        "candidates": candidates,
        "scores": {
            "model": score_rollout(
                solved[:, :, None],
                test.frames[:, 1:, None],
                lead,
                threshold=suite.accuracy.threshold,
                vorticity=test.resolved.recipe.field == "vorticity",
            ),
            "frames_per_second": 1 / point.seconds_per_frame,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result, indent=1))
    return result


def choose_closure(
    validation: StoredTruth, spec: SolverSpec, accuracy: Accuracy, *, device: str = "cpu"
) -> tuple[SolverSetting, list[dict[str, Any]]]:
    """The closure setting that scores best on ``validation`` on the ``accuracy`` axis, among no closure and the
    hyperviscosities of ``spec.closure_factors`` (see ``closure_result``); ties go to the weaker closure.

    Args:
        validation: the stored frames of the validation trajectories (``truth_from_file``).
        spec: the suite's ``solver`` key (closure order and factors).
        accuracy: the suite's axis.

    Returns:
        The chosen setting, and one entry per candidate: ``factor``, ``hyperviscosity``, ``score`` (None if it
        failed) and ``failure``.
    """
    resolved = validation.resolved
    n, length = validation.stored_resolution, resolved.recipe.length
    cutoff = 2 * math.pi / length * n / 3
    p = spec.closure_order
    candidates, best, best_score = [], None, None
    for factor in (0.0, *sorted(spec.closure_factors)):
        nu_h = factor * resolved.params["viscosity"] * cutoff ** (2 - 2 * p)
        setting = SolverSetting(
            resolved.recipe.scheme, n, resolved.dt, hyperviscosity=nu_h, hyperviscosity_order=p, dtype="float32"
        )
        point, _ = run_setting(validation, setting, device=device, threshold=accuracy.threshold)
        score = accuracy.of(point)
        candidates.append({"factor": factor, "hyperviscosity": nu_h, "score": score, "failure": point.failure})
        strictly_better = score is not None and (
            best_score is None or (accuracy.as_accurate(score, best_score) and score != best_score)
        )
        if strictly_better:
            best, best_score = setting, score
    if best is None:
        raise SolverInstabilityError(
            f"Every closure candidate failed on the validation trajectories: {candidates}. Give solver.closure.factors "
            "that keep the coarse solve stable, or a smaller dt."
        )
    return best, candidates


def truth_samples(suite: Suite, data: Path, split: str) -> list[int]:
    """The suite's ``split`` (``"val"`` or ``"test"``) trajectories of ``data``."""
    with open_dataset(data) as dataset:
        count = dataset.sizes["sample"]
    return validation_samples(suite, count) if split == "val" else scored_samples(suite, count)


def _truth(suite: Suite, data: Path, split: str) -> StoredTruth | None:
    """The stored frames of the suite's ``split`` trajectories for the solver (``truth_from_file``: the last given
    frame, then the scored ones), or None when the solver cannot be rebuilt, steps exactly in time, or would be
    scored on another field than the models, or when the split is empty."""
    samples = truth_samples(suite, data, split)
    if not samples:
        return None
    try:
        truth = truth_from_file(data, samples=samples, context=suite.context, steps=suite.steps)
    except ValueError:  # SolverRebuildError is one
        return None
    return truth if models_predict_only(suite, truth.resolved.recipe.field) else None
