"""How many CPU threads torch uses in a ``pdeops`` command, and why.

torch's default, one thread per core of the machine, is wrong twice over on shared machines: a SLURM job or a
container may use fewer CPUs than the machine has (affinity, cgroup quota), and threads that outnumber the idle CPUs
spin-wait on each other (two OpenMP threads on a loaded 2-core machine made generating 8 samples at 32² 30 times
slower than one). So a command uses, in this order of precedence:

1. ``--threads N``;
2. ``OMP_NUM_THREADS``, when set;
3. one thread for a small problem (a grid of at most ``SMALL_PROBLEM`` points, where threads cost more than they
   save);
4. else the CPUs available: the fewest of the CPUs the process may run on (``os.sched_getaffinity``), its cgroup's CPU
   quota (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us / cpu.cfs_period_us`` in v1), ``SLURM_CPUS_PER_TASK``, and
   the CPUs among them that were idle over a tenth of a second.
"""

import math
import os
import sys
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

SMALL_PROBLEM = 64 * 64
"""Grid points up to which one thread is used (the tensors of a step are too small to share out)."""

CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ThreadChoice:
    """The number of threads and the reason, as the first log line of a command says them."""

    threads: int
    reason: str

    def line(self) -> str:
        """E.g. ``pdeops: 1 thread (2 CPUs available; small problem: 32x32 grid; --threads N to change)``."""
        return f"pdeops: {self.threads} thread{'' if self.threads == 1 else 's'} ({self.reason})"


def available_cpus(
    affinity: Collection[int],
    *,
    quota: float | None = None,
    environ: Mapping[str, str] | None = None,
    idle: float | None = None,
) -> tuple[int, str]:
    """The CPUs this process can use (at least 1), and a phrase naming what limits them.

    Args:
        affinity: the CPUs the process may run on (``os.sched_getaffinity(0)``).
        quota: the cgroup's CPU quota in CPUs (``cgroup_quota``), None without one.
        environ: the environment, for ``SLURM_CPUS_PER_TASK`` (default ``os.environ``).
        idle: how many of those CPUs were idle lately (``idle_cpus``), None if not measured.

    Returns:
        ``(cpus, phrase)``, e.g. ``(4, "4 CPUs available: SLURM_CPUS_PER_TASK=4")``.
    """
    environ = os.environ if environ is None else environ
    limits = [(len(affinity), "")]
    if quota is not None:
        limits.append((math.floor(quota), f"cgroup CPU quota {quota:g}"))
    slurm = environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        limits.append((int(slurm), f"SLURM_CPUS_PER_TASK={slurm}"))
    cpus, limit = min(limits, key=lambda pair: pair[0])
    cpus = max(cpus, 1)
    phrase = f"{cpus} CPU{'' if cpus == 1 else 's'} available" + (f": {limit}" if limit else "")
    if idle is not None and round(idle) < cpus:
        return max(1, round(idle)), f"{phrase}, {idle:.1f} of them idle"
    return cpus, phrase


