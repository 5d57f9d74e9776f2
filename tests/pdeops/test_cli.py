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
