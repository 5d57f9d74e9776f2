"""The ``pdeops`` command. A thin layer over the Python API: each verb parses, then calls one function.

Each verb's parser sits next to its handler: ``data`` (generate, recipes, merge, export, info), ``evaluation``
(evaluate, rollout, refine, work-precision), ``benchmark`` (benchmark, demo); fit, validate and test are LightningCLI's
(``pdeops.training.cli``). What they share is in ``_common``; signals in ``_signals``.
"""

import argparse
import os
import signal
import sys
from typing import Any

from pdeops import __version__
from pdeops.cli import benchmark, data, evaluation
from pdeops.cli._common import assumed_format, use_threads, user_error
from pdeops.cli._signals import RESUME, Terminated, raise_on_sigterm, stop_status

__all__ = ["LIGHTNING_COMMANDS", "Terminated", "build_parser", "main", "user_error"]

LIGHTNING_COMMANDS = ("fit", "validate", "test")  # predictions: `pdeops rollout`
VERBS = (
    data.add_generate,
    data.add_recipes,
    data.add_info,
    data.add_merge,
    data.add_export,
    evaluation.add_evaluate,
    evaluation.add_rollout,
    evaluation.add_refine,
    evaluation.add_work_precision,
    benchmark.add_benchmark,
    benchmark.add_demo,
)
"""The verbs' parser adders, in the order ``--help`` lists them."""


def main(argv: list[str] | None = None) -> int:
    """Run a ``pdeops`` command; bad input is one paragraph on stderr and exit status 2, not a traceback.

    ``--debug`` (anywhere on the line) or ``PDEOPS_DEBUG=1`` lets the traceback through instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("PDEOPS_DEBUG", "") not in ("", "0")
    argv = [arg for arg in argv if arg != "--debug"]
    command = argv[0] if argv else "pdeops"
    previous = raise_on_sigterm()
    loaded_torch = sys.modules.get("torch")  # a caller's own thread count (tests, notebooks) is restored at the end
    caller_threads = None if loaded_torch is None else loaded_torch.get_num_threads()
    try:
        if command in LIGHTNING_COMMANDS:  # LightningCLI parses these itself (configs, --help, links)
            from pdeops.training.cli import lightning_cli

            argv, requested = _pop_threads(argv)
            if not {"-h", "--help", "--print_config"} & {arg.partition("=")[0] for arg in argv}:
                use_threads(argparse.Namespace(threads=requested))
            lightning_cli(argv)
            return 0
        parser = build_parser()
        if command == "generate" and ("-h" in argv or "--help" in argv):
            data.explain_recipe(parser, argv)
        args = parser.parse_args(argv)
        if getattr(args, "device", "cpu").startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError("--device cuda was asked for but torch sees no CUDA device; use --device cpu.")
        with assumed_format(args):
            return args.run(args)
    except Exception as error:
        cause = user_error(error)
        if cause is None or debug:
            raise
        print(f"pdeops {command}: error: {cause}\n(--debug shows the traceback)", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit, Terminated) as stop:
        status = stop_status(stop)
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb but LightningCLI's, which ``main`` hands to ``pdeops.training.cli`` unparsed."""
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
    for add in VERBS:
        add(commands)
    return parser


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
