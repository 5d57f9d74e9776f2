"""NeuralStagger's claim at our scale: coarse sub-solvers trained jointly with the fine physics loss, against the fine
physics-constrained solver and the classical solver, on the same Navier–Stokes setup and training budget.

The claim (Huang et al., ICML 2023, arXiv 2302.10255): replacing a fine physics-constrained neural solver by
s_H·s_W (× s_T) coarse solvers trained with the same fine physics loss gives an additional 10–100× speed-up at
comparable accuracy, the pieces running in parallel; any subset of them is a valid coarse simulation. Here:

- setup: Li et al.'s forced Navier–Stokes (``ns2d-fno``: ν = 1e-3, [0, 1]², GRF initial vorticity) at the fine
  resolution, frames Δt apart. Ground truth: the classical solver (RK4–CN, 2/3 dealiasing) at the same resolution with
  dt = Δt/50, so the physics loss and the truth share one discretisation;
- training, identical for every model: data-free, the fine Crank–Nicolson residual of Δt over every consecutive pair
  of [input block ‖ output block] (``StaggeredPhysicsTask``), a state pool seeded with GRF initial states (plus the
  solver's first s_T − 1 frames when s_T > 1) and refreshed with the network's own predictions up to the evaluation
  horizon; the same optimiser steps, batch of states, Adam at a constant learning rate (a cosine decay stopped the
  tiny budget before the networks left their initial plateau), increment parameterisation; one block (s_T frames)
  per state and step;
- models: the fine FNO, and NeuralStagger with (s_H, s_W, s_T) ∈ {(2,2,1), (4,4,1), (2,2,2)} over FNO sub-solvers of
  the same width and depth with min(modes, n/(2s)) modes, shared weights (one batched call), plus (2,2,1) with
  separate weights (the paper's one solver per piece, run one after another);
- scores: rollouts from unseen initial states over the horizon, relative L2 against the classical solver per step;
  inference time of one step of one simulation (batch ``--time-batch``) per simulated time unit, same device, median
  of ``--repeats`` calls; speed-ups over the fine neural solver and the classical solver (at its dt, and at dt = Δt);
  for shared-weight variants also the time of the same sub-solvers with separate weights, run one after another
  ("sep ms/u", untrained: the time does not depend on the weights);
  each single piece rolled out alone as a coarse simulation (its final error, mean and worst over pieces), beside the
  classical solver run at the coarse resolution from the same strided initial field.

    python scripts/reproduce_neural_stagger.py --quick            # CPU, minutes: 32², Δt = 0.1, 300 steps
    python scripts/reproduce_neural_stagger.py --device cuda      # 64², Δt = 0.05, 3000 steps

Prints a table and, last, one JSON line. Timings depend on the device: the paper's speed-up comes from running the
pieces in parallel on a GPU; on a CPU a batched call of K coarse pieces costs about as much as K calls.
"""

import argparse
import itertools
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from bench_solver import sync
from torch.utils.data import DataLoader

from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.losses import VorticityResidual
from pdeops.metrics import relative_lp_per_step
from pdeops.models import FNO
from pdeops.models.stagger import NeuralStagger
from pdeops.training.stagger import StaggeredPhysicsTask
from solvers import Grid, NavierStokes2D, fno_forcing

VISCOSITY = 1e-3
SEED = 0
Tensor = torch.Tensor


@dataclass(frozen=True)
class Setup:
    """The equation's discretisation and the budget every model gets."""

    resolution: int
    dt: float
    horizon: int  # evaluated frames
    steps: int  # optimiser steps
    batch_size: int
    lr: float
    width: int
    modes: int
    pool_size: int
    train_samples: int
    test_samples: int


FULL = Setup(64, 0.05, 20, 3000, 16, 1e-3, 32, 12, 512, 512, 32)
QUICK = Setup(32, 0.1, 10, 300, 16, 3e-3, 16, 8, 128, 128, 8)


@dataclass(frozen=True)
class Variant:
    """A model: the fine FNO (``factors`` None) or NeuralStagger with (s_H, s_W), s_T and its weights."""

    factors: tuple[int, int] | None
    temporal: int = 1
    weights: str = "shared"

    @property
    def name(self) -> str:
        return "fine FNO" if self.factors is None else "NeuralStagger"

    @property
    def label(self) -> str:
        if self.factors is None:
            return self.name
        return f"{self.name} ({self.factors[0]},{self.factors[1]},{self.temporal}) {self.weights}"


