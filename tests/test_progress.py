"""``pdeops._progress.Progress``: plain lines in a log, nothing for a step shorter than its delay."""

import io

import pytest

from pdeops import _progress
from pdeops._progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_progress.time, "perf_counter", fake)
    return fake


def test_a_log_gets_a_line_at_the_start_every_interval_and_at_the_end(clock: Clock) -> None:
    log = io.StringIO()
    with Progress(4, "rollout", "frame", stream=log, interval=10) as bar:
        for _ in range(4):
            clock.now += 6
            bar.update()
    lines = log.getvalue().splitlines()
    assert lines == [
        "rollout: 0/4 frames after 0.0 s",
        "rollout: 2/4 frames after 12.0 s, about 12.0 s left",
        "rollout: 4/4 frames after 24.0 s",
    ]


def test_a_step_shorter_than_its_delay_prints_nothing_and_a_longer_one_says_so(clock: Clock) -> None:
    quick = io.StringIO()
    with Progress(3, "rollout", "frame", stream=quick, delay=1.0) as bar:
        bar.update(3)
    assert quick.getvalue() == ""
    slow = io.StringIO()
    with Progress(3, "refine", "step", stream=slow, delay=1.0, interval=10) as bar:
        bar.update()
        clock.now += 2
        bar.update()
        bar.update()
    assert slow.getvalue().splitlines() == [
        "refine: 2/3 steps after 2.0 s, about 1.0 s left",
        "refine: 3/3 steps after 2.0 s",
    ]
