"""The PINN reproduction protocol: Lagrangian PINNs (Mojgani et al., CMAME 2023) against the PINN and the curriculum
PINN of Krishnapriyan et al. (NeurIPS 2021), on 1-D periodic transport (``scripts/reproduce_lpinn.py`` runs it).

Problems (x ∈ [0, 2π) periodic, t ∈ [0, 1]): pure convection u_t + β u_x = 0, u₀ = sin x; viscous Burgers
u_t + u u_x = ν u_xx, u₀ = sin x + C. Every run is ``pdeops fit`` on a shipped config
(``<configs>/{convection1d,burgers1d}/{pinn,lpinn}.yaml``) through ``pdeops.training.fit.fit_run``, with overrides
for the problem, the seed, the budget and no validation; it writes ``fit.yaml``, ``config.yaml`` and
``checkpoints/last.ckpt`` under its own directory. Scores: the relative L2 error on the 256 × 100 grid against the
exact or pseudo-spectral reference (``pdeops.losses.pinn_reference``), and the held-out loss
(``BaseCollocationTask.held_out_loss``: the training loss on fresh random points, no reference needed).
Wall-clock is that of ``Trainer.fit`` (``pdeops.training.timing.FitClock``), CPU, one thread.

Methods, per seed: the PINN (L-BFGS); the Lagrangian PINN (Adam, then L-BFGS); the curriculum PINN
(``fit_curriculum``): the PINN at the first speed, then one ``pdeops fit`` per stage at increasing β, each
warm-started from the previous stage's ``last.ckpt``, through every multiple of the step ``Δβ`` up to the largest β;
and its control, the PINN at the curriculum's budget (``fit_equal_budget``): the plain PINN trained afresh at each
curriculum target β for as many L-BFGS steps as the curriculum had spent on reaching that β
(``curriculum_lbfgs_steps``), so that "the curriculum beats the PINN" is not "more steps beat fewer".

The curriculum's schedule: Krishnapriyan et al. describe the method (train at a small β, re-initialise the next β's
network with those weights) but neither the paper's text we could consult nor their code
(``a1k12/characterizing-pinns-failure-modes``, which trains one β per call: L-BFGS, lr 1, up to 10⁵ iterations,
history 50, strong Wolfe) gives the β steps or the epochs per stage. ``select_curriculum_step`` therefore chooses
``Δβ`` among candidates at an equal total L-BFGS budget, on validation seeds that are not reported, by the
held-out loss (never the test error), and ``curriculum_study`` then reports the chosen schedule on the reported
seeds, with the PINN and the LPINN on the same seeds for a paired comparison.
"""

import json
import logging
import math
import statistics
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from pdeops.benchmark.statistics import cell, interval, paired_ratio, stat, verdict
from pdeops.evaluation.pinn_eval import plot_pinn
from pdeops.losses.pinn_reference import evaluate_pinn
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import LagrangianPINN
from pdeops.training.collocation import BaseCollocationTask
from pdeops.training.fit import fit_run
from pdeops.training.timing import FitClock, find_callback

METHODS = ("pinn", "curriculum", "lpinn", "pinn_equal_budget")
NAMES = {"pinn": "PINN", "curriculum": "curriculum", "lpinn": "LPINN", "pinn_equal_budget": "PINN, curriculum's budget"}
"""The methods as tables name them."""
PAPER_PINN = {1.0: 7.84e-3, 10.0: 1.08e-2, 20.0: 0.750, 30.0: 0.897, 40.0: 0.961}
"""Relative L2 that Krishnapriyan et al. (2021) report for the PINN on pure convection."""
PAPER_CURRICULUM = {20.0: 9.84e-3, 30.0: 2.02e-2, 40.0: 5.33e-2}
"""The same for their curriculum regularisation."""

RUN_SETTINGS = {
    "trainer": {
        "accelerator": "cpu",
        "logger": False,
        "limit_val_batches": 0,
        "num_sanity_val_steps": 0,
        # One step per epoch and last.ckpt after every epoch (linked to this), so that last.ckpt is the final weights
        # whatever the budget; without validation, Lightning saves on epoch end only when this is 1.
        "check_val_every_n_epoch": 1,
    }
}
"""Trainer overrides of every run, besides ``fit_run``'s quiet ones: CPU, no logger, no validation (the score is
taken after)."""


