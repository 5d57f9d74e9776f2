"""Reproduce the claim of Lagrangian PINNs (Mojgani et al., CMAME 2023) against the PINN baselines of
Krishnapriyan et al. (NeurIPS 2021): the Eulerian PINN fails as the transport speed grows, the Lagrangian PINN does
not.

Problems (x ∈ [0, 2π) periodic, t ∈ [0, 1]): pure convection u_t + β u_x = 0, u₀ = sin x, for each β of ``--betas``;
viscous Burgers u_t + u u_x = 0.01 u_xx, u₀ = sin x + C, for each mean transport C of ``--burgers-offsets``.
Methods, each per seed: the PINN (L-BFGS), the curriculum PINN (warm-started along the rows in increasing speed; its
first row is the PINN itself), and the Lagrangian PINN (Adam then L-BFGS). Metric: relative L2 on the 256 × 100 grid
against the exact Fourier solution or the pseudo-spectral Burgers reference (of u − C for Burgers; see
``pdeops.evaluation.pinn_eval``). Wall-clock is per run (a curriculum run is one stage), on CPU, one thread.

    python scripts/reproduce_lpinn.py            # full protocol: 3 seeds, full budgets (about an hour or more)
    python scripts/reproduce_lpinn.py --quick    # 1 seed, smaller budgets, Burgers C ∈ {0, 30} (about 6-10 min)

Prints a table (mean ± std over seeds) and, last, one JSON line. ``--plots DIR`` saves u(x, t), the error and the
learned characteristics of the first seed's runs.
"""

import argparse
import json
import logging
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import torch

from pdeops.evaluation.pinn_eval import plot_pinn
from pdeops.losses.pinn_reference import evaluate_pinn
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import PINN, LagrangianPINN
from pdeops.training.collocation import (
    BaseCollocationTask,
    LagrangianPINNTask,
    OptimizerSchedule,
    PINNTask,
    fit_curriculum,
)

METHODS = ("pinn", "curriculum", "lpinn")
# Relative L2 reported by Krishnapriyan et al. (2021) for pure convection (PINN, and curriculum regularisation).
PAPER_PINN = {1.0: 7.84e-3, 10.0: 1.08e-2, 20.0: 0.750, 30.0: 0.897, 40.0: 0.961}
PAPER_CURRICULUM = {20.0: 9.84e-3, 30.0: 2.02e-2, 40.0: 5.33e-2}


@dataclass(frozen=True)
class Budget:
    """Training steps per run; an L-BFGS step is up to ``lbfgs_iterations`` iterations."""

    pinn_lbfgs_steps: int
    lpinn_adam_steps: int
    lpinn_lbfgs_steps: int
    lbfgs_iterations: int = 50


FULL = Budget(pinn_lbfgs_steps=100, lpinn_adam_steps=2000, lpinn_lbfgs_steps=40)
QUICK = Budget(pinn_lbfgs_steps=20, lpinn_adam_steps=300, lpinn_lbfgs_steps=10)


@dataclass
class Run:
    problem: TransportProblem
    method: str
    seed: int
    relative_l2: float
    seconds: float


def make_task(method: str, problem: TransportProblem, budget: Budget, seed: int) -> BaseCollocationTask:
    L.seed_everything(seed, verbose=False)
    if method == "lpinn":
        schedule = OptimizerSchedule(adam_steps=budget.lpinn_adam_steps, lbfgs_iterations=budget.lbfgs_iterations)
        return LagrangianPINNTask(LagrangianPINN(), problem, schedule, seed=seed)
    return PINNTask(PINN(), problem, OptimizerSchedule(lbfgs_iterations=budget.lbfgs_iterations), seed=seed)


def make_trainer(steps: int) -> L.Trainer:
    return L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )


def steps(method: str, budget: Budget) -> int:
    return budget.lpinn_adam_steps + budget.lpinn_lbfgs_steps if method == "lpinn" else budget.pinn_lbfgs_steps


def record(task: BaseCollocationTask, method: str, seed: int, seconds: float, plots: Path | None) -> Run:
    evaluation = evaluate_pinn(task.model, task.problem)
    run = Run(task.problem, method, seed, evaluation.relative_l2, seconds)
    print(f"  {label(task.problem):<18} {method:<10} seed {seed}: rel L2 {run.relative_l2:.3g} ({seconds:.1f} s)")
    if plots is not None:
        model = task.model if isinstance(task.model, LagrangianPINN) else None
        name = f"{label(task.problem)}_{method}.png".replace(" ", "").replace("=", "")
        plot_pinn(evaluation, plots / name, model=model, title=f"{label(task.problem)}, {method}")
    return run


