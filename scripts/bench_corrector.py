"""CPU time of a small periodic CNN corrector, five ways, and of a hybrid solver step against a plain solver step.

Issue 22 measured, at batch 16 on a 32² grid, one ``rk4cn`` solver step at 3.5 ms and a 5k-parameter circular CNN at
10.8 ms: a corrector applied after every step would cost three solver steps. This script times, in one process, with
the same weights, round-robin (every option once per round, so a change of machine load hits all of them alike), the
network 1 → h → h → h → 1 of 3×3 convolutions with GELU between them:

- ``Conv2d circular``: ``nn.Conv2d(padding=1, padding_mode="circular")`` in every layer (what most code writes);
- ``F.pad per layer``: an explicit ``F.pad(mode="circular")`` then an unpadded convolution, per layer;
- ``F.pad per layer, channels-last``: the same in channels-last layout;
- ``one wrap-pad``: the input wrap-padded once by the receptive field's half-width, then valid convolutions;
- ``one wrap-pad, channels-last``: the same in channels-last layout, which is ``pdeops.models.CircularCNN``;
- ``zero padding``: ``Conv2d(padding=1)`` with zeros (the wrong boundary), the floor of the convolutions alone.

It checks that the periodic options compute the same output, then reports medians of the thread's CPU time
(``time.thread_time``: what the computation costs, robust to other processes on a shared machine) and of wall-clock
time, for the forward pass under ``torch.inference_mode`` and for forward + backward. Then it times ``CircularCNN``
at several widths, and a ``pdeops.training.HybridTask`` step (one solver step, one correction) against one plain
solver step of the same solver (Kolmogorov flow, ν = 1e-3, drag 0.1, on [0, 2π]²), float32, and one frame of
``--frame-steps`` solver steps, plain and corrected every ``--frame-steps``, 4 and 1 steps.

    OMP_NUM_THREADS=1 python scripts/bench_corrector.py [--size 32] [--batch 16] [--hidden 16] [--layers 4]
        [--rounds 40] [--threads 1] [--widths 8 16 24 32] [--frame-steps 8]

Prints tables and, last, one JSON line with every median (milliseconds).
"""

import argparse
import functools
import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.losses import VorticityOperators
from pdeops.models import CircularCNN
from pdeops.training import HybridTask
from solvers import Grid, random_fourier_series

Tensor = torch.Tensor
CHANNELS_LAST = torch.channels_last


def round_robin(options: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, float]]:
    """Median CPU and wall milliseconds of each option, called once per round in turn after two warm-up calls."""
    cpu: dict[str, list[float]] = {name: [] for name in options}
    wall: dict[str, list[float]] = {name: [] for name in options}
    for fn in options.values():
        fn(), fn()
    for _ in range(rounds):
        for name, fn in options.items():
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            fn()
            cpu[name].append(time.thread_time() - start_cpu)
            wall[name].append(time.perf_counter() - start_wall)
    return {
        name: {"cpu_ms": 1e3 * statistics.median(cpu[name]), "wall_ms": 1e3 * statistics.median(wall[name])}
        for name in options
    }


def variants(network: CircularCNN) -> dict[str, Callable[[Tensor], Tensor]]:
    """The five ways of computing ``network`` (and the zero-padded floor), sharing its weights."""
    convs = cast(list[nn.Conv2d], list(network.convs))
    activation, halo, k = network.activation, network.halo, network.kernel_size
    pad = k // 2
    nchw = [nn.Conv2d(c.in_channels, c.out_channels, k) for c in convs]
    circular = [nn.Conv2d(c.in_channels, c.out_channels, k, padding=pad, padding_mode="circular") for c in convs]
    zeros = [nn.Conv2d(c.in_channels, c.out_channels, k, padding=pad) for c in convs]
    for copies in (nchw, circular, zeros):
        for copy, conv in zip(copies, convs, strict=True):
            copy.load_state_dict(conv.state_dict())  # the copies are contiguous (NCHW) modules

    def layers(x: Tensor, stack: list[nn.Conv2d], before: Callable[[Tensor], Tensor] = lambda x: x) -> Tensor:
        for i, conv in enumerate(stack):
            x = conv(before(x))
            if i < len(stack) - 1:
                x = activation(x)
        return x.contiguous()

    def wrap(x: Tensor) -> Tensor:
        return F.pad(x, (pad,) * 4, mode="circular")

    def wrap_cl(x: Tensor) -> Tensor:
        return wrap(x).contiguous(memory_format=CHANNELS_LAST)

    return {
        "Conv2d circular": lambda x: layers(x, circular),
        "F.pad per layer": lambda x: layers(x, nchw, wrap),
        "F.pad per layer, channels-last": lambda x: layers(x, convs, wrap_cl),
        "one wrap-pad": lambda x: layers(F.pad(x, (halo,) * 4, mode="circular"), nchw),
        "one wrap-pad, channels-last (CircularCNN)": network,
        "zero padding (wrong boundary; floor)": lambda x: layers(x, zeros),
    }