@dataclass(frozen=True)
class Budget:
    """Training steps per run; an L-BFGS step is up to ``lbfgs_iterations`` iterations.

    ``curriculum_steps`` is the L-BFGS budget of a whole curriculum after its first stage (the PINN at the first
    speed), shared equally by its stages (at least one step each), so that schedules of different ``Δβ`` cost the
    same.
    """

    pinn_lbfgs_steps: int
    lpinn_adam_steps: int
    lpinn_lbfgs_steps: int
    curriculum_steps: int
    lbfgs_iterations: int = 50


FULL = Budget(pinn_lbfgs_steps=100, lpinn_adam_steps=2000, lpinn_lbfgs_steps=40, curriculum_steps=600)
QUICK = Budget(pinn_lbfgs_steps=20, lpinn_adam_steps=300, lpinn_lbfgs_steps=10, curriculum_steps=120)


@dataclass
class Run:
    """One scored run. ``seconds`` is its ``Trainer.fit`` time (for a curriculum, the chain up to this stage)."""

    problem: TransportProblem
    method: str
    seed: int
    relative_l2: float
    held_out_loss: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def slug(problem: TransportProblem) -> str:
    """A directory name for the problem."""
    if problem.equation == "convection":
        return f"convection_beta{problem.beta:g}"
    return f"burgers_nu{problem.nu:g}_C{problem.offset:g}"


def label(problem: TransportProblem) -> str:
    """The problem as a table row names it."""
    if problem.equation == "convection":
        return f"convection β={problem.beta:g}"
    return f"Burgers C={problem.offset:g}"


def fit_args(
    problem: TransportProblem,
    seed: int,
    lbfgs_steps: int,
    budget: Budget,
    *,
    adam_steps: int = 0,
    warm_start: str | None = None,
) -> list[str]:
    """``pdeops fit`` arguments of one run after its config: this run's problem, seed, budget and warm start."""
    args = ["--seed_everything", str(seed), "--model.init_args.seed", str(seed)]
    for name, value in asdict(problem).items():
        args += [f"--model.init_args.problem.{name}", str(value)]
    args += ["--model.init_args.schedule.lbfgs_iterations", str(budget.lbfgs_iterations)]
    if adam_steps:
        args += ["--model.init_args.schedule.adam_steps", str(adam_steps)]
    if warm_start is not None:
        args += ["--model.init_args.warm_start", warm_start]
    trainer = ["--trainer.max_steps", str(adam_steps + lbfgs_steps)]
    return [*args, *trainer, f"--trainer.callbacks+={FitClock.__module__}.{FitClock.__qualname__}"]


def fit_one(
    config: Path,
    problem: TransportProblem,
    seed: int,
    root: Path,
    lbfgs_steps: int,
    budget: Budget,
    *,
    method: str,
    adam_steps: int = 0,
    warm_start: str | None = None,
    plots: Path | None = None,
) -> tuple[Run, Path]:
    """Train one run through ``pdeops fit`` (``fit_run``, afresh: it is timed in this process) in ``root``, score it;
    returns the run and its ``last.ckpt``."""
    fitted = fit_run(
        [config],
        root,
        overrides=RUN_SETTINGS,
        args=fit_args(problem, seed, lbfgs_steps, budget, adam_steps=adam_steps, warm_start=warm_start),
        resume=False,
    )
    cli, last = fitted.cli, fitted.last
    assert cli is not None  # fitted in this call (resume=False)
    task = cli.model
    if not isinstance(task, BaseCollocationTask):
        raise TypeError(f"{config}: expected a collocation task (PINNTask, LagrangianPINNTask), got {type(task)}.")
    clock = find_callback(cli.trainer, FitClock)
    seconds = float(clock.seconds or 0.0)  # type: ignore[attr-defined]
    evaluation = evaluate_pinn(task.model, problem)
    run = Run(problem, method, seed, evaluation.relative_l2, task.held_out_loss(), seconds)
    if plots is not None:
        model = task.model if isinstance(task.model, LagrangianPINN) else None
        name = f"{slug(problem)}_{method}.png"
        plot_pinn(evaluation, plots / name, model=model, title=f"{label(problem)}, {method}")
    return run, last


