"""The ``pdeops`` command. A thin layer over the Python API: each subcommand parses, then calls one function."""

import argparse
import json
import os
import signal
import sys
from typing import Any

from pdeops import __version__


def _demo(args: argparse.Namespace) -> int:
    from pdeops.demo import DemoConfig, run_demo

    config = DemoConfig(
        samples=args.samples, resolution=args.resolution, epochs=args.epochs, device=args.device, out=args.out
    )
    _use_threads(args, (max(config.solve_resolution, config.resolution),) * 2)
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


def _generate(args: argparse.Namespace) -> int:
    from pdeops.data.generate import auto_batch_size, command_line, describe_run, generate, generate_on_devices
    from pdeops.data.recipes import GenerationConfig, resolve

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
        spinup=args.spinup,
    )
    resolved = resolve(config)
    _use_threads(args, (resolved.solve_resolution,) * resolved.recipe.spatial_dims)
    out = args.out or f"data/{args.recipe}.h5"
    if args.devices:
        if args.shard:
            raise ValueError("--devices writes every shard itself: leave out --shard.")
        processes = f"one process per device ({', '.join(args.devices)}), each writing a shard merged at the end"
        print(f"generate {args.recipe}: {config.samples} samples, {processes}", file=sys.stderr)
        path = generate_on_devices(
            config, out, args.devices, batch_size=args.batch_size, compression=args.compression, command=command_line()
        )
        print(f"wrote {path}")
        return 0
    batch_size = auto_batch_size(config) if args.batch_size is None else args.batch_size
    print(f"generate {describe_run(config, batch_size)}", file=sys.stderr)
    path = generate(  # its progress: a bar in a terminal, lines in a log (GenerationProgress)
        config,
        out,
        batch_size=batch_size,
        overwrite=args.overwrite,
        shard=_parse_shard(args.shard),
        compression=args.compression,
        command=command_line(),
    )
    print(f"wrote {path}")
    return 0


def _recipes(args: argparse.Namespace) -> int:
    from pdeops.data.recipes import catalogue

    print(catalogue())
    print("\n`pdeops generate RECIPE --help` shows a recipe's equation, parameters, defaults and cost.")
    return 0


def _explain_recipe(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Make ``generate RECIPE --help`` end with the recipe's card: its settings as the other options on the line
    set them, its cost counted, and seconds per sample measured by a short probe of the solver."""
    import dataclasses

    from pdeops.data.recipes import RECIPES, GenerationConfig, explain, resolve

    rest = [arg for arg in argv if arg not in ("-h", "--help")]
    if not RECIPES.keys() & set(rest[1:]):
        return  # plain `generate --help`
    args, _ = parser.parse_known_args(rest)
    fields = [field.name for field in dataclasses.fields(GenerationConfig) if field.name != "params"]
    settings = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    resolved = resolve(GenerationConfig(**settings, params=_parse_params(args.param)))
    card = explain(resolved)
    try:
        from pdeops.data.generate import auto_batch_size
        from pdeops.data.setups import probe_cost

        batch_size = auto_batch_size(resolved.config) if args.batch_size is None else args.batch_size
        card += "\n" + probe_cost(resolved, batch_size=batch_size).describe(args.samples)
    except Exception as error:  # the help still shows; the failure is what a run would meet
        card += f"\n  measured           not: the solver probe failed ({user_error(error) or repr(error)})"
    generate = _subcommands(parser)["generate"]
    generate.formatter_class = argparse.RawDescriptionHelpFormatter
    generate.epilog = card


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return action.choices


def _merge(args: argparse.Namespace) -> int:
    from pdeops.data.generate import command_line, merge_shards

    print(f"wrote {merge_shards(args.shards, args.out, command=command_line())}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pdeops.data.export import export

    print(f"wrote {export(args.path, args.to, args.out, overwrite=args.overwrite)}")
    return 0


def _say_where(command: str, device: str, precision: str) -> None:
    """One line on stderr at the start of a command: the device, the precision and torch's CPU threads."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    print(f"{command}: device {device}, {precision}, {torch.get_num_threads()} CPU threads", file=sys.stderr)


def _use_threads(args: argparse.Namespace, points: tuple[int, ...] | None = None) -> None:
    """Set torch's CPU threads from ``--threads``, else the CPUs available and the problem's grid ``points`` (None:
    unknown), and say the choice as the command's first line (``pdeops._threads``)."""
    from pdeops._threads import use_threads

    use_threads(args.threads, points)


def _add_threads(*parsers: argparse.ArgumentParser) -> None:
    for parser in parsers:
        parser.add_argument(
            "--threads",
            type=int,
            metavar="N",
            help="CPU threads for torch (default: 1 for a small problem, else the idle CPUs this process may use, "
            "within affinity, cgroup quota, SLURM_CPUS_PER_TASK; OMP_NUM_THREADS if set)",
        )


def _evaluate(args: argparse.Namespace) -> int:
    from pdeops.evaluation import evaluate
    from pdeops.evaluation.evaluate import markdown
    from pdeops.evaluation.work_precision import Accuracy

    samples = _parse_samples(args.samples)
    _use_threads(args)
    _say_where("evaluate", args.device, "float32 network, scores in float64")
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
        animate=args.animate,
        equal_accuracy=args.equal_accuracy,
        overwrite=args.overwrite,
        accuracy=Accuracy(args.accuracy, args.correlation_threshold),
    )
    print(markdown(report))
    if args.out:
        print(f"wrote {args.out}/report.json, report.md, report.html and figures/")
    return 0


