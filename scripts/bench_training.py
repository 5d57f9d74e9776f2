"""Training and inference speed of the FNO baseline.

1. Training samples/s of ``pdeops fit`` on ``configs/ns2d/fno.yaml`` (through ``lightning_cli``: the task, its
   optimiser argument and the Trainer as the CLI builds them, the data read from a file by ``PDEDataModule``, held
   in memory and shuffled) against a bare torch loop over the same neuraloperator FNO, the same windows (the
   prepared tensors, in order) and the config's optimiser, schedule and gradient clipping (AdamW, cosine over the
   run, norm 1): overhead ratio = bare / ours, target ≤ 1.10. Both are timed in this process, alternating (ours,
   bare, ours, bare, …), from the third batch to the end of the last one; medians of the rounds. ``--modes`` and
   ``--width`` override the config's; validation is off.
2. Inference: autoregressive rollout frames/s of the FNO against the reference solver producing frames of the same
   physical interval (``record_every``) at the recipe's dt, at 64² and 256² (the solver's time per frame is its
   measured step time × steps per frame).

    python scripts/bench_training.py [--device cuda] [--rounds 3]

Prints a table and, last, one JSON line.
"""

import argparse
import json
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import h5netcdf
import lightning as L
import numpy as np
import torch
from bench_solver import keep_freed_memory, sync
from neuralop.losses import LpLoss
from neuralop.models import FNO

from pdeops.training import AutoregressiveTask
from pdeops.training.cli import lightning_cli
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

HISTORY, CHANNELS = 10, 1
SKIPPED = 2  # batches before the clock starts (allocation, lazy initialisation)
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ns2d" / "fno.yaml"


def batches(n: int, batch: int, count: int, device: torch.device) -> list[dict[str, torch.Tensor]]:
    """GRF windows: ``input`` (batch, 10, 1, n, n), ``target`` (batch, 1, 1, n, n). Content does not affect speed."""
    grid = Grid((n, n), 1.0, dtype=torch.float32, device=device)
    generator = torch.Generator(device).manual_seed(0)
    return [
        {
            "input": gaussian_random_field(grid, batch * HISTORY, generator=generator).reshape(batch, HISTORY, 1, n, n),
            "target": gaussian_random_field(grid, batch, generator=generator).reshape(batch, 1, 1, n, n),
        }
        for _ in range(count)
    ]


def write_windows(path: Path, data: list[dict[str, torch.Tensor]]) -> tuple[float, float, float]:
    """The windows of ``data`` as trajectories of ``HISTORY + 1`` frames in a native file, in order, then one for
    validation and one for test; returns the split that makes exactly ``data``'s windows the training split."""
    frames = torch.cat([torch.cat([b["input"], b["target"]], dim=1)[:, :, 0] for b in data]).numpy()
    frames = np.concatenate([frames, frames[:2]])
    samples, times, n = frames.shape[0], frames.shape[1], frames.shape[-1]
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"sample": samples, "time": times, "x": n, "y": n}
        f.create_variable("time", ("time",), data=np.arange(times, dtype=np.float64))
        f.create_variable("x", ("x",), data=np.arange(n) / n)
        f.create_variable("y", ("y",), data=np.arange(n) / n)
        f.create_variable("vorticity", ("sample", "time", "x", "y"), data=frames)
        f.attrs["pdeops_format"] = "1"
    return (samples - 2) / samples, 1 / samples, 1 / samples


class TrainingClock(L.Callback):
    """Training samples and seconds from the start of batch ``SKIPPED`` to the end of the epoch's last batch."""

    def __init__(self) -> None:
        self.samples, self.start, self.seconds = 0, 0.0, 0.0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx == SKIPPED:
            sync(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx >= SKIPPED:
            self.samples += batch["input"].shape[0]
        if batch_idx == trainer.num_training_batches - 1:
            sync(pl_module.device)
            self.seconds = time.perf_counter() - self.start


def fit_args(
    path: Path, split: tuple[float, ...], root: Path, device: torch.device, args: argparse.Namespace
) -> list[str]:
    """``pdeops fit`` on the FNO config: this benchmark's network size, file, batch, one epoch, no validation."""
    return [
        "fit", "-c", str(CONFIG),
        "--model.init_args.model.init_args.n_modes", json.dumps([args.modes, args.modes]),
        "--model.init_args.model.init_args.hidden_channels", str(args.width),
        "--data.path", str(path),
        "--data.history", str(HISTORY),
        "--data.horizon", "1",
        "--data.eval_horizon", "1",  # validation is off, but its windows must fit the trajectories
        "--data.batch_size", str(args.batch_size),
        "--data.split", json.dumps(split),
        "--data.in_memory", "true",
        "--trainer.max_epochs", "1",
        "--trainer.accelerator", device.type,
        "--trainer.devices", "1",
        "--trainer.limit_val_batches", "0",
        "--trainer.num_sanity_val_steps", "0",
        "--trainer.logger", "false",
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.default_root_dir", str(root),
        f"--trainer.callbacks+={TrainingClock.__module__}.{TrainingClock.__qualname__}",
    ]  # fmt: skip


def ours_samples_per_s(fit: list[str]) -> tuple[float, AutoregressiveTask]:
    """Samples/s of one ``pdeops fit`` run, and its trained task."""
    cli = lightning_cli(fit)
    callbacks: list[L.Callback] = cli.trainer.callbacks  # type: ignore[attr-defined]  # set by Lightning at run time
    (clock,) = [callback for callback in callbacks if isinstance(callback, TrainingClock)]
    if not isinstance(cli.model, AutoregressiveTask):
        raise TypeError(f"{CONFIG} built a {type(cli.model).__name__}, not an AutoregressiveTask.")
    return clock.samples / clock.seconds, cli.model


def bare_samples_per_s(data: list[dict[str, torch.Tensor]], device: torch.device, n_modes: int, width: int) -> float:
    """A plain torch loop with what the FNO config sets: AdamW (lr 1e-3, weight decay 1e-4), a cosine schedule over
    the run stepped every batch, gradient norm clipped at 1."""
    network = FNO((n_modes, n_modes), HISTORY * CHANNELS, CHANNELS, width).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(data))
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    for i, batch in enumerate(data):
        if i == SKIPPED:
            sync(device)
            start = time.perf_counter()
        x, y = batch["input"].to(device), batch["target"].to(device)
        pred = network(x.flatten(1, 2))
        loss = loss_fn(pred, y[:, 0])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    sync(device)
    return sum(b["input"].shape[0] for b in data[SKIPPED:]) / (time.perf_counter() - start)


