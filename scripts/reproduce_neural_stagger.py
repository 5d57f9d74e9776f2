"""NeuralStagger's claim at our scale: coarse sub-solvers trained jointly with the fine physics loss, against the fine
physics-constrained solver and the classical solver, on the same Navier–Stokes setup and training budget.

The claim (Huang et al., ICML 2023, arXiv 2302.10255): replacing a fine physics-constrained neural solver by
s_H·s_W (× s_T) coarse solvers trained with the same fine physics loss gives an additional 10–100× speed-up at
comparable accuracy, the pieces running in parallel; any subset of them is a valid coarse simulation. Here:

- setup: Li et al.'s forced Navier–Stokes (``ns2d-fno``: ν = 1e-3, [0, 1]², GRF initial vorticity) at the fine
  resolution, frames Δt apart. Ground truth: the classical solver (RK4–CN, 2/3 dealiasing) at the same resolution with
  dt = Δt/50, so the physics loss and the truth share one discretisation;
- training, identical for every model, through ``pdeops fit``'s own configs (``lightning_cli``):
  ``configs/ns2d/physics_task.yaml`` plus the network's file, overridden (a ``fit.yaml`` per model) with this
  script's budget. Data-free: the fine Crank–Nicolson residual of Δt over every consecutive pair of [input block ‖
  output block] (``StaggeredPhysicsTask``; the residual is built from the training file's equation), a state pool
  seeded with GRF initial states (plus the solver's first s_T − 1 frames when s_T > 1) and refreshed with the
  network's own predictions up to the evaluation horizon; the same optimiser steps, batch of states, Adam at a
  constant learning rate (the config's cosine schedule is switched off: a cosine decay stopped the tiny budget
  before the networks left their initial plateau) and no gradient clipping (the config's is switched off),
  increment parameterisation; one block (s_T frames) per state and step. The pool's seeds are the training split
  of a file of ``train_samples`` + 2 trajectories (seed 1) of 2·max s_T frames, one window per trajectory, at frame
  0: its input block is the seed, its target is never used; the 2 extra trajectories are the data module's val and
  test splits, unused (no validation; the scores below use their own test file). The data module fits the
  normaliser on that training split (all its frames);
- models: the fine FNO (``physics_fno.yaml``), and NeuralStagger (``neural_stagger.yaml``) with (s_H, s_W, s_T) ∈
  {(2,2,1), (4,4,1), (2,2,2)} over FNO sub-solvers of the same width and depth with min(modes, n/(2s)) modes,
  shared weights (one batched call), plus (2,2,1) with separate weights (the paper's one solver per piece, run one
  after another);
- scores: rollouts from unseen initial states over the horizon, relative L2 against the classical solver per step;
  inference time of one step of one simulation (batch ``--time-batch``) per simulated time unit, same device, median
  of ``--repeats`` calls; speed-ups over the fine neural solver and the classical solver (at its dt, and at dt = Δt);
  for shared-weight variants also the time of the same sub-solvers with separate weights, run one after another
  ("sep ms/u", untrained: the time does not depend on the weights);
  each single piece rolled out alone as a coarse simulation (its final error, mean and worst over pieces), beside the
  classical solver run at the coarse resolution from the same strided initial field; "train_s" is the wall-clock
  time of the whole ``pdeops fit`` call (building the task, fitting the normaliser and training).

    python scripts/reproduce_neural_stagger.py --quick            # CPU, minutes: 32², Δt = 0.1, 300 steps
    python scripts/reproduce_neural_stagger.py --device cuda      # 64², Δt = 0.05, 3000 steps

Prints a table and, last, one JSON line. Timings depend on the device: the paper's speed-up comes from running the
pieces in parallel on a GPU; on a CPU a batched call of K coarse pieces costs about as much as K calls.
"""

import argparse
import itertools
import json
import math
import re
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from bench_solver import sync

from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.metrics import relative_lp_per_step
from pdeops.models.stagger import NeuralStagger
from pdeops.training.cli import lightning_cli
from pdeops.training.stagger import StaggeredPhysicsTask
from solvers import Grid, NavierStokes2D, fno_forcing

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "ns2d"
TASK_CONFIG = CONFIGS / "physics_task.yaml"
VISCOSITY = 1e-3
SEED = 0
TRAIN_SEED, TEST_SEED = 1, 2
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
TRAIN_FRAMES = 2 * MAX_TEMPORAL  # a block in and a block out: one training window per trajectory for every variant


# --- data -----------------------------------------------------------------------------------------------------------
def solver_frames(setup: Setup, samples: int, frames: int, seed: int, directory: Path) -> Path:
    """A file of ``ns2d-fno`` trajectories at the fine resolution, ``frames`` frames Δt apart."""
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
    return generate(config, directory / f"ns2d_{seed}.h5")


def read_frames(path: Path) -> Tensor:
    """Every trajectory of the file, ``(samples, frames, 1, n, n)`` float32."""
    return torch.from_numpy(open_dataset(path)["vorticity"].values).float().unsqueeze(2)


def training_split(setup: Setup) -> list[float]:
    """Fractions that give the training split exactly ``train_samples`` trajectories, val and test one each."""
    total = setup.train_samples + 2
    return [setup.train_samples / total, 1 / total, 1 / total]


