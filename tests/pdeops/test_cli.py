import subprocess
import sys

import pytest

from pdeops.cli import main
from pdeops.demo import DemoConfig, run_demo


def test_unknown_command_is_named_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate'" in err and "demo" in err


def test_console_script_runs_and_reports_its_version():
    out = subprocess.run([sys.executable, "-m", "pdeops.cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("pdeops ")


def _modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import solvers", {"lightning", "neuralop", "wandb"}),
        ("import pdeops.data", {"lightning", "neuralop", "wandb", "torch"}),
        ("from pdeops.data import open_dataset", {"lightning", "neuralop", "wandb", "torch"}),
        ("from pdeops.cli import build_parser; build_parser()", {"lightning", "neuralop", "wandb", "torch"}),
    ],
)
def test_the_command_line_and_the_data_layer_import_no_training_stack(code: str, absent: set[str]) -> None:
    """``pdeops --help``, ``generate --help`` and ``info`` start fast: the heavy packages load only in the commands
    that need them (``pdeops --help`` went from 5.5–6.9 s to 0.07 s on the 2-core machine)."""
    assert not _modules_after(code) & absent


def test_predict_is_not_offered(capsys):
    """Predictions are ``pdeops rollout``'s; LightningCLI's predict would need a predict loop no task has."""
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "invalid choice: 'predict'" in capsys.readouterr().err


def test_demo_runs_end_to_end_on_a_small_config(tmp_path):
    lines: list[str] = []
    config = DemoConfig(
        samples=10,
        resolution=16,
        solve_resolution=32,
        horizon=14.0,
        epochs=2,
        width=8,
        modes=4,
        out=str(tmp_path / "run"),
    )
    report = run_demo(config, echo=lines.append)
    text = "\n".join(lines)
    assert "[3/3]" in text and "| metric | model | persistence |" in text
    for name in ("data.h5", "report.json", "report.md", "figures/snapshots.png", "figures/error_vs_time.png"):
        assert (tmp_path / "run" / name).is_file(), name
    assert report["steps"] == 5 and report["model"]["relative_l2"]["spacetime_mean"] > 0


def test_malformed_sample_list_is_named(capsys):
    assert main(["evaluate", "--ckpt", "x.ckpt", "--data", "y.h5", "--samples", "1,x"]) == 2
    assert "--samples takes comma-separated trajectory indices" in capsys.readouterr().err


def test_a_failed_generation_blocks_no_rerun(tmp_path, capsys):
    """An unstable dt fails with the solver's own message; the partial file it leaves is replaced by --overwrite."""
    out = str(tmp_path / "x.h5")
    common = ["generate", "ns2d-fno", "--samples", "2", "--resolution", "16", "--horizon", "1", "--out", out]
    assert main([*common, "--dt", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "CFL number" in err and "dt" in err
    assert main([*common, "--dt", "1e-2"]) == 2
    assert "interrupted run of another configuration" in capsys.readouterr().err
    assert main([*common, "--dt", "1e-2", "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--dt", "0"], "dt must be a positive number"),
        (["--record-every", "0"], "record_every must be a positive number"),
        (["--horizon", "-1"], "horizon must be a positive number"),
        (["--batch-size", "0"], "batch_size must be >= 1, got 0"),
    ],
)
def test_non_positive_generation_options_are_refused(option, message, tmp_path, capsys):
    assert main(["generate", "ns2d-fno", "--samples", "1", "--out", str(tmp_path / "x.h5"), *option]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing was written


def test_unreadable_input_is_one_paragraph(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not data")
    assert main(["info", str(text)]) == 2
    assert "Cannot tell the format" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "m.h5"), str(text)]) == 2
    assert "cannot be read as a shard" in capsys.readouterr().err


# --- recipes explain themselves ------------------------------------------------------------------------------------
def test_recipes_lists_every_recipe_with_its_description(capsys):
    from pdeops.data.recipes import RECIPES

    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name, recipe in RECIPES.items():
        assert f"{name}  " in out and recipe.description in out
    assert "pdeops generate RECIPE --help" in out


def test_recipe_help_shows_its_settings_parameters_and_measured_cost(capsys):
    """The card follows the other options on the line, and the probe times the solver (well under 2 s here)."""
    argv = [
        "generate",
        "burgers-1d",
        "--resolution",
        "64",
        "--solve-resolution",
        "128",
        "--param",
        "viscosity=0.02",
        "--help",
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--resolution RESOLUTION" in out  # generate's own options come first
    assert "1-D viscous Burgers: u_t + (u^2/2)_x = nu u_xx" in out
    assert "solve resolution   128 (recipe default 1024)" in out
    assert "viscosity = 0.02" in out and "(recipe default 0.01)" in out and "initial_std = 1" in out
    assert "horizon t_end      1" in out and "(101 frames)" in out and "dt                 0.0001, rk4cn" in out
    assert "10,000 steps x 128 points = 1.3e+06 point-steps" in out  # 100 frames of 100 steps
    assert "per sample on cpu (float32, batch 16" in out and "16 samples: about" in out


def test_recipe_help_reports_a_probe_that_fails_instead_of_failing(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "ns2d-decaying", "--resolution", "16", "--dt", "1", "--help"])
    out = capsys.readouterr().out
    assert "the solver probe failed" in out and "CFL" in out