def rollout_vs_solver(task: AutoregressiveTask, n: int, device: torch.device, batch: int) -> dict:
    grid = Grid((n, n), 1.0, dtype=torch.float32, device=device)
    task = task.to(device).eval()
    frames = gaussian_random_field(grid, batch * HISTORY, generator=torch.Generator(device).manual_seed(0))
    frames = frames.reshape(batch, HISTORY, 1, n, n)
    steps = 5
    with torch.inference_mode():
        task.rollout(frames, 1)
        sync(device)
        start = time.perf_counter()
        task.rollout(frames, steps)
        sync(device)
    model_fps = batch * steps / (time.perf_counter() - start)
    dt, record_every = 1e-4, 1.0  # the ns2d-fno recipe's solver step and frame interval
    solver = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=dt)
    step = solver.stepper(dt)
    w_hat = grid.rfft(frames[:, -1, 0])
    w_hat = step(w_hat, 0.0)
    sync(device)
    start = time.perf_counter()
    for _ in range(20):
        w_hat = step(w_hat, 0.0)
    sync(device)
    step_s = (time.perf_counter() - start) / 20
    solver_fps = batch / (step_s * round(record_every / dt))
    return {
        "n": n,
        "model_frames_per_s": model_fps,
        "solver_frames_per_s": solver_fps,
        "speedup": model_fps / solver_fps,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--modes", type=int, default=16)
    args = parser.parse_args(argv)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    malloc = "keep-freed (mallopt)" if keep_freed_memory() else "glibc default"
    device = torch.device(args.device)
    data = batches(64, args.batch_size, args.batches, torch.device("cpu"))
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "windows.h5"
        split = write_windows(path, data)
        for i in range(args.rounds):  # a fresh run directory each round (pdeops fit refuses to overwrite a run)
            samples_per_s, task = ours_samples_per_s(fit_args(path, split, Path(directory) / f"round{i}", device, args))
            ours.append(samples_per_s)
            bare.append(bare_samples_per_s(data, device, args.modes, args.width))
    ours_median, bare_median = statistics.median(ours), statistics.median(bare)
    print(f"# device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, malloc {malloc}")
    print(f"# FNO 64², {args.modes}x{args.modes} modes, width {args.width}, batch {args.batch_size}, history {HISTORY}")
    print(
        f"training samples/s: ours {ours_median:.1f} (rounds {[round(v, 1) for v in ours]}), "
        f"bare torch {bare_median:.1f} (rounds {[round(v, 1) for v in bare]}), "
        f"overhead ratio {bare_median / ours_median:.3f}"
    )
    inference = [rollout_vs_solver(task, n, device, args.batch_size) for n in (64, 256)]
    print(f"{'N':>5} {'model frames/s':>15} {'solver frames/s':>16} {'speed-up':>9}")
    for row in inference:
        print(
            f"{row['n']:>5} {row['model_frames_per_s']:>15.1f} {row['solver_frames_per_s']:>16.4f} "
            f"{row['speedup']:>9.0f}"
        )
    print(
        json.dumps(
            {
                "benchmark": "training_and_inference",
                "device": str(device),
                "malloc": malloc,
                "train_samples_per_s": {"lightning": round(ours_median, 2), "bare": round(bare_median, 2)},
                "overhead_ratio": round(bare_median / ours_median, 3),
                "overhead_target": 1.10,
                "inference": [{k: round(v, 4) for k, v in row.items()} for row in inference],
            }
        )
    )


if __name__ == "__main__":
    main()