VARIANTS = (
    Variant(None),
    Variant((2, 2)),
    Variant((4, 4)),
    Variant((2, 2), 2),
    Variant((2, 2), 1, "separate"),
)
MAX_TEMPORAL = max(v.temporal for v in VARIANTS)


# --- data -----------------------------------------------------------------------------------------------------------
def solver_frames(setup: Setup, samples: int, frames: int, seed: int, directory: Path) -> Tensor:
    """``ns2d-fno`` trajectories at the fine resolution, ``(samples, frames, 1, n, n)`` float32, Δt apart."""
    config = GenerationConfig(
        recipe="ns2d-fno",
        samples=samples,
        resolution=setup.resolution,
        solve_resolution=setup.resolution,
        horizon=(frames - 1) * setup.dt,
        record_every=setup.dt,
        dt=setup.dt / 50,
        seed=seed,
    )
    path = generate(config, directory / f"ns2d_{seed}.h5")
    return torch.from_numpy(open_dataset(path)["vorticity"].values).float().unsqueeze(2)


# --- models and training --------------------------------------------------------------------------------------------
def network(setup: Setup, variant: Variant) -> torch.nn.Module:
    if variant.factors is None:
        return FNO([setup.modes] * 2, 1, 1, setup.width)
    modes = min(setup.modes, setup.resolution // (2 * max(variant.factors)))
    pieces = math.prod(variant.factors) * variant.temporal
    in_channels = 1 + pieces if variant.weights == "shared" else 1
    operator = FNO([modes] * 2, in_channels, 1, setup.width)
    return NeuralStagger(operator, list(variant.factors), variant.temporal, weights=variant.weights)  # type: ignore[arg-type]


def make_task(setup: Setup, model: torch.nn.Module, temporal: int, stats: tuple[float, float]) -> StaggeredPhysicsTask:
    residual = VorticityResidual(viscosity=VISCOSITY, dt=setup.dt, forcing="fno")
    task = StaggeredPhysicsTask(
        model, residual, history=temporal, unroll=temporal, pool_size=setup.pool_size, pool_horizon=setup.horizon
    )
    task.norm_mean.fill_(stats[0])
    task.norm_std.fill_(stats[1])
    task.normalizer_fitted.fill_(True)
    return task


def train(setup: Setup, task: StaggeredPhysicsTask, initial: Tensor, device: torch.device) -> float:
    """Data-free training on the pool seeded with ``initial`` blocks; returns the wall-clock seconds."""
    items = [{"input": block} for block in initial]  # a list is a map-style dataset
    loader: DataLoader[dict[str, Tensor]] = DataLoader(items, batch_size=setup.batch_size, shuffle=True)  # type: ignore[arg-type]

    task.configure_optimizers = lambda: torch.optim.Adam(task.parameters(), lr=setup.lr)  # type: ignore[method-assign]
    trainer = L.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        max_steps=setup.steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    start = time.perf_counter()
    trainer.fit(task, loader)
    return time.perf_counter() - start


# --- scores ---------------------------------------------------------------------------------------------------------
def errors(prediction: Tensor, truth: Tensor) -> dict[str, float]:
    """Relative L2 per step, mean over trajectories: first step, last step, mean over the horizon."""
    per_step = relative_lp_per_step(prediction.cpu(), truth.cpu()).mean(0)
    return {"err_first": float(per_step[0]), "err_final": float(per_step[-1]), "err_mean": float(per_step.mean())}


def seconds_per_call(fn: Callable[[], Any], device: torch.device, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` after two warm-up calls."""
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def neural_seconds_per_unit(setup: Setup, task: StaggeredPhysicsTask, window: Tensor, repeats: int) -> float:
    task.eval()
    return seconds_per_call(lambda: task(window), window.device, repeats) / (task.history * setup.dt)


def classical(setup: Setup, truth: Tensor, dt: float, args: argparse.Namespace) -> dict[str, float]:
    """The reference solver at step ``dt`` from the evaluation's initial frame: error and time per unit."""
    device = torch.device(args.device)
    grid = Grid((setup.resolution,) * 2, 1.0, dtype=torch.float32, device=device)
    solver = NavierStokes2D(grid, viscosity=VISCOSITY, forcing=fno_forcing(grid), dt=dt)
    start = truth[:, MAX_TEMPORAL - 1, 0].to(device)
    times = [k * setup.dt for k in range(1, setup.horizon + 1)]
    prediction = solver.solve(start, times).unsqueeze(2)
    w_hat = grid.rfft(start[: args.time_batch])
    per_call = seconds_per_call(lambda: solver.advance(w_hat, 0.0, setup.dt), device, args.repeats)
    return {**errors(prediction, truth[:, MAX_TEMPORAL:]), "s_per_unit": per_call / setup.dt}


def piece_errors(setup: Setup, task: StaggeredPhysicsTask, truth: Tensor) -> dict[str, float]:
    """Every piece rolled out alone from its strided initial frames: final-step error, mean and worst over pieces."""
    stagger = task.model
    assert isinstance(stagger, NeuralStagger)
    finals = []
    for offset in itertools.product(*(range(s) for s in stagger.spatial_factors)):
        index: tuple[Any, ...] = (
            ...,
            *(slice(o, None, s) for o, s in zip(offset, stagger.spatial_factors, strict=True)),
        )
        strided = truth[index]
        stats = (float(task.norm_mean[0]), float(task.norm_std[0]))
        coarse = make_task(setup, stagger.coarse(stagger.spatial_factors, offset), task.history, stats).to(truth.device)
        with torch.inference_mode():
            prediction = coarse.rollout(strided[:, MAX_TEMPORAL - task.history : MAX_TEMPORAL], setup.horizon)
        finals.append(errors(prediction, strided[:, MAX_TEMPORAL:])["err_final"])
    return {"piece_err_final_mean": statistics.fmean(finals), "piece_err_final_max": max(finals)}


def coarse_classical(setup: Setup, factors: tuple[int, int], truth: Tensor, device: torch.device) -> float:
    """The classical solver at the coarse resolution from the strided field (offset 0): final-step error."""
    strided = truth[..., :: factors[0], :: factors[1]]
    grid = Grid(strided.shape[-2:], 1.0, dtype=torch.float32, device=device)
    solver = NavierStokes2D(grid, viscosity=VISCOSITY, forcing=fno_forcing(grid), dt=setup.dt / 50)
    times = [k * setup.dt for k in range(1, setup.horizon + 1)]
    prediction = solver.solve(strided[:, MAX_TEMPORAL - 1, 0].to(device), times).unsqueeze(2)
    return errors(prediction, strided[:, MAX_TEMPORAL:])["err_final"]


# --- one model ------------------------------------------------------------------------------------------------------
def run_variant(setup: Setup, variant: Variant, data: dict[str, Tensor], args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    L.seed_everything(SEED, verbose=False)
    stats = (float(data["train"].mean()), float(data["train"].std()))
    task = make_task(setup, network(setup, variant), variant.temporal, stats)
    seconds = train(setup, task, data["train"][:, : variant.temporal], device)
    task.to(device).eval()
    truth = data["test"].to(device)
    with torch.inference_mode():
        prediction = task.rollout(truth[:, MAX_TEMPORAL - variant.temporal : MAX_TEMPORAL], setup.horizon)
    window = truth[: args.time_batch, MAX_TEMPORAL - variant.temporal : MAX_TEMPORAL]
    row: dict[str, Any] = {
        "model": variant.name,
        "factors": [*(variant.factors or (1, 1)), variant.temporal],
        "weights": variant.weights if variant.factors else "-",
        "parameters": sum(p.numel() for p in task.model.parameters()),
        "train_s": seconds,
        **errors(prediction, truth[:, MAX_TEMPORAL:]),
        "s_per_unit": neural_seconds_per_unit(setup, task, window, args.repeats),
    }
    if variant.factors is not None:
        row.update(piece_errors(setup, task, truth))
        row["coarse_classical_err_final"] = coarse_classical(setup, variant.factors, truth, device)
    if variant.factors is not None and variant.weights == "shared":
        separate = Variant(variant.factors, variant.temporal, "separate")
        looped = make_task(setup, network(setup, separate), variant.temporal, stats)
        row["s_per_unit_separate"] = neural_seconds_per_unit(setup, looped.to(device), window, args.repeats)
    return row


# --- report ---------------------------------------------------------------------------------------------------------
def add_speedups(rows: list[dict[str, Any]], fine: float, solver: float, solver_at_dt: float) -> None:
    """Speed-ups over the seconds per simulated time unit of the fine neural solver and of the classical solver at
    the truth's dt = Δt/50 and at dt = Δt."""
    for row in rows:
        row["speedup_vs_fine"] = fine / row["s_per_unit"]
        row["speedup_vs_classical"] = solver / row["s_per_unit"]
        row["speedup_vs_classical_at_dt"] = solver_at_dt / row["s_per_unit"]


COLUMNS = (  # title, row key, width, format; times are shown in ms
    ("model", "model", -24, ""),
    ("s_H,s_W,s_T", "factors", 12, ""),
    ("weights", "weights", 9, ""),
    ("params", "parameters", 9, "d"),
    ("err@1", "err_first", 8, ".4f"),
    ("err@T", "err_final", 8, ".4f"),
    ("mean", "err_mean", 8, ".4f"),
    ("ms/unit", "s_per_unit", 9, ".2f"),
    ("×fine", "speedup_vs_fine", 7, ".2f"),
    ("×solver", "speedup_vs_classical", 8, ".2f"),
    ("×solver@Δt", "speedup_vs_classical_at_dt", 11, ".2f"),
    ("sep ms/u", "s_per_unit_separate", 9, ".2f"),
    ("piece@T", "piece_err_final_mean", 9, ".4f"),
    ("(max)", "piece_err_final_max", 8, ".4f"),
    ("coarse solver@T", "coarse_classical_err_final", 16, ".4f"),
)


def cell(row: dict[str, Any], key: str, spec: str) -> str:
    if key not in row:
        return "-"
    if key == "factors":
        return ",".join(map(str, row[key]))
    return format(1e3 * row[key] if key.startswith("s_per_unit") else row[key], spec)


def table(rows: list[dict[str, Any]]) -> str:
    def line(texts: list[str]) -> str:
        return "".join(
            f"{text:<{-w}}" if w < 0 else f"{text:>{w}}" for text, (_, _, w, _) in zip(texts, COLUMNS, strict=True)
        )

    header = line([title for title, *_ in COLUMNS])
    body = [line([cell(row, key, spec) for _, key, _, spec in COLUMNS]) for row in rows]
    return "\n".join([header, "-" * len(header), *body])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny budget: 32², Δt = 0.1, 10 frames, 300 steps")
    parser.add_argument("--steps", type=int, help="optimiser steps per model (overrides the setup's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--time-batch", type=int, default=1, help="simulations per timed call (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per model (median; default 20)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    setup = QUICK if args.quick else FULL
    if args.steps is not None:
        setup = Setup(**{**asdict(setup), "steps": args.steps})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        data = {
            "train": solver_frames(setup, setup.train_samples, MAX_TEMPORAL, 1, Path(directory)),
            "test": solver_frames(setup, setup.test_samples, MAX_TEMPORAL + setup.horizon, 2, Path(directory)),
        }
    truth = data["test"][:, MAX_TEMPORAL:]
    held = data["test"][:, MAX_TEMPORAL - 1 : MAX_TEMPORAL].expand_as(truth)
    rows: list[dict[str, Any]] = [
        {"model": "persistence", **errors(held, truth), "s_per_unit": math.nan},
        {"model": "classical, dt = Δt/50", **classical(setup, data["test"], setup.dt / 50, args)},
        {"model": "classical, dt = Δt", **classical(setup, data["test"], setup.dt, args)},
    ]
    for variant in VARIANTS:
        rows.append(run_variant(setup, variant, data, args))
        print(f"trained {variant.label} in {rows[-1]['train_s']:.0f} s", flush=True)
    add_speedups(rows, fine=rows[3]["s_per_unit"], solver=rows[1]["s_per_unit"], solver_at_dt=rows[2]["s_per_unit"])
    wall = time.perf_counter() - started
    print(
        f"\nNeuralStagger vs the fine physics-constrained FNO, ns2d-fno {setup.resolution}², Δt = {setup.dt}, "
        f"{setup.horizon} frames, {setup.steps} steps, device {args.device}, {torch.get_num_threads()} thread(s)"
    )
    print(table(rows))
    print(f"wall-clock {wall:.0f} s")
    print(json.dumps({"setup": asdict(setup), "device": args.device, "rows": rows, "wall_s": wall}, default=str))


if __name__ == "__main__":
    main()
