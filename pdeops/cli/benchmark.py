"""Benchmark verbs: benchmark (a suite's leaderboard) and demo (the main job on embedded defaults)."""

import argparse
from typing import Any

from pdeops.cli._common import add_threads, parse_shard, say_where, use_threads


def add_benchmark(commands: Any) -> None:
    """``pdeops benchmark SUITE``: every model of a suite on one dataset, budget and seeds."""
    bench = commands.add_parser(
        "benchmark", help="train and evaluate every model of a suite on one dataset, budget and seeds: a leaderboard"
    )
    bench.add_argument("suite", help="the suite, e.g. configs/benchmarks/ns2d-cpu.yaml")
    bench.add_argument("--out", help="the benchmark directory (default runs/benchmarks/<suite name>); reruns resume")
    bench.add_argument("--models", nargs="+", metavar="MODEL", help="only these models of the suite")
    bench.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="only these seeds (default: the suite's)")
    bench.add_argument("--device", default="cpu")
    bench.add_argument(
        "--shard", metavar="I/N", help="run every N-th run from the I-th (a SLURM array, several GPUs, same --out)"
    )
    bench.set_defaults(run=_benchmark)
    add_threads(bench)


def _benchmark(args: argparse.Namespace) -> int:
    from pdeops.benchmark import load_suite, markdown_leaderboard, run_benchmark

    suite = load_suite(args.suite)
    out = args.out or f"runs/benchmarks/{suite.name}"
    use_threads(args)
    say_where("benchmark", args.device, "float32 unless a model's config sets --trainer.precision")
    board = run_benchmark(
        suite, out, models=args.models, seeds=args.seeds, device=args.device, shard=parse_shard(args.shard)
    )
    print(markdown_leaderboard(board))
    return 0


def add_demo(commands: Any) -> None:
    """``pdeops demo``: generate, train and evaluate on embedded defaults."""
    demo = commands.add_parser("demo", help="generate, train and evaluate on embedded defaults (minutes on a CPU)")
    demo.add_argument("--samples", type=int, default=48, help="trajectories to generate (default 48)")
    demo.add_argument("--resolution", type=int, default=32, help="stored points per side (default 32)")
    demo.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    demo.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    demo.add_argument("--out", help="run directory (default runs/demo-<timestamp>)")
    demo.set_defaults(run=_demo)
    add_threads(demo)


def _demo(args: argparse.Namespace) -> int:
    from pdeops.demo import DemoConfig, run_demo

    config = DemoConfig(
        samples=args.samples, resolution=args.resolution, epochs=args.epochs, device=args.device, out=args.out
    )
    use_threads(args, (max(config.solve_resolution, config.resolution),) * 2)
    report = run_demo(config)
    model, baseline = report["model"]["relative_l2"], report["persistence"]["relative_l2"]
    learned = model["spacetime_mean"] < 0.5 * baseline["spacetime_mean"]
    print(
        "The model has learned: its rollout error is below half the persistence baseline's."
        if learned
        else "Warning: the model's rollout error is not below half the persistence baseline's."
    )
    return 0