def test_generate_help_without_a_recipe_is_the_plain_help(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = capsys.readouterr().out
    assert "`pdeops recipes` lists them" in out and "cost per sample" not in out


def test_commands_say_where_they_run(capsys):
    from pdeops.cli._common import say_where

    say_where("evaluate", "cpu", "float32 network")
    err = capsys.readouterr().err
    assert err.startswith("evaluate: device cpu, float32 network, ") and err.rstrip().endswith("CPU threads")


# --- pdeops info -----------------------------------------------------------------------------------------------------
@pytest.fixture
def native_file(tmp_path):
    from pdeops.data.generate import generate
    from pdeops.data.recipes import GenerationConfig

    config = GenerationConfig(recipe="burgers-1d", samples=3, resolution=16, solve_resolution=32, horizon=0.05)
    return generate(config, tmp_path / "b.h5")


def test_info_shows_provenance_in_full_sizes_statistics_and_verified_checksums(native_file, capsys):
    import h5py
    import numpy as np

    assert main(["info", str(native_file)]) == 0
    out = capsys.readouterr().out
    with h5py.File(native_file) as f:
        u = f["u"][:].astype(np.float64)
        config, keys = f.attrs["config"], [key for key in f.attrs if not key.startswith("_")]  # _: NetCDF's own
    assert "complete    yes: all 3 samples written" in out
    assert "on disk     " in out and "chunks (1, 1, 16), fletcher32" in out
    assert "checksums   all 18 chunks verify (fletcher32: u)" in out
    assert f"attributes ({len(keys)}, in full)" in out and config in out  # the whole config JSON, not cut
    assert all(f"\n  {key} " in out for key in keys)
    lines = out.splitlines()
    row = lines[next(i for i, line in enumerate(lines) if "non-finite" in line) + 1].split()
    np.testing.assert_allclose([float(v) for v in row[1:5]], [u.min(), u.max(), u.mean(), u.std()], rtol=1e-3)


def test_info_names_the_chunk_whose_checksum_fails(native_file, capsys):
    import h5py

    with h5py.File(native_file) as f:
        offset = f["u"].id.get_chunk_info(2 * 6 + 4).byte_offset  # sample 2, time 4
    data = bytearray(native_file.read_bytes())
    data[offset + 5] ^= 0xFF
    native_file.write_bytes(bytes(data))
    assert main(["info", str(native_file)]) == 0
    out = capsys.readouterr().out
    assert "FAILED: 1 of 18 chunks" in out and "u at [sample 2, time 4]" in out and "corrupt" in out


def test_info_describes_a_partial_file_and_the_samples_it_holds(native_file, capsys):
    import h5py

    partial = native_file.with_name("b.h5.partial")
    native_file.rename(partial)
    with h5py.File(partial, "a") as f:
        f.attrs["samples_written"] = 2
    assert main(["info", str(partial)]) == 0
    out = capsys.readouterr().out
    assert "NO: 2 of 3 samples written (samples 0-1" in out and "renames the file to b.h5" in out
    assert "statistics  of the 2 written sample(s)" in out and "all 12 chunks verify" in out


def test_blockwise_statistics_equal_numpy_on_the_whole_array(tmp_path):
    """Blocks of one frame (a limit below a sample) and of several samples give numpy's numbers, NaNs counted."""
    import numpy as np
    import xarray as xr

    from pdeops.data.info import field_statistics

    rng = np.random.default_rng(0)
    u = rng.standard_normal((5, 7, 6)) * 3 + 2
    u[1, 2, 3] = np.nan
    dataset = xr.Dataset({"u": (("sample", "time", "x"), u)})
    finite = u[np.isfinite(u)]
    for limit in (8 * 6, 8 * 6 * 7 * 2, 10**6):
        stats = field_statistics(dataset, limit=limit)["u"]
        assert stats.nonfinite == 1 and stats.count == finite.size
        np.testing.assert_allclose([stats.min, stats.max, stats.mean, stats.std],
                                   [finite.min(), finite.max(), finite.mean(), finite.std()], rtol=1e-12)  # fmt: skip


# --- signals: exit statuses 143 (SIGTERM) and 130 (Ctrl-C), with how to go on -------------------------------------
def test_sigterm_ends_any_command_with_status_143_and_restores_the_handler(monkeypatch, capsys):
    import os
    import signal
    import time

    from pdeops.cli import data

    def killed(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        return 0

    monkeypatch.setattr(data, "_info", killed)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["info", "x.h5"]) == 143
    err = capsys.readouterr().err
    assert "pdeops info: terminated (SIGTERM); exit status 143. Nothing is resumed" in err and "Traceback" not in err
    assert signal.getsignal(signal.SIGTERM) is before


def test_lightnings_sigterm_exit_is_not_a_success(monkeypatch, capsys):
    """Lightning stops a fit on SIGTERM with ``SIGTERMException``, a ``SystemExit`` without a code: status 0."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from pdeops.cli import benchmark

    def preempted(args):
        raise SIGTERMException

    monkeypatch.setattr(benchmark, "_benchmark", preempted)
    assert main(["benchmark", "suite.yaml"]) == 143
    assert "finished runs are kept, and the interrupted one goes on from its last.ckpt" in capsys.readouterr().err


def test_ctrl_c_is_status_130_and_one_paragraph(monkeypatch, capsys):
    from pdeops.cli import data

    def interrupted(args):
        raise KeyboardInterrupt

    def lightning_interrupted(args):  # what Lightning does with Ctrl-C during a run
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            sys.exit(1)

    for verb in (interrupted, lightning_interrupted):
        monkeypatch.setattr(data, "_info", verb)
        assert main(["info", "x.h5"]) == 130
        assert "pdeops info: interrupted (Ctrl-C); exit status 130." in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --help and argparse's own errors still exit as they did
        main(["info", "--help"])


def _run_until(argv: list[str], ready, sig, log, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``pdeops ARGV`` in a fresh interpreter (stderr to the file ``log``), send ``sig`` once ``ready()`` holds,
    and wait for it to end."""
    import os
    import signal
    import time

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "pdeops.cli", *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not ignored, even under `nohup`/`&`
        )
        deadline = time.monotonic() + timeout
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(sig)
        process.wait(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, "", log.read_text())