def stage_steps(speeds: Sequence[float], budget: Budget) -> int:
    """The L-BFGS steps of each curriculum stage after the first: ``budget.curriculum_steps`` shared equally by them
    (rounded, at least one)."""
    return max(1, round(budget.curriculum_steps / max(1, len(speeds) - 1)))


def curriculum_lbfgs_steps(speeds: Sequence[float], budget: Budget) -> dict[float, int]:
    """The L-BFGS steps a curriculum over ``speeds`` (``fit_curriculum``) has spent when it finishes each stage: the
    first stage's ``budget.pinn_lbfgs_steps``, plus ``stage_steps`` per later stage up to and including this one.
    E.g. ``([1, 10, 20], QUICK) -> {1: 20, 10: 80, 20: 140}``."""
    per_stage = stage_steps(speeds, budget)
    return {beta: budget.pinn_lbfgs_steps + k * per_stage for k, beta in enumerate(speeds)}


def curriculum_speeds(start: float, targets: Sequence[float], step: float) -> list[float]:
    """The stages of a curriculum: ``start``, every multiple of ``step`` above it up to ``max(targets)``, and every
    target (so that each target is a stage). E.g. ``(1, [20, 30], 10) -> [1, 10, 20, 30]``."""
    if step <= 0:
        raise ValueError(f"the curriculum step must be positive, got {step}.")
    top = max(targets)
    multiples = [k * step for k in range(1, int(math.floor(top / step + 1e-9)) + 1)]
    return sorted({start, *(s for s in [*multiples, *targets] if start < s <= top)})


def fit_curriculum(
    configs: Path,
    speeds: Sequence[float],
    seed: int,
    root: Path,
    budget: Budget,
    *,
    start: tuple[Run, Path] | None = None,
    plots: Path | None = None,
    targets: Sequence[float] = (),
) -> Iterator[Run]:
    """The curriculum PINN on pure convection: one ``pdeops fit`` of ``<configs>/convection1d/pinn.yaml`` per speed,
    each starting from the previous stage's ``last.ckpt``.

    Args:
        configs: the configs directory.
        speeds: the stages' β, increasing; the first is the plain PINN (``start`` if given, else trained here with
            ``budget.pinn_lbfgs_steps``); the others share ``budget.curriculum_steps`` equally.
        seed: the run's seed (initialisation and collocation points).
        root: the chain's directory; each stage writes ``<root>/beta<β>/``.
        budget: the budgets.
        start: an already trained PINN at ``speeds[0]`` (its run and checkpoint).
        plots: where to save the figures of the ``targets`` stages, if anywhere.
        targets: the stages to score and yield (all stages when empty).

    Yields:
        The run of each scored stage as soon as it is trained; ``seconds`` is the chain's time so far.
    """
    if list(speeds) != sorted(speeds) or len(set(speeds)) != len(speeds):
        raise ValueError(f"curriculum speeds must increase, got {list(speeds)}.")
    config = configs / "convection1d" / "pinn.yaml"
    problem = TransportProblem("convection", beta=speeds[0])
    if start is None:
        start = fit_one(
            config, problem, seed, root / f"beta{speeds[0]:g}", budget.pinn_lbfgs_steps, budget, method="curriculum"
        )
    run, checkpoint = start
    elapsed = run.seconds
    if not targets or speeds[0] in targets:
        yield replace(run, method="curriculum")
    per_stage = stage_steps(speeds, budget)
    spent = curriculum_lbfgs_steps(speeds, budget)
    for beta in speeds[1:]:
        problem = TransportProblem("convection", beta=beta)
        scored = not targets or beta in targets
        run, last = fit_one(
            config,
            problem,
            seed,
            root / f"beta{beta:g}",
            per_stage,
            budget,
            method="curriculum",
            warm_start=str(checkpoint),
            plots=plots if scored else None,
        )
        elapsed += run.seconds
        checkpoint = last
        if scored:
            extra = {"stages": speeds.index(beta), "stage_steps": per_stage, "lbfgs_steps": spent[beta]}
            yield replace(run, seconds=elapsed, extra=extra)