def bench_variants(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    torch.manual_seed(0)
    network = CircularCNN(1, 1, hidden_channels=args.hidden, layers=args.layers)
    x = torch.randn(args.batch, 1, args.size, args.size)
    ways = variants(network)
    with torch.no_grad():
        reference = ways["Conv2d circular"](x)
        for name, fn in ways.items():
            if not name.startswith("zero") and not torch.allclose(fn(x), reference, atol=1e-5, rtol=1e-4):
                raise SystemExit(f"{name} computes another function than Conv2d circular: the benchmark is wrong.")
    with torch.inference_mode():
        forward = round_robin({name: functools.partial(fn, x) for name, fn in ways.items()}, args.rounds)
    x_grad = x.clone().requires_grad_()

    def train(fn: Callable[[Tensor], Tensor]) -> None:
        fn(x_grad).square().mean().backward()

    backward = round_robin({name: functools.partial(train, fn) for name, fn in ways.items()}, args.rounds)
    return {"forward": forward, "forward+backward": backward}


def bench_widths(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    x = torch.randn(args.batch, 1, args.size, args.size)
    networks = {
        f"hidden {h} ({sum(p.numel() for p in n.parameters())} parameters)": n
        for h in args.widths
        for n in [CircularCNN(1, 1, hidden_channels=h, layers=args.layers)]
    }
    with torch.inference_mode():
        return round_robin({name: functools.partial(n, x) for name, n in networks.items()}, args.rounds)


def bench_hybrid(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """One solver step (spectral in and out, as the solver steps) against one HybridTask step (the solver step with
    its transforms to and from physical space, and one correction) and the corrector alone; then one frame of
    ``--frame-steps`` solver steps, plain and with a correction every ``--frame-steps``, 4 and 1 of them."""
    length = 2 * math.pi
    equation = VorticityOperators(viscosity=1e-3, length=length, drag=0.1, forcing="kolmogorov")
    network = CircularCNN(1, 1, hidden_channels=args.hidden, layers=args.layers).eval()

    def hybrid(steps: int, every: int) -> HybridTask:
        return HybridTask(
            network, equation=equation, frame_interval=0.05 * steps, solver_steps_per_frame=steps, correct_every=every
        ).eval()

    grid = Grid((args.size, args.size), length, dtype=torch.float32)
    w = random_fourier_series(grid, args.batch, generator=torch.Generator().manual_seed(0), max_mode=4)
    window = w[:, None, None]  # (B, 1, 1, H, W)
    one, n = hybrid(1, 1), args.frame_steps
    step = equation.solver(w).stepper(one.dt)  # the rk4cn step the task takes
    w_hat = grid.rfft(w)
    options: dict[str, Callable[[], object]] = {
        "solver step (rk4cn, spectral in and out)": lambda: step(w_hat, 0.0),
        "solver step from and to physical space": lambda: one.solve(w, 1),
        "corrector alone": lambda: network(w[:, None]),
        "HybridTask step (1 solver step + correction)": lambda: one.step(window),
        f"frame: {n} plain solver steps": lambda: one.solve(w, n),
    }
    for every in sorted({n, min(4, n), 1}, reverse=True):
        task = hybrid(n, every)
        options[f"frame: {n} solver steps, {n // every} correction(s)"] = functools.partial(task.step, window)
    with torch.inference_mode():
        return round_robin(options, args.rounds)


def table(title: str, results: dict[str, dict[str, float]], baseline: str | None = None) -> str:
    width = max(len(name) for name in results)
    lines = [f"\n{title}", f"  {'':{width}}  {'CPU ms':>8}  {'wall ms':>8}" + ("  vs first" if baseline else "")]
    for name, r in results.items():
        ratio = f"  {results[baseline]['cpu_ms'] / r['cpu_ms']:7.2f}×" if baseline else ""
        lines.append(f"  {name:{width}}  {r['cpu_ms']:8.2f}  {r['wall_ms']:8.2f}{ratio}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 24, 32])
    parser.add_argument("--frame-steps", type=int, default=8, help="solver steps per frame of the hybrid frame rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    setting = (
        f"{args.size}², batch {args.batch}, float32, {args.threads} thread(s), torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}; medians of {args.rounds} round-robin rounds"
    )
    print(f"CircularCNN 1 → {args.hidden} (×{args.layers - 1}) → 1, 3×3, GELU; {setting}")
    variant_results = bench_variants(args)
    first = "Conv2d circular"
    for mode, results in variant_results.items():
        print(table(f"{mode}", results, baseline=first))
    widths = bench_widths(args)
    print(table("CircularCNN by width (forward)", widths))
    hybrid = bench_hybrid(args)
    print(table("Hybrid step against a solver step (forward)", hybrid))
    print(json.dumps({"setting": setting, "variants": variant_results, "widths": widths, "hybrid": hybrid}))


if __name__ == "__main__":
    main()
