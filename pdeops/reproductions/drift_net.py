"""The DRIFT-Net reproduction protocol (``scripts/reproduce_drift_net.py`` runs it): DRIFT-Net against scOT (and the
FNO baseline) on the same data and budget.

The claim (arXiv 2509.24868): on Navier–Stokes, under identical training settings and budget, DRIFT-Net has 7–54%
lower relative L1 error than scOT in autoregressive rollouts, ~15% fewer parameters (complex weights counted once;
~8% as two reals) and higher throughput. Here:

- data: one generated ``ns2d-fno`` file (Li et al. forced Navier–Stokes, vorticity, ν = 1e-3), ``--frames`` frames
  1 time unit apart, solved at the stored resolution with dt = 0.01·64/resolution; trajectories split 75/5/20
  (train/val/test);
- training, identical for the three models, through ``pdeops fit``'s own configs (``pdeops.training.fit.fit_run``):
  ``configs/ns2d/drift_task.yaml`` (one-step pairs t -> t+1, ``NormalizedLossTask`` with the DRIFT-Net loss:
  channel-group relative L1 + 0.3 × high-frequency penalty on z-scored fields, the normaliser fitted on the training
  split; AdamW, weight decay 1e-6; ``CosineAnnealing``, a cosine schedule per step over the whole run; gradient
  clip 5) plus the network's file, overridden by ``<out>/<model>/fit.yaml`` with this script's budget: ``--lr``,
  ``--epochs`` epochs of ``--batch-size``, seed 0, the 75/5/20 split, and no validation (the scores below are the
  evaluation), so the final weights are scored (``<out>/<model>/checkpoints/last.ckpt``);
- models: ``DRIFTNet`` (``drift_net.yaml``) and ``ScOT`` (``scot.yaml``) of ``--size`` at ``image_size`` = the
  resolution, and ``neuralop.models.FNO``, the network of ``configs/ns2d/fno.yaml`` (4 layers) with ``--fno-modes``
  and ``--fno-width``, trained on the same task file;
- scores: each checkpoint is reloaded (``prepare_rollout``) and rolled out from the first frame of every test
  trajectory for all remaining frames; relative L1 in % = 100·Σ|ŷ − y|/Σ|y| per trajectory and step (the paper's
  metric), mean and median over trajectories, per step and over the space–time window; persistence (the first
  frame held) as the floor to beat;
- throughput: training samples/s over epochs 2.. (all epochs if there is one) and rollout frames/s (all test
  trajectories in one batch, after a warm-up step).

The paper trains size T at 128² on ~400k pairs per epoch with lr 5e-5; the default here is the ``mini`` size at 64²
for a CPU in minutes (lr 1e-3, which this small budget needs), so the numbers test the direction of the claim, not
its magnitude.

``reproduce(options)`` runs it and returns the record; ``table`` and ``comparison`` summarise it.
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation.rollout import persistence, prepare_rollout, rollout
from pdeops.metrics import relative_lp_per_step, relative_lp_window
from pdeops.models._scot import count_parameters
from pdeops.training.fit import fit_run
from pdeops.training.timing import EpochClock, find_callback, keep_freed_memory, synchronize

SPLIT = (0.75, 0.05, 0.2)
SEED = 0
QUICK = {"samples": 40, "frames": 11, "epochs": 8, "batch_size": 8}
"""What ``--quick`` changes in ``Options`` (a few-minute run)."""


@dataclass(frozen=True)
class Options:
    """The protocol's settings (the script's flags). ``configs``: the ``configs/ns2d`` directory of a clone."""

    configs: Path
    size: str = "mini"
    resolution: int = 64
    samples: int = 64
    frames: int = 21
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    fno_modes: int = 12
    fno_width: int = 32
    device: str = "cpu"
    data_dir: str = "data"
    out: str = "runs/reproduce_drift_net"


@dataclass(frozen=True)
class Budget:
    """What every model gets: the same epochs, batches, optimiser, schedule, clipping and loss."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 1e-6
    gradient_clip: float = 5.0