def _rollout(args: argparse.Namespace) -> int:
    from pdeops.evaluation import write_rollout

    samples = _parse_samples(args.samples)
    _use_threads(args)
    _say_where("rollout", args.device, "float32")
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

    _use_threads(args)
    _say_where("refine", args.device, "float64 refinement of a float32 network")
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
    from pdeops.benchmark import load_suite, markdown_leaderboard, run_benchmark

    suite = load_suite(args.suite)
    out = args.out or f"runs/benchmarks/{suite.name}"
    _use_threads(args)
    _say_where("benchmark", args.device, "float32 unless a model's config sets --trainer.precision")
    board = run_benchmark(
        suite, out, models=args.models, seeds=args.seeds, device=args.device, shard=_parse_shard(args.shard)
    )
    print(markdown_leaderboard(board))
    return 0


def _work_precision(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pdeops.evaluation import work_precision as wp

    _use_threads(args)
    truth = wp.truth_from_file(args.data, samples=_parse_samples(args.samples), context=args.context, steps=args.steps)
    settings = wp.default_settings(
        truth,
        schemes=args.schemes,
        resolutions=args.resolutions,
        dts=args.dts,
        cfls=args.cfls,
        dtypes=args.dtypes,
    )
    _say_where("work-precision", args.device, "/".join(sorted({s.dtype for s in settings})))

    def progress(i: int, n: int, setting: wp.SolverSetting) -> None:
        print(f"[{i + 1}/{n}] {setting.label}", file=sys.stderr, flush=True)

    points = wp.sweep(truth, settings, device=args.device, max_seconds=args.max_seconds, progress=progress)
    out = Path(args.out or f"runs/work-precision/{Path(args.data).stem}")
    title = f"{truth.resolved.recipe.name}, {len(truth.frames)} trajectories, {len(truth.lead_times)} frames"
    wp.write_sweep(points, out, title=title, device=args.device)
    print(wp.markdown_table(points, title=title, device=args.device))
    print(f"wrote {out}/work_precision.json, .md and .png")
    return 0


def _info(args: argparse.Namespace) -> int:
    from pdeops.data.info import describe

    print(describe(args.path, format=getattr(args, "format", None), verify=args.verify))
    return 0


def _add_format(parser: argparse.ArgumentParser) -> None:
    from pdeops.data import FORMATS

    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="the data's format, to skip detecting it (default: detected; docs/format.md describes 'pdeops')",
    )


def _assumed_format(args: argparse.Namespace) -> Any:
    """The block in which the data path is read as ``--format`` (a no-op without it; imports xarray only with it)."""
    from contextlib import nullcontext

    path, format = getattr(args, "data", None) or getattr(args, "path", None), getattr(args, "format", None)
    if path is None or format is None:
        return nullcontext()
    from pdeops.data.readers import assume_format

    return assume_format(path, format)


