"""Reproduce the claim of Lagrangian PINNs (Mojgani et al., CMAME 2023) against the PINN baselines of
Krishnapriyan et al. (NeurIPS 2021): the Eulerian PINN fails as the transport speed grows, the Lagrangian PINN does
not.

Problems (x ∈ [0, 2π) periodic, t ∈ [0, 1]): pure convection u_t + β u_x = 0, u₀ = sin x, for each β of ``--betas``;
viscous Burgers u_t + u u_x = 0.01 u_xx, u₀ = sin x + C, for each mean transport C of ``--burgers-offsets``.
Methods, each per seed: the PINN (L-BFGS), the curriculum PINN (warm-started along the rows in increasing speed; its
first row is the PINN itself), and the Lagrangian PINN (Adam then L-BFGS). Metric: relative L2 on the 256 × 100 grid
against the exact Fourier solution or the pseudo-spectral Burgers reference (of u − C for Burgers; see
``pdeops.losses.pinn_reference``). Wall-clock is per run (a curriculum run is one stage), on CPU, one thread.

Every run is ``pdeops fit`` on the shipped config (``configs/{convection1d,burgers1d}/{pinn,lpinn}.yaml``), through
``pdeops.training.cli.lightning_cli``, with overrides for the problem (β, or ν and C), the seed, the budget and no
validation. A curriculum stage is the PINN config with ``--model.init_args.warm_start`` set to the previous stage's
``last.ckpt`` (the first stage starts from the PINN of the first row). Each run writes its ``config.yaml`` and
``checkpoints/last.ckpt`` under ``--out``/seed<s>/<problem>/<method>. The wall-clock of a run is that of its
``Trainer.fit`` (a ``FitClock`` callback added to the run's trainer), as before the port: parsing the config and
building the task are not counted.

    python scripts/reproduce_lpinn.py            # full protocol: 3 seeds, full budgets (about an hour or more)
    python scripts/reproduce_lpinn.py --quick    # 1 seed, smaller budgets, Burgers C ∈ {0, 30} (about 6-10 min)

Prints a table (mean ± std over seeds) and, last, one JSON line. ``--plots DIR`` saves u(x, t), the error and the
learned characteristics of the first seed's runs.
"""

import argparse
import json
import logging
import shutil
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from pdeops.evaluation.pinn_eval import plot_pinn
from pdeops.losses.pinn_reference import evaluate_pinn
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import LagrangianPINN
from pdeops.training import BaseCollocationTask
from pdeops.training.cli import lightning_cli

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


CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = {"convection": CONFIG_DIR / "convection1d", "burgers": CONFIG_DIR / "burgers1d"}
"""The shipped configs of each equation: ``pinn.yaml`` (the PINN and the curriculum) and ``lpinn.yaml``."""

QUIET_TRAINER = [
    "--trainer.accelerator", "cpu",
    "--trainer.logger", "false",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.limit_val_batches", "0",
    "--trainer.num_sanity_val_steps", "0",
]  # fmt: skip
"""Trainer overrides of every run: CPU, no logger, no progress output, no validation (the score is taken after)."""


