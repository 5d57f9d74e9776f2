"""Eager against ``torch.compile``d networks: training samples/s and rollout frames/s, and the compile time.

For the FNO baseline (neuraloperator, the ``configs/ns2d/fno.yaml`` network: 16 modes, width 32, 10 frames in) and
DRIFT-Net (size ``mini``), one ``AutoregressiveTask`` each with ``compile=False`` and ``compile=True`` (same
weights), on 64² fields, batch 16:

- training: forward, relative L2 loss, backward and an AdamW step per batch, timed alternately (eager, compiled,
  eager, …) after the compile and two warm-up steps; medians of the rounds;
- rollout: ``rollout_steps`` autoregressive steps without gradients, timed the same way;
- agreement: the compiled one-step prediction against the eager one (relative max difference, float32 rounding).

    python scripts/bench_compile.py [--device cuda] [--rounds 3] [--models fno drift]

Prints a table and, last, one JSON line.
"""

import argparse
import copy
import json
import statistics
import time
import warnings

import torch
from bench_solver import keep_freed_memory, timed
from neuralop.models import FNO

from pdeops.models import DRIFTNet
from pdeops.training import AutoregressiveTask

HISTORY = 10


def network(name: str) -> torch.nn.Module:
    if name == "fno":
        return FNO(n_modes=(16, 16), hidden_channels=32, in_channels=HISTORY, out_channels=1, n_layers=4)
    if name == "drift":
        return DRIFTNet(in_channels=HISTORY, out_channels=1, size="mini", image_size=64)
    raise ValueError(f"unknown model {name!r}")


def train_step(task: AutoregressiveTask, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    task.loss(task.step(x), y).backward()
    optimizer.step()


def rollout(task: AutoregressiveTask, x: torch.Tensor, steps: int) -> None:
    with torch.no_grad():
        task.rollout(x, steps)


def bench(name: str, device: torch.device, batch: int, rounds: int, steps: int) -> dict:
    torch.manual_seed(0)
    eager = AutoregressiveTask(network(name), history=HISTORY).to(device)
    compiled = AutoregressiveTask(copy.deepcopy(eager.model), history=HISTORY, compile=True).to(device)
    x = torch.randn(batch, HISTORY, 1, 64, 64, device=device)
    y = torch.randn(batch, 1, 1, 64, 64, device=device)
    with torch.no_grad():
        reference = eager.step(x)
        start = time.perf_counter()
        agreement = float((compiled.step(x) - reference).abs().max() / reference.abs().max())
        compile_inference = time.perf_counter() - start
    optimizers = {task: torch.optim.AdamW(task.parameters()) for task in (eager, compiled)}
    start = time.perf_counter()
    train_step(compiled, optimizers[compiled], x, y)  # compiles forward and backward
    compile_training = time.perf_counter() - start
    for task in (eager, compiled):
        for _ in range(2):
            train_step(task, optimizers[task], x, y)
        rollout(task, x, steps)
    samples: dict[str, list[float]] = {
        key: [] for key in ("train_eager", "train_compiled", "roll_eager", "roll_compiled")
    }
    for _ in range(rounds):
        for label, task in (("eager", eager), ("compiled", compiled)):
            samples[f"train_{label}"].append(timed(lambda t=task: train_step(t, optimizers[t], x, y), device, 3))
            samples[f"roll_{label}"].append(timed(lambda t=task: rollout(t, x, steps), device, 1))
    median = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "model": name,
        "compile_s": compile_inference + compile_training,
        "train_samples_per_s": {k: batch / median[f"train_{k}"] for k in ("eager", "compiled")},
        "rollout_frames_per_s": {k: batch * steps / median[f"roll_{k}"] for k in ("eager", "compiled")},
        "agreement": agreement,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rollout-steps", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=["fno", "drift"], choices=["fno", "drift"])
    args = parser.parse_args(argv)
    keep_freed_memory()
    warnings.filterwarnings("ignore")  # dynamo's graph-break notices; the table says what matters
    device = torch.device(args.device)
    print(f"# device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(
        f"{'model':>6} {'compile s':>9} {'train eager':>12} {'compiled':>9} {'ratio':>6} "
        f"{'roll eager':>11} {'compiled':>9} {'ratio':>6} {'max diff':>9}"
    )
    rows = []
    for name in args.models:
        row = bench(name, device, args.batch_size, args.rounds, args.rollout_steps)
        rows.append(row)
        train, roll = row["train_samples_per_s"], row["rollout_frames_per_s"]
        print(
            f"{name:>6} {row['compile_s']:>9.1f} {train['eager']:>12.1f} {train['compiled']:>9.1f} "
            f"{train['compiled'] / train['eager']:>6.2f} {roll['eager']:>11.1f} {roll['compiled']:>9.1f} "
            f"{roll['compiled'] / roll['eager']:>6.2f} {row['agreement']:>9.1e}",
            flush=True,
        )
    print(json.dumps({"benchmark": "compile_vs_eager", "device": str(device), "rows": rows}))


if __name__ == "__main__":
    main()
