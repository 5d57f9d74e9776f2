"""Evaluation verbs: evaluate, rollout, refine, work-precision."""

import argparse
import json
import sys
from typing import Any

from pdeops.cli._common import add_allow_module, add_format, add_threads, parse_samples, say_where, use_threads


def add_evaluate(commands: Any) -> None:
    """``pdeops evaluate``: roll a checkpoint out on the test split and score it."""
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
    add_allow_module(evaluation)
    add_format(evaluation)
    evaluation.set_defaults(run=_evaluate)
    add_threads(evaluation)


def _evaluate(args: argparse.Namespace) -> int:
    from pdeops.evaluation import evaluate
    from pdeops.evaluation.evaluate import markdown
    from pdeops.evaluation.work_precision import Accuracy

    samples = parse_samples(args.samples)
    use_threads(args)
    say_where("evaluate", args.device, "float32 network, scores in float64")
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


def add_rollout(commands: Any) -> None:
    """``pdeops rollout``: a checkpoint's predicted trajectories as a dataset file."""
    roll = commands.add_parser("rollout", help="write a checkpoint's predicted trajectories as a dataset file")
    roll.add_argument("--ckpt", required=True, help="the .ckpt file")
    roll.add_argument("--data", required=True, help="the dataset file with the initial frames")
    roll.add_argument("--out", required=True, help="the output dataset file")
    roll.add_argument("--samples", help="comma-separated trajectory indices (default: the test split)")
    roll.add_argument("--steps", type=int, help="steps to predict (default: to the end of the stored trajectories)")
    roll.add_argument("--device", default="cpu")
    roll.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_allow_module(roll)
    add_format(roll)
    roll.set_defaults(run=_rollout)
    add_threads(roll)


def _rollout(args: argparse.Namespace) -> int:
    from pdeops.evaluation import write_rollout

    samples = parse_samples(args.samples)
    use_threads(args)
    say_where("rollout", args.device, "float32")
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


def add_refine(commands: Any) -> None:
    """``pdeops refine``: Spectral-Refiner's data-free refinement."""
    from pdeops.data.recipes import RECIPES

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
    add_allow_module(refine)
    add_format(refine)
    refine.set_defaults(run=_refine)
    add_threads(refine)


def _refine(args: argparse.Namespace) -> int:
    from pdeops.evaluation.refine import format_rows, refine_checkpoint

    use_threads(args)
    say_where("refine", args.device, "float64 refinement of a float32 network")
    rows = refine_checkpoint(
        args.ckpt,
        args.data,
        steps=args.steps,
        resolution=args.resolution,
        samples="all" if args.samples == "all" else parse_samples(args.samples),
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


def add_work_precision(commands: Any) -> None:
    """``pdeops work-precision FILE``: the reference solver's error against wall time."""
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
    add_threads(sweep)


def _work_precision(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pdeops.evaluation import work_precision as wp

    use_threads(args)
    truth = wp.truth_from_file(args.data, samples=parse_samples(args.samples), context=args.context, steps=args.steps)
    settings = wp.default_settings(
        truth,
        schemes=args.schemes,
        resolutions=args.resolutions,
        dts=args.dts,
        cfls=args.cfls,
        dtypes=args.dtypes,
    )
    say_where("work-precision", args.device, "/".join(sorted({s.dtype for s in settings})))

    def progress(i: int, n: int, setting: wp.SolverSetting) -> None:
        print(f"[{i + 1}/{n}] {setting.label}", file=sys.stderr, flush=True)

    points = wp.sweep(truth, settings, device=args.device, max_seconds=args.max_seconds, progress=progress)
    out = Path(args.out or f"runs/work-precision/{Path(args.data).stem}")
    title = f"{truth.resolved.recipe.name}, {len(truth.frames)} trajectories, {len(truth.lead_times)} frames"
    wp.write_sweep(points, out, title=title, device=args.device)
    print(wp.markdown_table(points, title=title, device=args.device))
    print(f"wrote {out}/work_precision.json, .md and .png")
    return 0
