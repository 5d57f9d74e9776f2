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