class FitClock(L.Callback):
    """The wall-clock of ``Trainer.fit``, from ``on_fit_start`` to ``on_fit_end`` (``seconds``)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.start


def fit_args(
    method: str, problem: TransportProblem, budget: Budget, seed: int, root: Path, warm_start: str | None
) -> list[str]:
    """``pdeops fit`` arguments of one run: the method's config, then this run's problem, seed and budget."""
    config = CONFIGS[problem.equation] / ("lpinn.yaml" if method == "lpinn" else "pinn.yaml")
    args = ["fit", "-c", str(config), "--seed_everything", str(seed), "--model.init_args.seed", str(seed)]
    for name, value in asdict(problem).items():
        args += [f"--model.init_args.problem.{name}", str(value)]
    schedule = {"lbfgs_iterations": budget.lbfgs_iterations}
    steps = budget.pinn_lbfgs_steps
    if method == "lpinn":
        schedule["adam_steps"] = budget.lpinn_adam_steps
        steps = budget.lpinn_adam_steps + budget.lpinn_lbfgs_steps
    for name, value in schedule.items():
        args += [f"--model.init_args.schedule.{name}", str(value)]
    if warm_start is not None:
        args += ["--model.init_args.warm_start", warm_start]
    trainer = ["--trainer.max_steps", str(steps), "--trainer.default_root_dir", str(root), *QUIET_TRAINER]
    return [*args, *trainer, f"--trainer.callbacks+={FitClock.__module__}.{FitClock.__qualname__}"]


def fit_one(
    method: str,
    problem: TransportProblem,
    budget: Budget,
    seed: int,
    out: Path,
    plots: Path | None,
    warm_start: str | None = None,
) -> tuple[Run, str]:
    """Train one run through ``pdeops fit``, score it and return the run and the path of its ``last.ckpt``."""
    root = out / f"seed{seed}" / slug(problem) / method
    shutil.rmtree(root / "checkpoints", ignore_errors=True)  # a rerun starts clean (no last-v1.ckpt)
    cli = lightning_cli(fit_args(method, problem, budget, seed, root, warm_start))
    task, checkpoint = cli.model, cli.trainer.checkpoint_callback
    if not isinstance(task, BaseCollocationTask) or not isinstance(checkpoint, ModelCheckpoint):
        raise TypeError(f"{root}: expected a collocation task and a ModelCheckpoint, got {task} and {checkpoint}.")
    callbacks: list[L.Callback] = cli.trainer.callbacks  # type: ignore[attr-defined]  # set by Lightning at run time
    (clock,) = [callback for callback in callbacks if isinstance(callback, FitClock)]
    return record(task, problem, method, seed, clock.seconds, plots), checkpoint.last_model_path


def record(
    task: BaseCollocationTask, problem: TransportProblem, method: str, seed: int, seconds: float, plots: Path | None
) -> Run:
    evaluation = evaluate_pinn(task.model, problem)
    run = Run(problem, method, seed, evaluation.relative_l2, seconds)
    print(f"  {label(problem):<18} {method:<10} seed {seed}: rel L2 {run.relative_l2:.3g} ({seconds:.1f} s)")
    if plots is not None:
        model = task.model if isinstance(task.model, LagrangianPINN) else None
        name = f"{label(problem)}_{method}.png".replace(" ", "").replace("=", "")
        plot_pinn(evaluation, plots / name, model=model, title=f"{label(problem)}, {method}")
    return run


def fit_family(problems: list[TransportProblem], budget: Budget, seed: int, out: Path, plots: Path | None) -> list[Run]:
    """PINN and LPINN on every problem, and the curriculum along them, starting from the first problem's PINN."""
    runs, pinn_checkpoints = [], []
    for problem in problems:
        for method in ("pinn", "lpinn"):
            run, checkpoint = fit_one(method, problem, budget, seed, out, plots)
            runs.append(run)
            if method == "pinn":
                pinn_checkpoints.append(checkpoint)
    runs.append(Run(problems[0], "curriculum", seed, runs[0].relative_l2, runs[0].seconds))
    previous = pinn_checkpoints[0]
    for problem in problems[1:]:
        run, previous = fit_one("curriculum", problem, budget, seed, out, plots, warm_start=previous)
        runs.append(run)
    return runs


def slug(problem: TransportProblem) -> str:
    """A directory name for the problem."""
    if problem.equation == "convection":
        return f"convection_beta{problem.beta:g}"
    return f"burgers_nu{problem.nu:g}_C{problem.offset:g}"


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
    parser.add_argument("--out", type=Path, default=Path("runs/reproduce_lpinn"), help="run directory (checkpoints)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
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
        for run in fit_family(family, budget, seed, args.out, args.plots if seed == 0 else None)
    ]
    rows = summarize(runs, [problem for family in families for problem in family])
    print_table(rows, seeds)
    total = time.perf_counter() - started
    print(f"# total wall-clock {total:.0f} s")
    summary = {"benchmark": "reproduce_lpinn", "quick": args.quick, "seeds": seeds, "budget": asdict(budget)}
    print(json.dumps({**summary, "total_seconds": round(total, 1), "rows": rows}))


if __name__ == "__main__":
    main()