def fit_one(
    method: str, problem: TransportProblem, budget: Budget, seed: int, plots: Path | None
) -> tuple[Run, BaseCollocationTask]:
    task = make_task(method, problem, budget, seed)
    start = time.perf_counter()
    make_trainer(steps(method, budget)).fit(task)
    return record(task, method, seed, time.perf_counter() - start, plots), task


def fit_family(problems: list[TransportProblem], budget: Budget, seed: int, plots: Path | None) -> list[Run]:
    """PINN and LPINN on every problem, and the curriculum along them, starting from the first problem's PINN."""
    runs, pinns = [], []
    for problem in problems:
        for method in ("pinn", "lpinn"):
            run, task = fit_one(method, problem, budget, seed, plots)
            runs.append(run)
            if method == "pinn":
                pinns.append(task)
    first_pinn = pinns[0]
    runs.append(Run(first_pinn.problem, "curriculum", seed, runs[0].relative_l2, runs[0].seconds))
    stages = fit_curriculum(
        lambda problem: make_task("pinn", problem, budget, seed),
        problems[1:],
        lambda: make_trainer(steps("pinn", budget)),
        start=first_pinn.model,
    )
    clock = time.perf_counter()
    for task in stages:
        runs.append(record(task, "curriculum", seed, time.perf_counter() - clock, plots))
        clock = time.perf_counter()
    return runs


def label(problem: TransportProblem) -> str:
    if problem.equation == "convection":
        return f"convection β={problem.beta:g}"
    return f"Burgers C={problem.offset:g}"


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: list[Run], problems: list[TransportProblem]) -> list[dict]:
    rows = []
    for problem in problems:
        row: dict = {"problem": label(problem), "equation": problem.equation, "speed": problem.transport_speed}
        for method in METHODS:
            chosen = [run for run in runs if run.problem == problem and run.method == method]
            mean, std = mean_std([run.relative_l2 for run in chosen])
            row[method] = {
                "relative_l2_mean": mean,
                "relative_l2_std": std,
                "relative_l2": [run.relative_l2 for run in chosen],
                "seconds_mean": statistics.fmean(run.seconds for run in chosen),
            }
        rows.append(row)
    return rows


def print_table(rows: list[dict], seeds: int) -> None:
    print(f"\nrelative L2 on the 256 × 100 grid, mean ± std over {seeds} seed(s); wall-clock s per run (CPU, 1 thread)")
    methods = "".join(f"{method:>22}{'s':>6}" for method in METHODS)
    print(f"{'problem':<18}{methods}{'paper PINN':>12}{'paper curr.':>12}")
    for row in rows:
        cells = "".join(
            f"{row[m]['relative_l2_mean']:>12.3g} ± {row[m]['relative_l2_std']:<7.2g}{row[m]['seconds_mean']:>6.0f}"
            for m in METHODS
        )
        speed = row["speed"] if row["equation"] == "convection" else None
        paper = [f"{table[speed]:.3g}" if speed in table else "-" for table in (PAPER_PINN, PAPER_CURRICULUM)]
        print(f"{row['problem']:<18}{cells}{paper[0]:>12}{paper[1]:>12}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed, the QUICK budgets, Burgers C ∈ {0, 30}")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per method (default 3; 1 with --quick)")
    parser.add_argument("--betas", type=float, nargs="+", default=[1, 10, 20, 30, 40, 50])
    parser.add_argument("--burgers-offsets", type=float, nargs="*", default=None, help="default 0 10 20 30")
    parser.add_argument("--nu", type=float, default=0.01, help="Burgers viscosity")
    parser.add_argument("--plots", type=Path, default=None, help="directory for the first seed's figures")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    budget = QUICK if args.quick else FULL
    seeds = args.seeds or (1 if args.quick else 3)
    offsets = args.burgers_offsets if args.burgers_offsets is not None else ([0, 30] if args.quick else [0, 10, 20, 30])
    families = [[TransportProblem("convection", beta=beta) for beta in sorted(args.betas)]]
    if offsets:
        families.append([TransportProblem("burgers", nu=args.nu, offset=c) for c in sorted(offsets)])
    print(f"# budget {budget}, seeds {seeds}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    started = time.perf_counter()
    runs = [
        run
        for seed in range(seeds)
        for family in families
        for run in fit_family(family, budget, seed, args.plots if seed == 0 else None)
    ]
    rows = summarize(runs, [problem for family in families for problem in family])
    print_table(rows, seeds)
    total = time.perf_counter() - started
    print(f"# total wall-clock {total:.0f} s")
    summary = {"benchmark": "reproduce_lpinn", "quick": args.quick, "seeds": seeds, "budget": asdict(budget)}
    print(json.dumps({**summary, "total_seconds": round(total, 1), "rows": rows}))


if __name__ == "__main__":
    main()