# --- data ---------------------------------------------------------------------------------------------------------
def dataset(args: Options) -> Path:
    """The generated file (made once, then reused: generation is resumable and deterministic)."""
    path = Path(args.data_dir) / f"drift_net_ns2d_{args.resolution}_{args.samples}x{args.frames}.h5"
    if path.exists():  # generate refuses to replace a finished file
        return path
    config = GenerationConfig(
        recipe="ns2d-fno",
        samples=args.samples,
        resolution=args.resolution,
        solve_resolution=args.resolution,
        horizon=float(args.frames - 1),
        record_every=1.0,
        dt=1e-2 * 64 / args.resolution,
        device=args.device,
    )
    return generate(config, path)


# --- models and training ------------------------------------------------------------------------------------------
def networks(args: Options) -> dict[str, tuple[list[Path], dict[str, Any]]]:
    """Per model, the shipped network config (none for the FNO) and the network's overrides, ``(B, 1, N, N) -> (B, 1,
    N, N)`` (channels are linked from the data)."""
    n, size = args.resolution, args.size
    fno = yaml.safe_load((args.configs / "fno.yaml").read_text())["model"]["init_args"]["model"]
    fno["init_args"].update(n_modes=[args.fno_modes, args.fno_modes], hidden_channels=args.fno_width)
    return {
        "DRIFT-Net": ([args.configs / "drift_net.yaml"], {"init_args": {"size": size, "image_size": n}}),
        "scOT": ([args.configs / "scot.yaml"], {"init_args": {"size": size, "image_size": n}}),
        "FNO": ([], fno),
    }


def fit_overrides(network: dict[str, Any], data_path: Path, budget: Budget, device: torch.device) -> dict:
    """The budget as a config that goes after the shipped ones: what this script fixes, nothing else (``fit_run``
    adds the run folder and the quiet trainer settings)."""
    return {
        "seed_everything": SEED,
        "model": {
            "init_args": {
                "model": network,
                "optimizer": {"init_args": {"lr": budget.lr, "weight_decay": budget.weight_decay}},
            }
        },
        # No validation (as the scores come from the test rollouts below), so val windows are plain pairs: any
        # --frames works.
        "data": {"path": str(data_path), "batch_size": budget.batch_size, "split": list(SPLIT), "eval_horizon": None},
        "trainer": {
            "accelerator": device.type,
            "devices": 1,
            "max_epochs": budget.epochs,
            "gradient_clip_val": budget.gradient_clip,
            "logger": False,
            "num_sanity_val_steps": 0,
            "limit_val_batches": 0,
        },
    }


def train(
    task_config: Path,
    configs: list[Path],
    network: dict[str, Any],
    data_path: Path,
    budget: Budget,
    device: torch.device,
    root: Path,
) -> tuple[Path, float, nn.Module]:
    """Train one network on the budget with ``pdeops fit`` (``fit_run``, afresh: the throughput is timed in this
    process); returns its last checkpoint (the final weights), training samples/s over epochs 2.. (all if there is
    one) and the trained network."""
    clock = {"class_path": f"{EpochClock.__module__}.{EpochClock.__name__}", "init_args": {"device": str(device)}}
    fitted = fit_run(
        [task_config, *configs],
        root,
        overrides=fit_overrides(network, data_path, budget, device),
        args=["--trainer.callbacks", json.dumps([clock])],
        resume=False,
    )
    cli = fitted.cli
    assert cli is not None  # fitted in this call (resume=False)
    seconds: list[float] = find_callback(cli.trainer, EpochClock).seconds  # type: ignore[attr-defined]
    timed = seconds[1:] or seconds
    pairs = len(cli.datamodule.datasets["train"])
    return fitted.last, pairs * len(timed) / sum(timed), cli.model.model


# --- scores -------------------------------------------------------------------------------------------------------
def summary(per_trajectory_step: torch.Tensor, window: torch.Tensor) -> dict[str, Any]:
    """Mean and median over trajectories of ``(N, T)`` per-step and ``(N,)`` space–time errors, in %."""
    return {
        "per_step_mean": (100 * per_trajectory_step.mean(0)).tolist(),
        "per_step_median": (100 * per_trajectory_step.median(0).values).tolist(),
        "spacetime_mean": 100 * window.mean().item(),
        "spacetime_median": 100 * window.median().item(),
    }


