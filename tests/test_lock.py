"""pdeops's one file lock (``pdeops._lock``): non-blocking and blocking, with ``flock`` and with its hard-link
fallback, and who holds it. (The race of two processes entering together is tested through ``exclusive_lock`` in
tests/data/test_generate.py, and the benchmark's skipping of a held run in tests/benchmark/test_runner.py.)"""

import errno
import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from pdeops import _lock
from pdeops._lock import LockError, holder, owner, try_lock, wait_lock


@pytest.fixture(params=[True, False], ids=["flock", "hard-link"])
def mechanism(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Each test runs with ``flock``, and again on a filesystem without it (every ``flock`` fails with ENOLCK)."""
    if not request.param:
        _no_flock(monkeypatch)
        monkeypatch.setattr(_lock, "POLL_SECONDS", 0.01)
    return request.param


def _no_flock(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)


def test_a_held_lock_is_refused_naming_its_holder_and_its_file_goes_on_release(tmp_path: Path, mechanism: bool) -> None:
    path = tmp_path / "folder" / "x.lock"  # the folder is made
    with try_lock(path) as held:
        assert held and owner(path) == os.getpid()
        # a lock belongs to an open file (flock) or to a live pid (hard link), so this process conflicts with itself
        with try_lock(path) as again:
            assert not again
        assert holder(path) == f"process {os.getpid()}"
        assert holder(path, command=True).startswith(f"process {os.getpid()} (`")  # and its command line
        assert path.exists()
    assert not path.exists()
    assert sorted(path.parent.iterdir()) == []  # no probe or written file left either
    with try_lock(path) as held:
        assert held


def test_wait_lock_says_whom_it_waits_for_and_takes_the_lock_once_released(tmp_path: Path, mechanism: bool) -> None:
    path = tmp_path / "x.lock"
    lines: list[str] = []
    acquired = threading.Event()

    def wait() -> None:
        with wait_lock(path, waiting=lines.append):
            acquired.set()

    with try_lock(path) as held:
        assert held
        waiter = threading.Thread(target=wait)
        waiter.start()
        deadline = time.monotonic() + 10
        while not lines and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert lines == [f"waiting for process {os.getpid()}, which holds {path}"]
        assert not acquired.is_set()
    waiter.join(timeout=10)
    assert acquired.is_set() and not path.exists()


def test_without_flock_a_lock_naming_a_dead_process_is_taken_over_and_a_live_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_flock(monkeypatch)
    path = tmp_path / "x.lock"
    path.write_text(str(os.getppid()))  # a live process
    with try_lock(path) as held:
        assert not held and holder(path) == f"process {os.getppid()}"
    path.write_text("999999999")  # a process that no longer runs (killed)
    with try_lock(path) as held:
        assert held and owner(path) == os.getpid()


def test_a_filesystem_with_neither_flock_nor_hard_links_is_an_error_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_flock(monkeypatch)

    def no_links(source: Path, target: Path) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "x.lock"
    unsupported = r"neither flock nor hard links \(Operation not permitted \(errno 1\)\)"
    with pytest.raises(LockError, match=unsupported) as error, try_lock(path):
        pass
    assert not error.value.supported and isinstance(error.value, OSError)
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", [None, "", "not a pid", "0", "-5"])
def test_a_lock_file_naming_no_pid_is_held_by_another_process(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "x.lock"
    if text is not None:
        path.write_text(text)
    assert owner(path) is None and holder(path, command=True) == "another process"