# --- models and training --------------------------------------------------------------------------------------------
def sub_solver(setup: Setup, factors: tuple[int, int]) -> dict[str, Any]:
    """``neural_stagger.yaml``'s sub-solver (an FNO) with the setup's width and min(modes, n/(2s)) modes."""
    shipped = yaml.safe_load((CONFIGS / "neural_stagger.yaml").read_text())
    operator: dict[str, Any] = shipped["model"]["init_args"]["model"]["init_args"]["operator"]
    modes = min(setup.modes, setup.resolution // (2 * max(factors)))
    operator["init_args"].update(n_modes=[modes] * 2, hidden_channels=setup.width)
    return operator


def network(setup: Setup, variant: Variant) -> tuple[Path, dict[str, Any]]:
    """The variant's shipped network config and its overrides (channels are linked from the data)."""
    if variant.factors is None:
        fno = {"n_modes": [setup.modes] * 2, "hidden_channels": setup.width}
        return CONFIGS / "physics_fno.yaml", {"init_args": fno}
    stagger = {
        "operator": sub_solver(setup, variant.factors),  # a dict argument: given whole
        "spatial_factors": list(variant.factors),
        "temporal_factor": variant.temporal,
        "weights": variant.weights,
    }
    return CONFIGS / "neural_stagger.yaml", {"init_args": stagger}


def fit_overrides(
    setup: Setup, variant: Variant, model: dict[str, Any], data_path: Path, device: torch.device, root: Path
) -> dict:
    """The budget as a config that goes after the shipped ones: what this script fixes, nothing else."""
    return {
        "seed_everything": SEED,
        "model": {
            "init_args": {
                "model": model,
                "pool_size": setup.pool_size,
                "pool_horizon": setup.horizon,
                "optimizer": {"init_args": {"lr": setup.lr}},
                "lr_scheduler": None,  # a constant learning rate (see the module docstring)
            }
        },
        "data": {
            "path": str(data_path),
            "history": variant.temporal,
            "horizon": variant.temporal,
            "stride": TRAIN_FRAMES,  # one window per trajectory, at frame 0: the pool is seeded with initial states
            "eval_horizon": None,  # no validation
            "batch_size": setup.batch_size,
            "split": training_split(setup),
        },
        "trainer": {
            "accelerator": "gpu" if device.type == "cuda" else "cpu",
            "devices": 1,
            "max_steps": setup.steps,
            "max_epochs": -1,
            "gradient_clip_val": None,
            "default_root_dir": str(root),
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "num_sanity_val_steps": 0,
            "limit_val_batches": 0,
        },
        "checkpoint": {"monitor": None, "save_top_k": 0, "save_last": False},  # scored in memory: no checkpoints
    }


def train(
    setup: Setup, variant: Variant, data_path: Path, device: torch.device, root: Path
) -> tuple[StaggeredPhysicsTask, float]:
    """Data-free training with ``pdeops fit``; returns the trained task and the wall-clock seconds of the call."""
    root.mkdir(parents=True, exist_ok=True)
    shipped, model = network(setup, variant)
    overrides = root / "fit.yaml"
    overrides.write_text(yaml.safe_dump(fit_overrides(setup, variant, model, data_path, device, root), sort_keys=False))
    files = [TASK_CONFIG, shipped, overrides]
    start = time.perf_counter()
    cli = lightning_cli(["fit", *(arg for path in files for arg in ("-c", str(path)))])
    seconds = time.perf_counter() - start
    assert isinstance(cli.model, StaggeredPhysicsTask)
    return cli.model, seconds


def view_task(model: torch.nn.Module, like: StaggeredPhysicsTask) -> StaggeredPhysicsTask:
    """A task that steps ``model`` as ``like`` steps its own: same block, increment and normalisation.

    The statistics are given (``load_statistics``) rather than fitted: ``model`` is not trained, it is a view of
    ``like``'s sub-solvers or a timing copy, and must see the fields exactly as ``like``'s network does.
    """
    task = StaggeredPhysicsTask(
        model,
        history=like.history,
        channels=like.channels,
        spatial_dims=like.spatial_dims,
        unroll=like.unroll,
        increment_scale=like.increment_scale,
    )
    task.normalizer.load_statistics(like.normalizer)
    return task.to(like.device)


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
        coarse = view_task(stagger.coarse(stagger.spatial_factors, offset), task)
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
def run_variant(
    setup: Setup, variant: Variant, train_path: Path, test: Tensor, args: argparse.Namespace, directory: Path
) -> dict[str, Any]:
    device = torch.device(args.device)
    root = directory / re.sub(r"\W+", "_", variant.label).strip("_")
    task, seconds = train(setup, variant, train_path, device, root)
    task.to(device).eval()
    truth = test.to(device)
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
        operator = sub_solver(setup, variant.factors)
        factors = list(variant.factors)
        separate = NeuralStagger(variant.temporal, 1, operator, factors, variant.temporal, weights="separate")
        row["s_per_unit_separate"] = neural_seconds_per_unit(setup, view_task(separate, task), window, args.repeats)
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
    # lightning_cli is given its own arguments while sys.argv holds this script's: intended, not a mistake.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:  # the data files and the runs
        directory = Path(name)
        train_path = solver_frames(setup, setup.train_samples + 2, TRAIN_FRAMES, TRAIN_SEED, directory)
        test = read_frames(solver_frames(setup, setup.test_samples, MAX_TEMPORAL + setup.horizon, TEST_SEED, directory))
        truth = test[:, MAX_TEMPORAL:]
        held = test[:, MAX_TEMPORAL - 1 : MAX_TEMPORAL].expand_as(truth)
        rows: list[dict[str, Any]] = [
            {"model": "persistence", **errors(held, truth), "s_per_unit": math.nan},
            {"model": "classical, dt = Δt/50", **classical(setup, test, setup.dt / 50, args)},
            {"model": "classical, dt = Δt", **classical(setup, test, setup.dt, args)},
        ]
        for variant in VARIANTS:
            rows.append(run_variant(setup, variant, train_path, test, args, directory))
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