def choose_threads(
    requested: int | None,
    cpus: tuple[int, str],
    *,
    points: tuple[int, ...] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ThreadChoice:
    """The thread count for a command (see the module's docstring for the order of precedence).

    Args:
        requested: ``--threads``, None when not given.
        cpus: ``available_cpus``'s answer.
        points: the problem's grid, e.g. ``(32, 32)``, None when unknown (then no small-problem rule).
        environ: the environment, for ``OMP_NUM_THREADS`` (default ``os.environ``).

    Raises:
        ValueError: ``requested`` is below 1.
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}.")
        return ThreadChoice(requested, f"--threads {requested}; {cpus[1]}")
    omp = omp_threads(os.environ if environ is None else environ)
    if omp is not None:
        return ThreadChoice(omp, f"OMP_NUM_THREADS={omp}; {cpus[1]}; --threads N to change")
    if small(points) and cpus[0] > 1:
        grid = "x".join(map(str, points or ()))
        return ThreadChoice(1, f"{cpus[1]}; small problem: {grid} grid; --threads N to change")
    return ThreadChoice(cpus[0], f"{cpus[1]}; --threads N to change")


def omp_threads(environ: Mapping[str, str]) -> int | None:
    """``OMP_NUM_THREADS`` (its first level where it lists one per nesting level), None when unset or not a count."""
    omp = environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(omp) if omp.isdigit() and int(omp) > 0 else None


def small(points: tuple[int, ...] | None) -> bool:
    """Whether a problem on this grid is small enough for one thread."""
    return points is not None and math.prod(points) <= SMALL_PROBLEM


def cgroup_quota(root: Path = CGROUP, membership: str | None = None) -> float | None:
    """The CPU quota, in CPUs, of the cgroup the process is in (the tightest of it and its parents), or None.

    Args:
        root: where the cgroup file systems are mounted.
        membership: the text of ``/proc/self/cgroup`` (read when None): lines ``ID:CONTROLLERS:PATH``, ``0::PATH``
            for cgroup v2.
    """
    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text()
        except OSError:
            membership = ""
    candidates: list[tuple[Path, bool]] = [(root, True), (root / "cpu", False), (root / "cpu,cpuacct", False)]
    for line in membership.splitlines():
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        parts = [part for part in path.strip("/").split("/") if part]
        if controllers == "":  # v2
            mounts = [(root, True)]
        elif "cpu" in controllers.split(","):
            mounts = [(root / controllers, False), (root / "cpu", False)]
        else:
            continue
        for mount, v2 in mounts:
            candidates += [(mount.joinpath(*parts[:depth]), v2) for depth in range(len(parts), 0, -1)]
    quotas = [quota for directory, v2 in candidates if (quota := _quota_in(directory, v2)) is not None]
    return min(quotas, default=None)


def _quota_in(directory: Path, v2: bool) -> float | None:
    """The quota set in one cgroup directory, None if none (or unreadable)."""
    try:
        if v2:
            limit, _, period = (directory / "cpu.max").read_text().strip().partition(" ")
        else:
            limit = (directory / "cpu.cfs_quota_us").read_text().strip()
            period = (directory / "cpu.cfs_period_us").read_text().strip()
        if limit in ("max", "-1"):
            return None
        return int(limit) / int(period or 100000)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def idle_cpus(cpus: Collection[int], seconds: float = 0.1, stat: Path = Path("/proc/stat")) -> float | None:
    """How many of ``cpus`` were idle over ``seconds`` (a sum of idle fractions), from ``/proc/stat``; None where
    there is no such file."""

    def sample() -> dict[int, tuple[int, int]]:
        times = {}
        for line in stat.read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                ticks = [int(field) for field in fields[:8]]  # user nice system idle iowait irq softirq steal
                times[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
        return times

    try:
        before = sample()
        time.sleep(seconds)
        after = sample()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for cpu, (idle_after, total_after) in after.items():
        idle_before, total_before = before.get(cpu, (idle_after, total_after))
        elapsed = total_after - total_before
        idle += (idle_after - idle_before) / elapsed if elapsed > 0 else 1.0
    return idle if after else None


def use_threads(requested: int | None = None, points: tuple[int, ...] | None = None) -> ThreadChoice:
    """Choose the thread count for this process, set it in torch and say it on stderr (a command's first line).

    Args:
        requested: ``--threads``, None when not given.
        points: the problem's grid, e.g. ``(32, 32)``, None when unknown.
    """
    import torch

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    measure = requested is None and omp_threads(os.environ) is None and not small(points) and len(affinity) > 1
    cpus = available_cpus(affinity, quota=cgroup_quota(), idle=idle_cpus(affinity) if measure else None)
    choice = choose_threads(requested, cpus, points=points)
    torch.set_num_threads(choice.threads)
    print(choice.line(), file=sys.stderr, flush=True)
    return choice