def test_sigterm_during_generate_exits_143_and_the_rerun_finishes(tmp_path):
    import signal

    out = tmp_path / "d.h5"
    argv = ["generate", "ns2d-fno", "--samples", "3", "--resolution", "16", "--solve-resolution", "32", "--dt", "5e-3"]
    argv += ["--horizon", "4", "--record-every", "0.5", "--batch-size", "1", "--out", str(out)]
    partial, log = tmp_path / "d.h5.partial", tmp_path / "stderr.txt"
    stopped = _run_until(argv, partial.exists, signal.SIGTERM, log)
    assert stopped.returncode == 143, stopped.stderr
    assert "pdeops generate: terminated (SIGTERM); exit status 143. Repeat the same command to resume" in stopped.stderr
    assert "Traceback" not in stopped.stderr and not out.exists()
    assert main(argv) == 0 and out.exists()


@pytest.fixture(scope="module")
def ns_tiny(tmp_path_factory):
    from pdeops.data.generate import generate
    from pdeops.data.recipes import GenerationConfig

    config = GenerationConfig(
        recipe="ns2d-fno", samples=12, resolution=16, solve_resolution=32, horizon=3.0, record_every=0.5, dt=5e-3
    )
    return generate(config, tmp_path_factory.mktemp("data") / "ns_tiny.h5")


@pytest.mark.parametrize(
    ("sig", "status", "message"),
    [
        ("SIGTERM", 143, "pdeops fit: terminated (SIGTERM); exit status 143. Resume the run: repeat the command with "
         "--ckpt_path last"),
        ("SIGINT", 130, "pdeops fit: interrupted (Ctrl-C); exit status 130."),
    ],
)  # fmt: skip
def test_a_signal_during_fit_is_not_a_success(sig, status, message, ns_tiny, tmp_path):
    """SIGTERM (a SLURM preemption) once training runs: Lightning stops after the batch, and the exit says so."""
    import signal
    from pathlib import Path

    config = str(Path(__file__).resolve().parents[2] / "configs" / "ns2d" / "fno.yaml")
    argv = [
        "fit", "-c", config, "--data.path", str(ns_tiny), "--data.history", "2", "--data.eval_horizon", "2",
        "--model.init_args.model.init_args.n_modes", "[4, 4]", "--model.init_args.model.init_args.hidden_channels",
        "4", "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false",
        "--trainer.max_epochs", "100000", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
    ]  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"
    stopped = _run_until(argv, last.exists, getattr(signal, sig), tmp_path / "stderr.txt")
    assert stopped.returncode == status, stopped.stderr
    assert message in stopped.stderr and "Traceback" not in stopped.stderr
    assert last.exists()  # what --ckpt_path last resumes from