def score(checkpoint: Path, data_path: Path, device: torch.device) -> tuple[dict[str, Any], dict[str, Any]]:
    """Roll the reloaded checkpoint out over the test trajectories: (model scores and speed, persistence scores)."""
    inputs = prepare_rollout(checkpoint, data_path, device=str(device))
    truth = inputs.read(inputs.history + inputs.steps)
    initial, target = truth[:, : inputs.history], truth[:, inputs.history :]
    rollout(inputs.task, initial, 1)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    prediction = rollout(inputs.task, initial, inputs.steps)  # returns on the CPU, hence synchronised
    seconds = time.perf_counter() - start
    model = summary(relative_lp_per_step(prediction, target, 1), relative_lp_window(prediction, target, 1))
    model["inference_frames_per_s"] = prediction.shape[0] * prediction.shape[1] / seconds
    held = persistence(initial, inputs.steps)
    return model, summary(relative_lp_per_step(held, target, 1), relative_lp_window(held, target, 1))


# --- report -------------------------------------------------------------------------------------------------------
def table(results: dict[str, dict[str, Any]], floor: dict[str, Any]) -> str:
    steps = len(floor["per_step_mean"])
    shown = sorted({1, max(1, steps // 2), steps})
    head = ["model", "params", "params (2 reals)", "train samples/s", "rollout frames/s", "L1% mean", "L1% median"]
    head += [f"step {s} mean/median" for s in shown]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for name, r in {**results, "persistence": floor}.items():
        row = [name]
        row += [f"{r[k]:,}" if k in r else "-" for k in ("params", "params_complex_as_two_reals")]
        row += [f"{r[k]:.1f}" if k in r else "-" for k in ("train_samples_per_s", "inference_frames_per_s")]
        row += [f"{r['spacetime_mean']:.2f}", f"{r['spacetime_median']:.2f}"]
        row += [f"{r['per_step_mean'][s - 1]:.2f} / {r['per_step_median'][s - 1]:.2f}" for s in shown]
        lines.append(" | ".join(row))
    return "\n".join(lines)


def comparison(drift: dict[str, Any], scot: dict[str, Any]) -> dict[str, float]:
    """DRIFT-Net against scOT, as the paper states its claim (positive: DRIFT-Net lower / faster)."""
    return {
        "error_reduction_mean_pct": 100 * (1 - drift["spacetime_mean"] / scot["spacetime_mean"]),
        "error_reduction_median_pct": 100 * (1 - drift["spacetime_median"] / scot["spacetime_median"]),
        "param_reduction_pct": 100 * (1 - drift["params"] / scot["params"]),
        "param_reduction_complex_as_two_reals_pct": 100
        * (1 - drift["params_complex_as_two_reals"] / scot["params_complex_as_two_reals"]),
        "train_throughput_ratio": drift["train_samples_per_s"] / scot["train_samples_per_s"],
        "inference_throughput_ratio": drift["inference_frames_per_s"] / scot["inference_frames_per_s"],
    }


def reproduce(options: Options) -> dict[str, Any]:
    """Generate (or reuse) the data, train and score the three models, and compare DRIFT-Net with scOT.

    Returns:
        The record: device, size, resolution, data, budget, per-model scores (``models``), ``persistence``,
        ``drift_vs_scot`` (``comparison``), ``malloc`` and ``wall_s``.
    """
    started = time.perf_counter()
    malloc = "keep-freed (mallopt)" if keep_freed_memory() else "glibc default"
    device = torch.device(options.device)
    budget = Budget(options.epochs, options.batch_size, options.lr)
    data_path = dataset(options)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    floor: dict[str, Any] = {}
    for name, (configs, network_config) in networks(options).items():
        task_config = options.configs / "drift_task.yaml"
        checkpoint, train_speed, network = train(
            task_config, configs, network_config, data_path, budget, device, out / name
        )
        scores, floor = score(checkpoint, data_path, device)
        results[name] = {
            "params": count_parameters(network),
            "params_complex_as_two_reals": count_parameters(network, complex_as_two=True),
            "train_samples_per_s": train_speed,
            **scores,
        }
        print(f"# {name}: trained and scored ({time.perf_counter() - started:.0f} s so far)", flush=True)
    return {
        "benchmark": "drift_net_reproduction",
        "device": str(device),
        "size": options.size,
        "resolution": options.resolution,
        "data": {"path": str(data_path), "samples": options.samples, "frames": options.frames, "split": SPLIT},
        "budget": asdict(budget),
        "models": results,
        "persistence": floor,
        "drift_vs_scot": comparison(results["DRIFT-Net"], results["scOT"]),
        "malloc": malloc,
        "wall_s": time.perf_counter() - started,
    }