def fit_equal_budget(
    configs: Path,
    speeds: Sequence[float],
    targets: Sequence[float],
    seed: int,
    root: Path,
    budget: Budget,
    *,
    pinns: Mapping[float, Run] | None = None,
    plots: Path | None = None,
) -> Iterator[Run]:
    """The curriculum's control: the plain PINN (``<configs>/convection1d/pinn.yaml``, from its own initialisation) at
    each target β, trained for the L-BFGS steps the curriculum over ``speeds`` had spent on reaching it
    (``curriculum_lbfgs_steps``).

    Args:
        configs: the configs directory.
        speeds: the curriculum's stages (``curriculum_speeds``); every target must be one of them.
        targets: the β to train the control at.
        seed: the seed (the curriculum's).
        root: the seed's directory; each control writes ``<root>/<slug>/pinn_equal_budget/``.
        budget: the budgets (the curriculum's).
        pinns: the plain PINN's runs by β, if trained already: where the curriculum's budget is the PINN's own (its
            first stage), that run is the control and is not trained again.
        plots: where to save the figures, if anywhere.

    Yields:
        The control's run at each target (method ``pinn_equal_budget``, ``extra["lbfgs_steps"]``).
    """
    spent = curriculum_lbfgs_steps(speeds, budget)
    missing = [beta for beta in targets if beta not in spent]
    if missing:
        raise ValueError(f"the targets {missing} are no stages of the curriculum {list(speeds)}; pass its speeds.")
    config = configs / "convection1d" / "pinn.yaml"
    for beta in targets:
        steps = spent[beta]
        problem = TransportProblem("convection", beta=beta)
        if pinns is not None and beta in pinns and steps == budget.pinn_lbfgs_steps:
            run = pinns[beta]
        else:
            folder = root / slug(problem) / "pinn_equal_budget"
            run, _ = fit_one(config, problem, seed, folder, steps, budget, method="pinn_equal_budget", plots=plots)
        yield replace(run, method="pinn_equal_budget", extra={"lbfgs_steps": steps})


# --- summaries ------------------------------------------------------------------------------------------------------
def paired_errors(runs_a: Sequence[Run], runs_b: Sequence[Run]) -> dict[str, Any]:
    """Per seed, ``error_a / error_b`` (below 1: a is better) with its 95 % interval over seeds (``paired_ratio``), and
    ``log10_per_seed``, the orders of magnitude between the two.

    Raises:
        ValueError: when the two lists do not hold the same seeds.
    """
    a = {run.seed: run.relative_l2 for run in runs_a}
    b = {run.seed: run.relative_l2 for run in runs_b}
    if a.keys() != b.keys():
        raise ValueError(f"a paired comparison needs the same seeds, got {sorted(a)} and {sorted(b)}.")
    ratio = paired_ratio(a, b)
    logs = {seed: math.log10(r) for seed, r in zip(ratio["seeds"], ratio["ratios"], strict=True)}
    return {**ratio, "log10_per_seed": logs}


def paired_against_curriculum(runs: Sequence[Run], problems: Sequence[TransportProblem]) -> dict[str, Any]:
    """Per problem (by its ``label``), ``paired_errors`` of the curriculum against every other method that has runs
    there, under ``curriculum_vs_<method>``."""
    paired = {}
    for problem in problems:
        by = {m: [run for run in runs if run.problem == problem and run.method == m] for m in METHODS}
        if by["curriculum"]:
            paired[label(problem)] = {
                f"curriculum_vs_{m}": paired_errors(by["curriculum"], by[m])
                for m in METHODS
                if m != "curriculum" and by[m]
            }
    return paired


