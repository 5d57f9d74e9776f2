"""The ``pdeops`` command. A thin layer over the Python API: each subcommand parses, then calls one function."""

import argparse
import json
import os
import sys
from typing import Any

from pdeops import __version__


def _demo(args: argparse.Namespace) -> int:
    from pdeops.demo import DemoConfig, run_demo

    config = DemoConfig(
        samples=args.samples, resolution=args.resolution, epochs=args.epochs, device=args.device, out=args.out
    )
    report = run_demo(config)
    model, baseline = report["model"]["relative_l2"], report["persistence"]["relative_l2"]
    learned = model["spacetime_mean"] < 0.5 * baseline["spacetime_mean"]
    print(
        "The model has learned: its rollout error is below half the persistence baseline's."
        if learned
        else "Warning: the model's rollout error is not below half the persistence baseline's."
    )
    return 0


def _parse_params(items: list[str]) -> dict[str, float]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            params[key] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--param takes NAME=NUMBER, e.g. --param viscosity=1e-4; got {item!r}.") from None
    return params


def _parse_samples(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(index) for index in text.split(",")]
    except ValueError:
        message = f"--samples takes comma-separated trajectory indices, e.g. --samples 0,3,7; got {text!r}."
        raise ValueError(message) from None


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    i, sep, n = text.partition("/")
    if not (sep and i.isdigit() and n.isdigit()):
        raise ValueError(f"--shard takes i/n (part i of n, counting from 0), e.g. --shard 0/4; got {text!r}.")
    return int(i), int(n)


