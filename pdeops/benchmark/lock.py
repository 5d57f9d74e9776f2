"""Locks that keep two processes sharing a benchmark folder (several shards, or the same command twice) from doing
the same work at once: an OS lock (``fcntl.flock``) on a file, which the kernel releases when its holder ends, however
it ends, so no lock outlives its process. The holder writes its pid into the file, for the message a waiting or
skipping process gives.
"""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock for the ``with`` block if no other process holds it: yields True when held, False when
    another process does (then nothing is held)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        _write_pid(descriptor)
        yield True
    finally:
        os.close(descriptor)  # closing releases the lock


@contextmanager
def wait_lock(path: Path, *, waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold ``path``'s lock for the ``with`` block, waiting for another holder to finish first (``waiting`` gets one
    line saying whom it waits for)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"waiting for {holder(path)}, which holds {path}")
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        _write_pid(descriptor)
        yield
    finally:
        os.close(descriptor)


def holder(path: Path) -> str:
    """Who holds ``path``'s lock, as words: ``process <pid>`` (``another process`` if it has not written it yet)."""
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "another process"


def _write_pid(descriptor: int) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
