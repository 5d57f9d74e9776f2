"""Data verbs: generate, recipes, merge, export, info."""

import argparse
import sys
from typing import Any

from pdeops.cli._common import add_format, add_threads, parse_shard, subcommands, use_threads, user_error


def add_generate(commands: Any) -> None:
    """``pdeops generate RECIPE``: a dataset from a recipe (native HDF5, resumable)."""
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
    add_threads(gen)


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
    use_threads(args, (resolved.solve_resolution,) * resolved.recipe.spatial_dims)
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
        shard=parse_shard(args.shard),
        compression=args.compression,
        command=command_line(),
    )
    print(f"wrote {path}")
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


def explain_recipe(parser: argparse.ArgumentParser, argv: list[str]) -> None:
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
    generate = subcommands(parser)["generate"]
    generate.formatter_class = argparse.RawDescriptionHelpFormatter
    generate.epilog = card


def add_recipes(commands: Any) -> None:
    """``pdeops recipes``: the recipes of ``generate``."""
    recipes = commands.add_parser("recipes", help="list the dataset recipes of `pdeops generate`")
    recipes.set_defaults(run=_recipes)


def _recipes(args: argparse.Namespace) -> int:
    from pdeops.data.recipes import catalogue

    print(catalogue())
    print("\n`pdeops generate RECIPE --help` shows a recipe's equation, parameters, defaults and cost.")
    return 0


def add_merge(commands: Any) -> None:
    """``pdeops merge OUT SHARDS...``: the shards of one ``generate --shard`` run as one file."""
    merge = commands.add_parser("merge", help="join the shards of one `generate --shard` run into one file")
    merge.add_argument("out", help="the merged dataset file")
    merge.add_argument("shards", nargs="+", help="every shard file of the run")
    merge.set_defaults(run=_merge)


def _merge(args: argparse.Namespace) -> int:
    from pdeops.data.generate import command_line, merge_shards

    print(f"wrote {merge_shards(args.shards, args.out, command=command_line())}")
    return 0


def add_export(commands: Any) -> None:
    """``pdeops export PATH --to the-well|pdebench OUT``."""
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


def _export(args: argparse.Namespace) -> int:
    from pdeops.data.export import export

    print(f"wrote {export(args.path, args.to, args.out, overwrite=args.overwrite)}")
    return 0


def add_info(commands: Any) -> None:
    """``pdeops info PATH``: describe a dataset file."""
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
    add_format(info)
    info.set_defaults(run=_info)


def _info(args: argparse.Namespace) -> int:
    from pdeops.data.info import describe

    print(describe(args.path, format=getattr(args, "format", None), verify=args.verify))
    return 0