def summarize(
    runs: Sequence[Run], problems: Sequence[TransportProblem], methods: Sequence[str] = METHODS
) -> list[dict]:
    """One row per problem: per method, the relative L2 and held-out loss (mean, std, per seed) and the seconds."""
    rows = []
    for problem in problems:
        row: dict[str, Any] = {
            "problem": label(problem),
            "equation": problem.equation,
            "speed": problem.transport_speed,
        }
        for method in methods:
            chosen = [run for run in runs if run.problem == problem and run.method == method]
            if not chosen:
                continue
            row[method] = {
                "relative_l2": stat([run.relative_l2 for run in chosen]),
                "relative_l2_per_seed": {run.seed: run.relative_l2 for run in chosen},
                "held_out_loss": stat([run.held_out_loss for run in chosen]),
                "seconds_mean": statistics.fmean(run.seconds for run in chosen),
            }
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict], methods: Sequence[str] = METHODS) -> str:
    """The rows as a Markdown table: relative L2 mean ± std per method, the seconds per run, and the paper's."""
    names = [NAMES.get(m, m) for m in methods]
    head = ["problem", *(f"{n} rel. L2" for n in names), *(f"{n} s" for n in names), "paper PINN", "paper curr."]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["problem"]]
        cells += [cell(row[m]["relative_l2"]) if m in row else "–" for m in methods]
        cells += [f"{row[m]['seconds_mean']:.0f}" if m in row else "–" for m in methods]
        speed = row["speed"] if row["equation"] == "convection" else None
        cells += [f"{table[speed]:.3g}" if speed in table else "–" for table in (PAPER_PINN, PAPER_CURRICULUM)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the two protocols ----------------------------------------------------------------------------------------------
def quiet() -> None:
    """One thread, and no Lightning banners or warnings (the runs print their own line)."""
    torch.set_num_threads(1)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")


def _say(run: Run) -> None:
    print(
        f"  {label(run.problem):<18} {run.method:<10} seed {run.seed}: rel L2 {run.relative_l2:.3g}, held-out loss "
        f"{run.held_out_loss:.3g} ({run.seconds:.1f} s)",
        flush=True,
    )


def reproduce_table(
    configs: Path,
    out: Path,
    budget: Budget,
    seeds: Sequence[int],
    betas: Sequence[float],
    burgers_offsets: Sequence[float],
    *,
    nu: float = 0.01,
    curriculum_step: float = 10.0,
    plots: Path | None = None,
) -> dict[str, Any]:
    """PINN and LPINN on every problem, the curriculum (step ``curriculum_step``) on convection and its control at
    the curriculum's budget (``fit_equal_budget``, after the seed's other runs, which it leaves as they were); per
    seed.

    The Burgers curriculum, when there are offsets, warm-starts along the offsets in order (each a stage with the
    PINN's budget), as the speed there is the mean transport C.

    Returns:
        ``{"rows": summarize(...), "paired": paired_against_curriculum(...) on convection, "runs": [...],
        "total_seconds": ...}``.
    """
    started = time.perf_counter()
    runs: list[Run] = []
    convection = [TransportProblem("convection", beta=beta) for beta in sorted(betas)]
    burgers = [TransportProblem("burgers", nu=nu, offset=c) for c in sorted(burgers_offsets)]
    for seed in seeds:
        figures = plots if seed == seeds[0] else None
        speeds = (
            curriculum_speeds(convection[0].beta, [p.beta for p in convection], curriculum_step) if convection else []
        )
        convection_pinns: dict[float, Run] = {}
        for family in (convection, burgers):
            pinns: list[tuple[Run, Path]] = []
            for problem in family:
                equation = "convection1d" if problem.equation == "convection" else "burgers1d"
                root = out / f"seed{seed}" / slug(problem)
                pinn = fit_one(
                    configs / equation / "pinn.yaml",
                    problem,
                    seed,
                    root / "pinn",
                    budget.pinn_lbfgs_steps,
                    budget,
                    method="pinn",
                    plots=figures,
                )
                lpinn, _ = fit_one(
                    configs / equation / "lpinn.yaml",
                    problem,
                    seed,
                    root / "lpinn",
                    budget.lpinn_lbfgs_steps,
                    budget,
                    method="lpinn",
                    adam_steps=budget.lpinn_adam_steps,
                    plots=figures,
                )
                pinns.append(pinn)
                if family is convection:
                    convection_pinns[problem.beta] = pinn[0]
                runs += [pinn[0], lpinn]
                _say(pinn[0])
                _say(lpinn)
            if family is convection and family:
                stages = fit_curriculum(
                    configs,
                    speeds,
                    seed,
                    out / f"seed{seed}" / "curriculum",
                    budget,
                    start=pinns[0],
                    plots=figures,
                    targets=[p.beta for p in family],
                )
            elif family:
                stages = _burgers_curriculum(configs, family, seed, out, budget, pinns[0])
            else:
                continue
            for run in stages:
                runs.append(run)
                _say(run)
        targets = [p.beta for p in convection]
        for run in fit_equal_budget(
            configs, speeds, targets, seed, out / f"seed{seed}", budget, pinns=convection_pinns, plots=figures
        ):
            runs.append(run)
            _say(run)
    return {
        "rows": summarize(runs, [*convection, *burgers]),
        "paired": paired_against_curriculum(runs, convection),
        "runs": [_plain(run) for run in runs],
        "total_seconds": time.perf_counter() - started,
    }


def _burgers_curriculum(
    configs: Path, family: Sequence[TransportProblem], seed: int, out: Path, budget: Budget, start: tuple[Run, Path]
) -> Iterator[Run]:
    run, checkpoint = start
    yield replace(run, method="curriculum")
    for problem in family[1:]:
        root = out / f"seed{seed}" / slug(problem) / "curriculum"
        run, checkpoint = fit_one(
            configs / "burgers1d" / "pinn.yaml",
            problem,
            seed,
            root,
            budget.pinn_lbfgs_steps,
            budget,
            method="curriculum",
            warm_start=str(checkpoint),
        )
        yield run


def select_curriculum_step(
    configs: Path,
    out: Path,
    budget: Budget,
    candidates: Sequence[float],
    targets: Sequence[float],
    validation_seeds: Sequence[int],
    *,
    start: float = 1.0,
) -> dict[str, Any]:
    """Choose ``Δβ`` on validation seeds by the held-out loss at the targets (its geometric mean), never by the
    test error. Each candidate's chain has the same total budget (``Budget.curriculum_steps``).

    Returns:
        ``{"chosen": Δβ, "candidates": {Δβ: {"held_out_loss_geomean", "relative_l2_mean" (shown, not used),
        "stages", "stage_steps", "seconds"}}}``.
    """
    table: dict[float, dict[str, Any]] = {}
    for step in candidates:
        speeds = curriculum_speeds(start, targets, step)
        runs = []
        for seed in validation_seeds:
            root = out / "selection" / f"step{step:g}" / f"seed{seed}"
            for run in fit_curriculum(configs, speeds, seed, root, budget, targets=targets):
                runs.append(run)
                _say(run)
        logs = [math.log10(run.held_out_loss) for run in runs]
        table[step] = {
            "held_out_loss_geomean": 10 ** statistics.fmean(logs),
            "relative_l2_mean": statistics.fmean(run.relative_l2 for run in runs),
            "stages": len(speeds),
            "stage_steps": stage_steps(speeds, budget),
            "seconds": sum(run.seconds for run in runs if run.problem.beta == max(targets)),
        }
        print(f"# Δβ = {step:g}: held-out loss (geometric mean) {table[step]['held_out_loss_geomean']:.3g}", flush=True)
    chosen = min(table, key=lambda step: table[step]["held_out_loss_geomean"])
    return {"chosen": chosen, "candidates": table, "validation_seeds": list(validation_seeds), "targets": list(targets)}


def curriculum_study(
    configs: Path,
    out: Path,
    budget: Budget,
    seeds: Sequence[int],
    targets: Sequence[float],
    candidates: Sequence[float],
    validation_seeds: Sequence[int],
    *,
    plots: Path | None = None,
) -> dict[str, Any]:
    """``select_curriculum_step``, then PINN, LPINN, the chosen curriculum and its control at the curriculum's budget
    (``fit_equal_budget``) at each target on ``seeds``, with the paired per-seed comparison of the curriculum against
    each of the others (``paired_against_curriculum``)."""
    started = time.perf_counter()
    selection = select_curriculum_step(configs, out, budget, candidates, targets, validation_seeds)
    step = selection["chosen"]
    print(f"# chosen Δβ = {step:g} ({time.perf_counter() - started:.0f} s so far)", flush=True)
    problems = [TransportProblem("convection", beta=beta) for beta in sorted(targets)]
    runs: list[Run] = []
    for seed in seeds:
        figures = plots if seed == seeds[0] else None
        for problem in problems:
            root = out / f"seed{seed}" / slug(problem)
            for method, name in (("pinn", "pinn.yaml"), ("lpinn", "lpinn.yaml")):
                adam = budget.lpinn_adam_steps if method == "lpinn" else 0
                steps = budget.lpinn_lbfgs_steps if method == "lpinn" else budget.pinn_lbfgs_steps
                run, _ = fit_one(
                    configs / "convection1d" / name,
                    problem,
                    seed,
                    root / method,
                    steps,
                    budget,
                    method=method,
                    adam_steps=adam,
                    plots=figures,
                )
                runs.append(run)
                _say(run)
        speeds = curriculum_speeds(1.0, targets, step)
        for run in fit_curriculum(
            configs, speeds, seed, out / f"seed{seed}" / "curriculum", budget, plots=figures, targets=targets
        ):
            runs.append(run)
            _say(run)
        for run in fit_equal_budget(configs, speeds, sorted(targets), seed, out / f"seed{seed}", budget, plots=figures):
            runs.append(run)
            _say(run)
    return {
        "selection": selection,
        "rows": summarize(runs, problems),
        "paired": paired_against_curriculum(runs, problems),
        "runs": [_plain(run) for run in runs],
        "total_seconds": time.perf_counter() - started,
    }


def selection_table(selection: dict[str, Any]) -> str:
    """The schedule selection as a Markdown table (the relative L2 shown for information: it did not choose)."""
    lines = [
        "| Δβ | stages | L-BFGS steps per stage | held-out loss (geometric mean) | rel. L2 (not used) | s per chain |",
        "|---|---|---|---|---|---|",
    ]
    for step, c in selection["candidates"].items():
        mark = " (chosen)" if step == selection["chosen"] else ""
        lines.append(
            f"| {step:g}{mark} | {c['stages']} | {c['stage_steps']} | {c['held_out_loss_geomean']:.3g} | "
            f"{c['relative_l2_mean']:.3g} | {c['seconds']:.0f} |"
        )
    return "\n".join(lines)


def paired_table(paired: dict[str, Any]) -> str:
    """The paired comparison (``paired_against_curriculum``) as a Markdown table: per other method, the typical error
    ratio curriculum / other over the seeds (geometric mean) with its 95 % interval, the verdict, and the seeds where
    the curriculum is lower; "–" where a problem has no such comparison."""
    others = [m for m in METHODS if any(f"curriculum_vs_{m}" in pair for pair in paired.values())]
    head = ["problem"]
    for m in others:
        head += [f"curriculum / {NAMES[m]}", "95 % CI", "verdict", "curriculum lower"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, pair in paired.items():
        cells = [name]
        for m in others:
            ratio = pair.get(f"curriculum_vs_{m}")
            if ratio is None:
                cells += ["–"] * 4
                continue
            cells += [
                f"{ratio['geometric_mean']:.3g}",
                interval(ratio["ci95"]),
                verdict(ratio, "curriculum", NAMES[m]),
                f"{ratio['below_one']}/{ratio['n']}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plain(run: Run) -> dict[str, Any]:
    return {**asdict(run), "problem": asdict(run.problem)}


def write_json(record: dict[str, Any], path: Path) -> None:
    """The record as JSON, written to a temporary name, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=1, default=str))
    partial.replace(path)
