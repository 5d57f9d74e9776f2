"""The thread count of a command: ``--threads``, OMP_NUM_THREADS, the problem's size and the CPUs available."""

from pathlib import Path

import pytest
import torch

from pdeops._threads import available_cpus, cgroup_quota, choose_threads, idle_cpus
from pdeops.cli import main


def test_affinity_alone_counts_the_cpus_the_process_may_run_on():
    assert available_cpus({0, 1, 2, 3}, environ={}) == (4, "4 CPUs available")
    assert available_cpus({5}, environ={}) == (1, "1 CPU available")


def test_the_tightest_of_affinity_quota_and_slurm_wins():
    assert available_cpus(range(16), quota=2.5, environ={}) == (2, "2 CPUs available: cgroup CPU quota 2.5")
    slurm = {"SLURM_CPUS_PER_TASK": "4"}
    assert available_cpus(range(16), quota=8.0, environ=slurm) == (4, "4 CPUs available: SLURM_CPUS_PER_TASK=4")
    assert available_cpus({0, 1}, quota=8.0, environ=slurm) == (2, "2 CPUs available")
    assert available_cpus(range(16), quota=0.5, environ={})[0] == 1  # half a CPU is still one thread
    assert available_cpus(range(4), environ={"SLURM_CPUS_PER_TASK": "lots"})[0] == 4  # not a count: ignored


def test_busy_cpus_are_not_counted():
    """Threads beyond the idle CPUs spin-wait on each other: 2 threads on a loaded 2-core machine were 30x slower."""
    assert available_cpus({0, 1}, environ={}, idle=0.3) == (1, "2 CPUs available, 0.3 of them idle")
    assert available_cpus(range(8), environ={}, idle=5.6) == (6, "8 CPUs available, 5.6 of them idle")
    assert available_cpus({0, 1}, environ={}, idle=1.8) == (2, "2 CPUs available")


@pytest.mark.parametrize(
    ("requested", "environ", "points", "expected"),
    [
        (None, {}, None, (8, "8 CPUs available; --threads N to change")),
        (None, {}, (32, 32), (1, "8 CPUs available; small problem: 32x32 grid; --threads N to change")),
        (None, {}, (1024,), (1, "8 CPUs available; small problem: 1024 grid; --threads N to change")),
        (None, {}, (256, 256), (8, "8 CPUs available; --threads N to change")),
        (None, {"OMP_NUM_THREADS": "3"}, (32, 32), (3, "OMP_NUM_THREADS=3; 8 CPUs available; --threads N to change")),
        (None, {"OMP_NUM_THREADS": "2,1"}, None, (2, "OMP_NUM_THREADS=2; 8 CPUs available; --threads N to change")),
        (None, {"OMP_NUM_THREADS": ""}, None, (8, "8 CPUs available; --threads N to change")),
        (5, {"OMP_NUM_THREADS": "3"}, (32, 32), (5, "--threads 5; 8 CPUs available")),
    ],
)
def test_threads_follow_the_option_then_omp_then_the_problem_then_the_cpus(requested, environ, points, expected):
    choice = choose_threads(requested, (8, "8 CPUs available"), points=points, environ=environ)
    assert (choice.threads, choice.reason) == expected


def test_the_choice_is_said_in_one_line():
    choice = choose_threads(None, (2, "2 CPUs available"), points=(32, 32), environ={})
    assert choice.line() == "pdeops: 1 thread (2 CPUs available; small problem: 32x32 grid; --threads N to change)"


def test_cgroup_v2_quota_is_read_from_the_process_cgroup_and_its_parents(tmp_path: Path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    job = tmp_path / "slurm" / "job_1"
    job.mkdir(parents=True)
    (job / "cpu.max").write_text("max 100000\n")
    assert cgroup_quota(tmp_path, "0::/slurm/job_1\n") is None
    (tmp_path / "slurm" / "cpu.max").write_text("300000 100000\n")
    assert cgroup_quota(tmp_path, "0::/slurm/job_1\n") == 3.0
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # a container's own (namespaced) root
    assert cgroup_quota(tmp_path, "0::/\n") == 1.5


def test_cgroup_v1_quota_is_read_from_the_cpu_controller(tmp_path: Path):
    cpu = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    cpu.mkdir(parents=True)
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    membership = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
    assert cgroup_quota(tmp_path, membership) is None
    (cpu / "cpu.cfs_quota_us").write_text("200000\n")
    assert cgroup_quota(tmp_path, membership) == 2.0
    assert cgroup_quota(tmp_path / "nowhere", membership) is None  # no cgroup file system: no quota


def test_idle_cpus_sums_the_idle_share_of_the_allowed_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    stat = tmp_path / "stat"
    samples = iter(
        [
            "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 100 0 0 100 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\ncpu2 0 0 0 0 0 0 0 0\n",
            "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 110 0 0 100 0 0 0 0 0 0\ncpu1 2 0 0 6 2 0 0 0 0 0\ncpu2 0 0 0 9 1 0 0 0\n",
        ]
    )
    monkeypatch.setattr("pdeops._threads.time.sleep", lambda seconds: stat.write_text(next(samples)))
    stat.write_text(next(samples))
    assert idle_cpus({0, 1}, stat=stat) == pytest.approx(0.0 + 0.8)  # cpu0 was busy, cpu1 idle 8 of 10 ticks
    assert idle_cpus({0, 1}, stat=tmp_path / "missing") is None


def test_every_compute_command_takes_threads_and_says_the_choice_first(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    out = str(tmp_path / "b.h5")
    args = ["generate", "burgers-1d", "--samples", "1", "--resolution", "16", "--horizon", "0.01", "--out", out]
    assert main(args) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.endswith("small problem: 1024 grid; --threads N to change)") and first.startswith("pdeops: 1 thread (")
    assert main([*args, "--overwrite", "--threads", "2"]) == 0
    assert capsys.readouterr().err.startswith("pdeops: 2 threads (--threads 2; ")
    assert torch.get_num_threads() == before  # main leaves the caller's setting as it found it
    assert main([*args, "--overwrite", "--threads", "0"]) == 2
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err
    from pdeops.cli import build_parser
    from pdeops.cli._common import subcommands

    commands = subcommands(build_parser())
    for name in ("demo", "generate", "evaluate", "rollout", "refine", "benchmark", "work-precision"):
        assert "--threads" in commands[name].format_help(), name


def test_lightning_commands_take_threads_before_lightning_parses(capsys):
    from pdeops.cli import _pop_threads

    argv = ["fit", "-c", "a.yaml", "--threads", "3", "--x", "1"]
    assert _pop_threads(argv) == (["fit", "-c", "a.yaml", "--x", "1"], 3)
    assert _pop_threads(["fit", "--threads=2"]) == (["fit"], 2)
    assert main(["fit", "--threads", "two"]) == 2
    assert "--threads takes a whole number of threads" in capsys.readouterr().err