def _add_allow_module(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="let the checkpoint name classes of PACKAGE besides pdeops, neuraloperator and torch (loading runs "
        "their code: only for checkpoints you trust; repeatable)",
    )


class _PrintCompletion(argparse.Action):
    """``--print-completion SHELL``: print shtab's completion script for the whole parser, then exit (like
    ``--version``, before the command is required). shtab is imported only here, so ``--help`` does not pay for it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, shell: Any, option: Any = None) -> None:
        try:
            import shtab
        except ImportError:
            parser.error("shell completion needs the shtab package: pip install 'pdeops[completion]' (or shtab).")
        print(shtab.complete(parser, shell=shell))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdeops", description="Neural PDE solvers: reference solvers, datasets, training and evaluation."
    )
    parser.add_argument("--version", action="version", version=f"pdeops {__version__}")
    parser.add_argument(
        "--print-completion",
        action=_PrintCompletion,
        choices=["bash", "zsh", "tcsh"],
        help="print a shell completion script and exit (needs shtab: pip install 'pdeops[completion]')",
    )
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
    gen.add_argument(
        "recipe",
        choices=sorted(RECIPES),
        help="the recipe: `pdeops recipes` lists them, `pdeops generate RECIPE --help` explains one",
    )
    gen.add_argument("--out", help="output file (default data/RECIPE.h5)")
    gen.add_argument("--samples", type=int, default=16)
    gen.add_argument("--resolution", type=int, help="stored points per axis (recipe default)")
    gen.add_argument("--solve-resolution", type=int, help="points per axis the solver runs at (recipe default)")
    gen.add_argument("--horizon", type=float, help="final time (recipe default)")
    gen.add_argument("--record-every", type=float, help="time between stored frames (recipe default)")
    gen.add_argument("--dt", type=float, help="solver time step (recipe default)")
    gen.add_argument(
        "--spinup",
        type=float,
        metavar="T",
        help="simulated time integrated before the first stored frame, e.g. to reach stationary turbulence "
        "(recipe default; 0: none)",
    )
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
    gen.add_argument(
        "--batch-size",
        type=int,
        help="trajectories solved at once (default: 16 on a CPU; on a GPU as many as fill half its free memory)",
    )
    gen.add_argument(
        "--devices",
        nargs="+",
        metavar="DEVICE",
        help="one process per device, each writing a shard, merged at the end (e.g. --devices cuda:0 cuda:1)",
    )
    gen.add_argument("--overwrite", action="store_true", help="replace an existing finished file")
    gen.add_argument("--shard", metavar="I/N", help="generate only part I of N (join the parts with `pdeops merge`)")
    gen.add_argument(
        "--compression",
        choices=["gzip", "lzf"],
        help="compress each frame's chunk (default none; gzip is readable everywhere, lzf faster; see "
        "scripts/bench_data.py for the read-speed cost)",
    )
    gen.set_defaults(run=_generate)

    recipes = commands.add_parser("recipes", help="list the dataset recipes of `pdeops generate`")
    recipes.set_defaults(run=_recipes)

    merge = commands.add_parser("merge", help="join the shards of one `generate --shard` run into one file")
    merge.add_argument("out", help="the merged dataset file")
    merge.add_argument("shards", nargs="+", help="every shard file of the run")
    merge.set_defaults(run=_merge)

    export = commands.add_parser("export", help="write a dataset in The Well's or PDEBench's layout")
    export.add_argument("path", help="the dataset file (any supported format)")
    export.add_argument("--to", required=True, choices=["the-well", "pdebench"], help="the target layout")
    export.add_argument(
        "out",
        help="the-well: a dataset directory (data/train|valid|test/*.hdf5 and stats.yaml); pdebench: one file, "
        "named as PDEBench's loaders read its layout: .h5 for per-seed groups (a 2-D field, several fields), .hdf5 "
        "for the flat layout (one 1-D field, Darcy flow, the fluid fields); export says which",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing output")
    export.set_defaults(run=_export)

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
    evaluation.add_argument("--overwrite", action="store_true", help="replace a report already in --out")
    evaluation.add_argument("--samples", help="comma-separated trajectory indices (default: the test split)")
    evaluation.add_argument("--resolution", type=int, help="evaluate zero-shot at this resolution")
    evaluation.add_argument("--batch-size", type=int, help="trajectories per forward pass (default: all)")
    evaluation.add_argument("--device", default="cpu")
    evaluation.add_argument(
        "--animate",
        nargs="?",
        const="gif",
        choices=["gif", "mp4"],
        help="also write figures/rollout.gif (or .mp4, which needs ffmpeg): truth | prediction | error over the "
        "rollout of the first trajectory; needs --out",
    )
    evaluation.add_argument(
        "--no-equal-accuracy",
        dest="equal_accuracy",
        action="store_false",
        help="skip the solver sweep behind the speed-up at equal accuracy (it runs the recipe's solver over a ladder "
        "of grids and steps on up to 8 trajectories, each setting capped at 30 s)",
    )
    evaluation.add_argument(
        "--accuracy",
        choices=["rollout_l2", "correlation_time"],
        default="rollout_l2",
        help="the accuracy axis of the report and of the speed-up at equal accuracy: relative L2 over the window "
        "(smooth flows), or the median time until the correlation with the truth drops below "
        "--correlation-threshold (chaotic flows, where a pointwise error saturates)",
    )
    evaluation.add_argument(
        "--correlation-threshold", type=float, default=0.95, help="the level of --accuracy correlation_time"
    )
    _add_allow_module(evaluation)
    _add_format(evaluation)
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
    _add_format(roll)
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
    _add_format(refine)
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

    sweep = commands.add_parser(
        "work-precision",
        help="the reference solver's error against wall time over schemes, resolutions, steps and dtypes",
        description="Run a native file's recipe from its stored frames over solver settings and score each against "
        "the stored frames that follow (relative L2 over space and time), timed per frame: the baseline a surrogate "
        "must beat at equal accuracy. Make a small file first, e.g. `pdeops generate ns2d-fno --samples 4 ...`.",
    )
    sweep.add_argument("data", help="a file written by `pdeops generate`")
    sweep.add_argument("--samples", help="trajectories, e.g. 0,5,9 (default: the test split)")
    sweep.add_argument(
        "--context", type=int, default=1, help="start from stored frame CONTEXT-1 (default 1: the first)"
    )
    sweep.add_argument("--steps", type=int, help="frames scored after the start (default: to the end)")
    sweep.add_argument("--schemes", nargs="+", help="time schemes (default: the recipe's); rk4cn rk3cn etdrk4")
    sweep.add_argument("--resolutions", nargs="+", type=int, help="solve points per axis (default: a ladder)")
    sweep.add_argument("--dts", nargs="+", type=float, help="fixed steps (default: the file's dt, doubled)")
    sweep.add_argument("--cfls", nargs="*", type=float, default=[0.5, 1.0], help="adaptive CFL targets")
    sweep.add_argument("--dtypes", nargs="+", default=["float32"], choices=["float32", "float64"])
    sweep.add_argument("--device", default="cpu")
    sweep.add_argument(
        "--max-seconds", type=float, default=60.0, help="skip a setting estimated to take longer (default 60)"
    )
    sweep.add_argument("--out", help="output folder (default runs/work-precision/<file name>)")
    sweep.set_defaults(run=_work_precision)

    info = commands.add_parser(
        "info",
        help="describe a dataset file: provenance, sizes, statistics, completeness and checksums",
        description="Describe a dataset file of any supported format (or a native .partial file): its format and "
        "size on disk, dimensions, coordinates and fields with their storage, whether every sample was written, "
        "min/max/mean/std of every field, whether every fletcher32 checksum verifies, and every attribute in full.",
    )
    info.add_argument("path")
    info.add_argument(
        "--verify",
        action="store_true",
        help="read every value (statistics and checksums) even of a file whose fields hold more than 2 GB",
    )
    _add_format(info)
    info.set_defaults(run=_info)
    _add_threads(demo, gen, evaluation, roll, refine, bench, sweep)
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
    previous = _raise_on_sigterm()
    loaded_torch = sys.modules.get("torch")  # a caller's own thread count (tests, notebooks) is restored at the end
    caller_threads = None if loaded_torch is None else loaded_torch.get_num_threads()
    try:
        if command in LIGHTNING_COMMANDS:  # LightningCLI parses these itself (configs, --help, links)
            from pdeops.training.cli import lightning_cli

            argv, requested = _pop_threads(argv)
            if not {"-h", "--help", "--print_config"} & {arg.partition("=")[0] for arg in argv}:
                _use_threads(argparse.Namespace(threads=requested))
            lightning_cli(argv)
            return 0
        parser = build_parser()
        if command == "generate" and ("-h" in argv or "--help" in argv):
            _explain_recipe(parser, argv)
        args = parser.parse_args(argv)
        if getattr(args, "device", "cpu").startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda was asked for but torch sees no CUDA device; use --device cpu.")
        with _assumed_format(args):
            return args.run(args)
    except Exception as error:
        cause = user_error(error)
        if cause is None or debug:
            raise
        print(f"pdeops {command}: error: {cause}\n(--debug shows the traceback)", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit, Terminated) as stop:
        status = _stop_status(stop)
        if status is None:
            raise
        if debug:
            import traceback

            traceback.print_exc()
        how = "terminated (SIGTERM)" if status == 143 else "interrupted (Ctrl-C)"
        print(f"pdeops {command}: {how}; exit status {status}. {RESUME.get(command, RESUME['*'])}", file=sys.stderr)
        return status
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if loaded_torch is not None and caller_threads is not None:
            loaded_torch.set_num_threads(caller_threads)


class Terminated(BaseException):
    """SIGTERM (a scheduler's preemption or time limit, ``kill``), raised like ``KeyboardInterrupt`` is for SIGINT so
    that the command stops through its ``finally`` blocks and ``main`` exits with status 143."""


RESUME = {
    "fit": "Resume the run: repeat the command with --ckpt_path last (as it is, if it has that already); it goes on "
    "from <trainer.default_root_dir>/checkpoints/last.ckpt, saved after every validation epoch.",
    "generate": "Repeat the same command to resume: the samples already written to the .partial file are kept.",
    "benchmark": "Repeat the same command to resume: finished runs are kept, and the interrupted one goes on from "
    "its last.ckpt.",
    "*": "Nothing is resumed: repeat the command to run it again.",
}
"""How to go on after a command was stopped by a signal, by command."""


def _raise_on_sigterm() -> Any:
    """Make SIGTERM raise ``Terminated`` (in the main thread only); returns the handler to restore, None if unset.

    Inside a Lightning run, whose own handler calls this one too, nothing is raised: Lightning stops after the
    current batch and raises its ``SIGTERMException``, which ``main`` reports like ``Terminated``.
    """

    def handler(signum: int, frame: Any) -> None:
        if signal.getsignal(signal.SIGTERM) is handler:  # not called from Lightning's handler
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not break the clean-up
            raise Terminated

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        return None


def _stop_status(stop: BaseException) -> int | None:
    """The exit status of a run stopped by a signal: 130 for SIGINT, 143 for SIGTERM; None for any other exit.

    Lightning turns SIGINT during a run into ``sys.exit(1)`` raised while handling the ``KeyboardInterrupt``, and
    SIGTERM into its ``SIGTERMException``, a ``SystemExit`` without a code (status 0).
    """
    lightning = sys.modules.get("lightning.pytorch.utilities.exceptions")
    if isinstance(stop, Terminated) or (lightning is not None and isinstance(stop, lightning.SIGTERMException)):
        return 143
    if isinstance(stop, KeyboardInterrupt) or isinstance(stop.__context__, KeyboardInterrupt):
        return 130
    return None


def _pop_threads(argv: list[str]) -> tuple[list[str], int | None]:
    """``argv`` without ``--threads N`` (or ``--threads=N``), which LightningCLI does not know, and ``N``."""
    rest, threads = [], None
    args = iter(argv)
    for arg in args:
        name, equals, value = arg.partition("=")
        if name != "--threads":
            rest.append(arg)
            continue
        value = value if equals else next(args, "")
        if not value.isdigit():
            raise ValueError(f"--threads takes a whole number of threads, e.g. --threads 2; got {value!r}.")
        threads = int(value)
    return rest, threads


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
