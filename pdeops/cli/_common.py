"""What the verbs share: option parsers and adders, the first log line, and what counts as bad input."""

import argparse
import sys
from typing import Any


def parse_samples(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(index) for index in text.split(",")]
    except ValueError:
        message = f"--samples takes comma-separated trajectory indices, e.g. --samples 0,3,7; got {text!r}."
        raise ValueError(message) from None


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    i, sep, n = text.partition("/")
    if not (sep and i.isdigit() and n.isdigit()):
        raise ValueError(f"--shard takes i/n (part i of n, counting from 0), e.g. --shard 0/4; got {text!r}.")
    return int(i), int(n)


def say_where(command: str, device: str, precision: str) -> None:
    """One line on stderr at the start of a command: the device, the precision and torch's CPU threads."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    print(f"{command}: device {device}, {precision}, {torch.get_num_threads()} CPU threads", file=sys.stderr)


def use_threads(args: argparse.Namespace, points: tuple[int, ...] | None = None) -> None:
    """Set torch's CPU threads from ``--threads``, else the CPUs available and the problem's grid ``points`` (None:
    unknown), and say the choice as the command's first line (``pdeops._threads``)."""
    from pdeops._threads import use_threads

    use_threads(args.threads, points)


def add_threads(*parsers: argparse.ArgumentParser) -> None:
    for parser in parsers:
        parser.add_argument(
            "--threads",
            type=int,
            metavar="N",
            help="CPU threads for torch (default: 1 for a small problem, else the idle CPUs this process may use, "
            "within affinity, cgroup quota, SLURM_CPUS_PER_TASK; OMP_NUM_THREADS if set)",
        )


def add_format(parser: argparse.ArgumentParser) -> None:
    from pdeops.data import FORMATS

    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="the data's format, to skip detecting it (default: detected; docs/format.md describes 'pdeops')",
    )


def assumed_format(args: argparse.Namespace) -> Any:
    """The block in which the data path is read as ``--format`` (a no-op without it; imports xarray only with it)."""
    from contextlib import nullcontext

    path, format = getattr(args, "data", None) or getattr(args, "path", None), getattr(args, "format", None)
    if path is None or format is None:
        return nullcontext()
    from pdeops.data.readers import assume_format

    return assume_format(path, format)


def add_allow_module(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="let the checkpoint name classes of PACKAGE besides pdeops, neuraloperator and torch (loading runs "
        "their code: only for checkpoints you trust; repeatable)",
    )


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return action.choices


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