class _ProgressBar:
    """A tqdm bar opened on the first report, so that errors before any work print no empty bar."""

    def __init__(self, description: str):
        self.description = description
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="sample", desc=self.description)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _generate(args: argparse.Namespace) -> int:
    from pdeops.data.generate import generate
    from pdeops.data.recipes import GenerationConfig

    config = GenerationConfig(
        recipe=args.recipe,
        samples=args.samples,
        resolution=args.resolution,
        solve_resolution=args.solve_resolution,
        horizon=args.horizon,
        record_every=args.record_every,
        seed=args.seed,
        dt=args.dt,
        dtype=args.dtype,
        device=args.device,
        downsample=args.downsample,
        params=_parse_params(args.param),
    )
    out = args.out or f"data/{args.recipe}.h5"
    progress = _ProgressBar(f"generate {args.recipe}")
    try:
        path = generate(
            config,
            out,
            batch_size=args.batch_size,
            overwrite=args.overwrite,
            shard=_parse_shard(args.shard),
            progress=progress,
        )
    finally:
        progress.close()
    print(f"wrote {path}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from pdeops.data.generate import merge_shards

    print(f"wrote {merge_shards(args.shards, args.out)}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pdeops.evaluation import evaluate
    from pdeops.evaluation.evaluate import markdown

    samples = _parse_samples(args.samples)
    report = evaluate(
        args.ckpt,
        args.data,
        steps=args.steps,
        context=args.context,
        out_dir=args.out,
        samples=samples,
        device=args.device,
        resolution=args.resolution,
        batch_size=args.batch_size,
        allow_modules=args.allow_module,
    )
    print(markdown(report))
    if args.out:
        print(f"wrote {args.out}/report.json, {args.out}/report.md and {args.out}/figures/")
    return 0


def _rollout(args: argparse.Namespace) -> int:
    from pdeops.evaluation import write_rollout

    samples = _parse_samples(args.samples)
    path = write_rollout(
        args.ckpt,
        args.data,
        args.out,
        samples=samples,
        steps=args.steps,
        device=args.device,
        overwrite=args.overwrite,
        allow_modules=args.allow_module,
    )
    print(f"wrote {path}")
    return 0


def _refine(args: argparse.Namespace) -> int:
    from pdeops.evaluation.refine import format_rows, refine_checkpoint

    rows = refine_checkpoint(
        args.ckpt,
        args.data,
        steps=args.steps,
        resolution=args.resolution,
        samples="all" if args.samples == "all" else _parse_samples(args.samples),
        start_step=args.start_step,
        device=args.device,
        allow_modules=args.allow_module,
    )
    print(format_rows(rows))
    if args.out:
        with open(args.out, "w") as file:
            json.dump(rows, file, indent=1)
        print(f"wrote {args.out}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from pdeops.evaluation.benchmark import load_suite, markdown_leaderboard, run_benchmark

    suite = load_suite(args.suite)
    out = args.out or f"runs/benchmarks/{suite.name}"
    board = run_benchmark(
        suite, out, models=args.models, seeds=args.seeds, device=args.device, shard=_parse_shard(args.shard)
    )
    print(markdown_leaderboard(board))
    return 0


def _info(args: argparse.Namespace) -> int:
    from pdeops.data import open_dataset

    with open_dataset(args.path) as dataset:
        print(dataset)
    return 0


def _add_allow_module(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="let the checkpoint name classes of PACKAGE besides pdeops, neuraloperator and torch (loading runs "
        "their code: only for checkpoints you trust; repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdeops", description="Neural PDE solvers: reference solvers, datasets, training and evaluation."
    )
    parser.add_argument("--version", action="version", version=f"pdeops {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (also PDEOPS_DEBUG=1; any command)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in LIGHTNING_COMMANDS:  # listed for --help; main() hands them to LightningCLI before parsing
        commands.add_parser(name, help=f"LightningCLI {name}: pdeops {name} -c configs/<dataset>/<model>.yaml")
    demo = commands.add_parser("demo", help="generate, train and evaluate on embedded defaults (minutes on a CPU)")
    demo.add_argument("--samples", type=int, default=48, help="trajectories to generate (default 48)")
    demo.add_argument("--resolution", type=int, default=32, help="stored points per side (default 32)")
    demo.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    demo.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    demo.add_argument("--out", help="run directory (default runs/demo-<timestamp>)")
    demo.set_defaults(run=_demo)

    from pdeops.data.recipes import RECIPES

    gen = commands.add_parser("generate", help="generate a dataset from a recipe (native HDF5, resumable)")
    gen.add_argument("recipe", choices=sorted(RECIPES))
    gen.add_argument("--out", help="output file (default data/RECIPE.h5)")
    gen.add_argument("--samples", type=int, default=16)
    gen.add_argument("--resolution", type=int, help="stored points per axis (recipe default)")
    gen.add_argument("--solve-resolution", type=int, help="points per axis the solver runs at (recipe default)")
    gen.add_argument("--horizon", type=float, help="final time (recipe default)")
    gen.add_argument("--record-every", type=float, help="time between stored frames (recipe default)")
    gen.add_argument("--dt", type=float, help="solver time step (recipe default)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    gen.add_argument("--device", default="cpu")
    gen.add_argument("--downsample", choices=["spectral", "stride", "bilinear"], default="spectral")
    gen.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="physical parameter, e.g. --param viscosity=1e-4 (repeatable)",
    )
    gen.add_argument("--batch-size", type=int, default=16)
    gen.add_argument("--overwrite", action="store_true", help="replace an existing finished file")
    gen.add_argument("--shard", metavar="I/N", help="generate only part I of N (join the parts with `pdeops merge`)")
    gen.set_defaults(run=_generate)

    merge = commands.add_parser("merge", help="join the shards of one `generate --shard` run into one file")
    merge.add_argument("out", help="the merged dataset file")
    merge.add_argument("shards", nargs="+", help="every shard file of the run")
    merge.set_defaults(run=_merge)

    evaluation = commands.add_parser("evaluate", help="roll a checkpoint out on the test split and score it")
    evaluation.add_argument("--ckpt", required=True, help="the .ckpt file")
    evaluation.add_argument("--data", required=True, help="the dataset file (any supported format)")
    evaluation.add_argument("--steps", type=int, help="steps after the given frames (default: to the end)")
    evaluation.add_argument(
        "--context",
        type=int,
        help="stored frames given before the first compared one, at least the model's input frames (default: those)",
    )
    evaluation.add_argument("--out", help="directory for report.json, report.md and figures/")
    evaluation.add_argument("--samples", help="comma-separated trajectory indices (default: the test split)")
    evaluation.add_argument("--resolution", type=int, help="evaluate zero-shot at this resolution")
    evaluation.add_argument("--batch-size", type=int, help="trajectories per forward pass (default: all)")
    evaluation.add_argument("--device", default="cpu")
    _add_allow_module(evaluation)
    evaluation.set_defaults(run=_evaluate)

    roll = commands.add_parser("rollout", help="write a checkpoint's predicted trajectories as a dataset file")
    roll.add_argument("--ckpt", required=True, help="the .ckpt file")
    roll.add_argument("--data", required=True, help="the dataset file with the initial frames")
    roll.add_argument("--out", required=True, help="the output dataset file")
    roll.add_argument("--samples", help="comma-separated trajectory indices (default: the test split)")
    roll.add_argument("--steps", type=int, help="steps to predict (default: to the end of the stored trajectories)")
    roll.add_argument("--device", default="cpu")
    roll.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _add_allow_module(roll)
    roll.set_defaults(run=_rollout)

    vorticity = ", ".join(name for name, recipe in RECIPES.items() if recipe.vorticity_forcing is not None)
    refine = commands.add_parser(
        "refine", help="fine-tune a SpatiotemporalFNO's output layer on the equation residual, per trajectory"
    )
    refine.add_argument("--ckpt", required=True, help="checkpoint of a SpatiotemporalFNO task")
    refine.add_argument("--data", required=True, help=f"vorticity dataset generated by pdeops ({vorticity})")
    refine.add_argument("--steps", type=int, default=50, help="Adam steps per trajectory (default 50)")
    refine.add_argument(
        "--resolution", type=int, help="refine at this resolution, resampling spectrally (default: the file's)"
    )
    refine.add_argument(
        "--samples", help="comma-separated trajectory indices, or 'all' (default: the checkpoint's test split)"
    )
    refine.add_argument("--start-step", type=int, help="first input frame (default: the task's start_step, else 0)")
    refine.add_argument("--device", default="cpu")
    refine.add_argument("--out", help="write the rows as JSON to this file")
    _add_allow_module(refine)
    refine.set_defaults(run=_refine)

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

    info = commands.add_parser("info", help="describe any supported dataset file")
    info.add_argument("path")
    info.set_defaults(run=_info)
    return parser


LIGHTNING_COMMANDS = ("fit", "validate", "test")  # predictions: `pdeops rollout`


def main(argv: list[str] | None = None) -> int:
    """Run a ``pdeops`` command; bad input is one paragraph on stderr and exit status 2, not a traceback.

    ``--debug`` (anywhere on the line) or ``PDEOPS_DEBUG=1`` lets the traceback through instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("PDEOPS_DEBUG", "") not in ("", "0")
    argv = [arg for arg in argv if arg != "--debug"]
    command = argv[0] if argv else "pdeops"
    try:
        if command in LIGHTNING_COMMANDS:  # LightningCLI parses these itself (configs, --help, links)
            from pdeops.training.cli import lightning_cli

            lightning_cli(argv)
            return 0
        args = build_parser().parse_args(argv)
        if getattr(args, "device", "cpu").startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda was asked for but torch sees no CUDA device; use --device cpu.")
        return args.run(args)
    except Exception as error:
        cause = user_error(error)
        if cause is None or debug:
            raise
        print(f"pdeops {command}: error: {cause}\n(--debug shows the traceback)", file=sys.stderr)
        return 2


def user_error(error: BaseException) -> BaseException | None:
    """The bad-input error in ``error``'s chain (LightningCLI wraps errors raised in links), if any.

    Bad input is what pdeops raises for it (``ValueError``: ``DatasetError``, ``CheckpointError``, ``ConfigError``),
    files that are missing or cannot be read or written (``OSError``), an unstable solve, and Lightning's
    ``MisconfigurationException`` for trainer settings.
    """
    kinds: list[type[BaseException]] = [ValueError, OSError]
    for module, name in (
        ("solvers", "SolverInstabilityError"),
        ("lightning.fabric.utilities.exceptions", "MisconfigurationException"),
    ):
        if module in sys.modules:  # only an error of a package in use can have been raised
            kinds.append(getattr(sys.modules[module], name))
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, tuple(kinds)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
