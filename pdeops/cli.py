"""The ``pdeops`` command. A thin layer over the Python API: each subcommand parses, then calls one function."""

import argparse
import sys

from pdeops import __version__


def _demo(args: argparse.Namespace) -> int:
    from pdeops.demo import DemoConfig, run_solver_demo

    config = DemoConfig(resolution=args.resolution, samples=args.samples, horizon=args.horizon, device=args.device)
    run_solver_demo(config)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdeops", description="Neural PDE solvers: reference solvers, datasets, training and evaluation."
    )
    parser.add_argument("--version", action="version", version=f"pdeops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser("demo", help="run the demonstration on embedded defaults")
    demo.add_argument("--resolution", type=int, default=64, help="grid points per side (default 64)")
    demo.add_argument("--samples", type=int, default=4, help="trajectories solved at once (default 4)")
    demo.add_argument("--horizon", type=float, default=10.0, help="simulated time (default 10)")
    demo.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo" and args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(
                "pdeops: error: --device cuda was asked for but torch sees no CUDA device; use --device cpu.",
                file=sys.stderr,
            )
            return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
