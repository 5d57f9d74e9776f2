import subprocess
import sys

import pytest

from pdeops.cli import main
from pdeops.demo import DemoConfig, run_solver_demo


def test_unknown_command_is_named_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate'" in err and "demo" in err


def test_console_script_runs_and_reports_its_version():
    out = subprocess.run([sys.executable, "-m", "pdeops.cli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("pdeops ")


def test_solver_demo_prints_its_tables_and_is_accurate():
    lines: list[str] = []
    figures = run_solver_demo(DemoConfig(resolution=32, samples=2, horizon=1.0, record_every=0.5), echo=lines.append)
    text = "\n".join(lines)
    assert "Taylor–Green" in text and "rk4cn vs etdrk4" in text
    assert figures["taylor_green_error"]["etdrk4"] < 1e-10
    assert figures["taylor_green_error"]["rk4cn"] < 1e-8
    assert figures["scheme_gap_final"] < 1e-5
