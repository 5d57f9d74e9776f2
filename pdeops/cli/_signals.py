"""Signals: SIGTERM and Ctrl-C end a command with status 143 or 130 and a sentence on how to go on."""

import signal
import sys
from typing import Any


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


def raise_on_sigterm() -> Any:
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


def stop_status(stop: BaseException) -> int | None:
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
