"""Training and inference speed of the FNO baseline.

1. Training samples/s through ``AutoregressiveTask`` + a Lightning ``Trainer`` against a bare torch loop over the
   same neuraloperator FNO, the same in-memory batches and optimiser (overhead ratio = bare / ours; target ≤ 1.10).
   Both are timed in this process, alternating (ours, bare, ours, bare, …); medians of the rounds.
2. Inference: autoregressive rollout frames/s of the FNO against the reference solver producing frames of the same
   physical interval (``record_every``) at the recipe's dt, at 64² and 256² (the solver's time per frame is its
   measured step time × steps per frame).

    python scripts/bench_training.py [--device cuda] [--rounds 3]

Prints a table and, last, one JSON line.
"""

import argparse
import json
import statistics
import time

import lightning as L
import torch
from bench_solver import keep_freed_memory, sync
from torch.utils.data import DataLoader

from pdeops.models import FNO
from pdeops.training import AutoregressiveTask
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

HISTORY, CHANNELS = 10, 1


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


def make_network(n_modes: int, width: int) -> FNO:
    return FNO([n_modes, n_modes], HISTORY * CHANNELS, CHANNELS, width)


def lightning_samples_per_s(data, device, n_modes, width) -> float:
    task = AutoregressiveTask(make_network(n_modes, width), history=HISTORY, channels=CHANNELS, spatial_dims=2)
    trainer = L.Trainer(
        accelerator=device.type,
        devices=1,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    start = {}

    class Clock(L.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == 2:  # skip the first batches (allocation, lazy init)
                sync(device)
                start["t"] = time.perf_counter()

    trainer.callbacks.append(Clock())
    trainer.fit(task, train_dataloaders=DataLoader(data, batch_size=None))  # the same prepared batches, in order
    sync(device)
    return sum(b["input"].shape[0] for b in data[2:]) / (time.perf_counter() - start["t"])


def bare_samples_per_s(data, device, n_modes, width) -> float:
    from neuralop.losses import LpLoss

    network = make_network(n_modes, width).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    loss_fn = LpLoss(d=2, p=2, reduction="mean")
    for i, batch in enumerate(data):
        if i == 2:
            sync(device)
            start = time.perf_counter()
        x, y = batch["input"].to(device), batch["target"].to(device)
        pred = network(x.flatten(1, 2))
        loss = loss_fn(pred, y[:, 0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sync(device)
    return sum(b["input"].shape[0] for b in data[2:]) / (time.perf_counter() - start)


def rollout_vs_solver(n: int, device: torch.device, batch: int, n_modes: int, width: int) -> dict:
    grid = Grid((n, n), 1.0, dtype=torch.float32, device=device)
    task = AutoregressiveTask(make_network(n_modes, width), history=HISTORY, channels=CHANNELS).to(device).eval()
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
    malloc = "keep-freed (mallopt)" if keep_freed_memory() else "glibc default"
    device = torch.device(args.device)
    data = batches(64, args.batch_size, args.batches, torch.device("cpu"))
    ours, bare = [], []
    for _ in range(args.rounds):
        ours.append(lightning_samples_per_s(data, device, args.modes, args.width))
        bare.append(bare_samples_per_s(data, device, args.modes, args.width))
    ours_median, bare_median = statistics.median(ours), statistics.median(bare)
    print(f"# device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, malloc {malloc}")
    print(f"# FNO 64², {args.modes}x{args.modes} modes, width {args.width}, batch {args.batch_size}, history {HISTORY}")
    print(
        f"training samples/s: ours {ours_median:.1f} (rounds {[round(v, 1) for v in ours]}), "
        f"bare torch {bare_median:.1f} (rounds {[round(v, 1) for v in bare]}), "
        f"overhead ratio {bare_median / ours_median:.3f}"
    )
    inference = [rollout_vs_solver(n, device, args.batch_size, args.modes, args.width) for n in (64, 256)]
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
