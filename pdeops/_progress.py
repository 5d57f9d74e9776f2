"""Progress of a long step on stderr, truthful in a terminal and in a log file.

In a terminal, ``Progress`` is a tqdm bar. When stderr is not a terminal (redirected to a file, a pipe, a batch
job's log), a bar's carriage-return redraws would pile up as one unreadable line, or tell nothing until the end: it
writes plain lines instead, one when the step starts, then at most one every ``LOG_INTERVAL`` seconds as it
advances, and one when it ends, each with the count, the elapsed time and an estimate of the time left.
"""

import sys
import time
from types import TracebackType
from typing import Any, TextIO

LOG_INTERVAL = 30.0
"""Seconds between two progress lines in a log (not a terminal)."""


class Progress:
    """``total`` units of work, reported as they are done.

    Args:
        total: the units the step will do.
        description: what the step is, e.g. ``"solver settings"``.
        unit: one unit, singular (``"setting"``); a plain line says ``"3/27 settings"``.
        stream: where to write; None: ``sys.stderr`` as it is now.
        interval: seconds between two plain lines; None: ``LOG_INTERVAL``.
        delay: seconds before anything is shown, so that a step that ends sooner (a short rollout inside a larger
            command) prints nothing.

    Use it as a context manager, or call ``close`` when the step ends.
    """

    def __init__(
        self,
        total: int,
        description: str,
        unit: str = "step",
        *,
        stream: TextIO | None = None,
        interval: float | None = None,
        delay: float = 0.0,
    ) -> None:
        self.total, self.description, self.unit = total, description, unit
        self.stream = sys.stderr if stream is None else stream
        self.interval = LOG_INTERVAL if interval is None else interval
        self.delay = delay
        self.done = 0.0
        self.note = ""
        self._start = self._last = time.perf_counter()
        self._closed = False
        self._last_done = -1.0  # the count the last plain line showed
        self._bar: Any = None
        if _is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=description, unit=unit, file=self.stream, dynamic_ncols=True, delay=delay
            )
        elif not delay:
            self._line()

    def update(self, n: float = 1, *, note: str | None = None) -> None:
        """``n`` more units done; ``note`` says what comes next (e.g. the setting being solved). A plain line is
        written only when the count moved and ``interval`` has passed since the last, or the step is done."""
        self.done += n
        if note is not None:
            self.note = note
        if self._bar is not None:
            if note is not None:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)
        elif n and self._shown() and (self._due() or self.done >= self.total):
            self._line()

    def close(self) -> None:
        """End the step: a terminal's bar is closed; a log gets the last count if it has not had it yet."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self._last_done != self.done and self._shown():
            self._line()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _shown(self) -> bool:
        """Whether plain lines are due: ``delay`` has passed (the first line then says the step has been running)."""
        return self._last_done >= 0 or time.perf_counter() - self._start >= self.delay

    def _due(self) -> bool:
        """The first line once ``delay`` has passed, then one every ``interval``."""
        return self._last_done < 0 or time.perf_counter() - self._last >= self.interval

    def _line(self) -> None:
        now = time.perf_counter()
        elapsed = now - self._start
        count = f"{self.done:g}/{self.total} {_plural(self.unit, self.total)}"
        line = f"{self.description}: {count} after {duration(elapsed)}"
        if 0 < self.done < self.total:
            line += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
        if self.note and self.done < self.total:
            line += f"; now {self.note}"
        print(line, file=self.stream, flush=True)
        self._last, self._last_done = now, self.done


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _plural(unit: str, count: float) -> str:
    return unit if count == 1 else f"{unit}s"


def duration(seconds: float) -> str:
    """A duration as people read it: ``12.3 s``, ``4.5 min``, ``2.0 h``, ``12.5 days`` (the one formatter of pdeops'
    messages)."""
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.3g} days"
