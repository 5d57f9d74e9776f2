"""Shell completion: ``pdeops --print-completion SHELL`` (shtab, an optional extra) and the command without it."""

import subprocess
import sys

import pytest

from pdeops.cli import main


def test_bash_completion_completes_commands_options_and_recipes(tmp_path, capsys):
    pytest.importorskip("shtab")
    with pytest.raises(SystemExit) as exit_:
        main(["--print-completion", "bash"])
    assert exit_.value.code == 0
    script = tmp_path / "pdeops.bash"
    script.write_text(capsys.readouterr().out)

    def complete(*words: str) -> list[str]:
        """What bash offers for the last of ``words``, from the completion function the script defines."""
        line = " ".join(("pdeops", *words))
        code = (
            f"source {script}; COMP_WORDS=(pdeops {' '.join(words)}); COMP_CWORD={len(words)}; "
            f"COMP_LINE='{line}'; COMP_POINT={len(line)}; _shtab_pdeops; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        return subprocess.run(["bash", "-c", code], capture_output=True, text=True, check=True).stdout.split()

    assert complete("eva") == ["evaluate"]
    assert "--animate" in complete("evaluate", "--an")
    assert complete("generate", "ns2d-f") == ["ns2d-fno"]


def test_zsh_completion_is_a_compdef(capsys):
    pytest.importorskip("shtab")
    with pytest.raises(SystemExit):
        main(["--print-completion", "zsh"])
    out = capsys.readouterr().out
    assert out.startswith("#compdef pdeops") and "evaluate" in out


def test_without_shtab_the_command_works_and_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "shtab", None)  # as if it were not installed: importing it fails
    with pytest.raises(SystemExit) as exit_:
        main(["--print-completion", "bash"])
    assert exit_.value.code == 2
    assert "pip install 'pdeops[completion]'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "--print-completion" in capsys.readouterr().out


def test_building_the_parser_does_not_import_shtab():
    """So ``pdeops --help`` does not pay for completion."""
    code = "import sys\nfrom pdeops.cli import build_parser\nbuild_parser()\nprint('shtab' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
