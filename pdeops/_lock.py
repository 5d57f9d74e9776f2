"""The one file lock of pdeops, which keeps two processes from doing the same work at once (writing one dataset file,
training one benchmark run, preparing one benchmark folder).

A lock is a file, ``path``, that names its holder's pid. Where the filesystem has ``flock``, the holder holds an OS
lock (``fcntl.flock``) on it, which the kernel lets go when the holder ends, however it ends, so a lock file left by a
killed process is simply taken. Where it has none (e.g. Lustre mounted without it), the lock file is made with the pid
already in it (a hard link of a written file, atomic), and one naming a process that no longer runs is taken over.
Either way the holder deletes the file on release, while it still holds it.

- ``try_lock``: hold the lock if no other process does (yields whether it is held);
- ``wait_lock``: hold it, waiting for its holder to finish first;
- ``holder``, ``owner``: who holds it, in words or as a pid.
"""

import fcntl
import itertools
import os
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.5
"""How often ``wait_lock`` looks again at a lock without ``flock`` (which the kernel cannot wake it for)."""


class LockError(OSError):
    """The lock cannot be taken, although no other process may hold it: its file keeps being replaced, or its
    filesystem has neither ``flock`` nor hard links (``supported`` is False). ``detail`` says which, for a caller's
    own message."""

    def __init__(self, path: Path, detail: str, *, supported: bool = True) -> None:
        fix = "Use a folder on another filesystem." if not supported else "Run again."
        super().__init__(f"Could not lock {path}: {detail}. {fix}")
        self.path, self.detail, self.supported = path, detail, supported


@contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock for the ``with`` block if no other process holds it: yields True when held, False when
    another process does (then nothing is held; ``holder`` says who).

    Raises:
        LockError: the lock cannot be taken at all (see `LockError`).
    """
    release = _take(path, blocking=False)
    if release is None:
        yield False
        return
    try:
        yield True
    finally:
        release()


@contextmanager
def wait_lock(path: Path, *, waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold ``path``'s lock for the ``with`` block, waiting for another holder to finish first (``waiting`` gets one
    line saying whom it waits for).

    Raises:
        LockError: the lock cannot be taken at all (see `LockError`).
    """
    release = _take(path, blocking=False)
    if release is None:
        waiting(f"waiting for {holder(path)}, which holds {path}")
    while release is None:  # blocking, it returns once the lock is taken
        release = _take(path, blocking=True)
    try:
        yield
    finally:
        release()


def holder(path: Path, *, command: bool = False) -> str:
    """Who holds ``path``'s lock, in words: ``process <pid>`` (``another process`` if the file names none), with its
    command line in backquotes after it where ``command`` and /proc tells it."""
    pid = owner(path)
    if pid is None:
        return "another process"
    return f"process {pid}{_command_of(pid) if command else ''}"


def owner(path: Path) -> int | None:
    """The pid that ``path``'s lock file names (None: no file, or no pid in it)."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def _take(path: Path, *, blocking: bool) -> Callable[[], None] | None:
    """Take ``path``'s lock (blocking: waiting for it): how to release it, or None where another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if _has_flock(path):
        descriptor = _flock(path, blocking=blocking)
        if descriptor is None:
            return None

        def release() -> None:
            path.unlink(missing_ok=True)  # while still held, so that no one locks the file being removed
            os.close(descriptor)

        return release
    while not _link(path):
        if not blocking:
            return None
        time.sleep(POLL_SECONDS)
    return lambda: path.unlink(missing_ok=True)


def _has_flock(path: Path) -> bool:
    """Whether the filesystem of ``path`` has ``flock`` (tried on a file of this process's own, not ``path``)."""
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    descriptor = os.open(probe, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # ENOLCK, ENOSYS, EOPNOTSUPP: no flock here
        return False
    finally:
        os.close(descriptor)
        probe.unlink(missing_ok=True)


def _flock(path: Path, *, blocking: bool) -> int | None:
    """The open, ``flock``-ed lock file, holding this pid (None: another process holds it and not ``blocking``)."""
    # a holder deletes the file on release: each retry follows one release, so a waiter tries until it wins
    for _ in itertools.count() if blocking else range(10):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(descriptor)
            return None
        except BaseException:  # no flock after all, or interrupted while waiting
            os.close(descriptor)
            raise
        try:  # the holder before may have removed the file between our open and our lock: lock the one at the path
            same = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, str(os.getpid()).encode())
            return descriptor
        os.close(descriptor)
    raise LockError(path, f"{path} keeps being replaced; another process is writing it")


def _link(path: Path) -> bool:
    """Create ``path`` holding this pid in one step (a hard link of a written file), taking over a stale one: whether
    it was made (False: a live process holds it)."""
    written = path.with_name(f".{path.name}.{os.getpid()}")
    written.write_text(str(os.getpid()))
    try:
        for _ in range(2):
            try:
                os.link(written, path)
                return True
            except FileExistsError:
                pid = owner(path)
                if pid is None or _running(pid):
                    return False
                path.unlink(missing_ok=True)  # stale: its process is gone
            except OSError as error:
                reason = f"{os.strerror(error.errno)} (errno {error.errno})" if error.errno else str(error)
                raise LockError(
                    path, f"the filesystem of {path} has neither flock nor hard links ({reason})", supported=False
                ) from None
        raise LockError(path, f"{path} keeps reappearing; another process is writing it")
    finally:
        written.unlink(missing_ok=True)


def _command_of(pid: int) -> str:
    """`` (`command line`)`` of a running process where /proc tells it, else nothing."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return ""
    return f" (`{shlex.join(word.decode(errors='replace') for word in words)}`)" if words != [b""] else ""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
