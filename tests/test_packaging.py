"""Packaging basics: licence, citation, type marker, declared dependencies, ``python -m pdeops``, and an editable
install that imports from beside the clone."""

import ast
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

import pdeops

ROOT = Path(__file__).resolve().parents[1]
OWN = {"pdeops", "solvers"}


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_licence_is_the_mit_licence_that_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the pdeops developers" in text
    assert _pyproject()["project"]["license"] == {"text": "MIT"}


def test_the_citation_file_is_cff_1_2_0_of_this_version() -> None:
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"cff-version", "message", "title", "authors"} <= set(citation)  # the keys CFF 1.2.0 requires
    assert all(author.get("name") or author.get("family-names") for author in citation["authors"])
    assert citation["version"] == pdeops.__version__ == _pyproject()["project"]["version"]
    assert citation["license"] == "MIT"


def test_the_package_is_marked_typed_and_ships_the_marker() -> None:
    assert (ROOT / "pdeops" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["pdeops"]


def _top_level_imports(path: Path) -> set[str]:
    """The top-level packages a module imports when it is imported (module-level statements, not lazy imports)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_every_package_imported_at_module_level_is_declared() -> None:
    declared = {
        _normalized(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]) for spec in _pyproject()["project"]["dependencies"]
    }
    distributions = packages_distributions()
    undeclared = {}
    for path in sorted([*(ROOT / "pdeops").rglob("*.py"), *(ROOT / "solvers").rglob("*.py")]):
        for name in _top_level_imports(path) - OWN - set(sys.stdlib_module_names):
            providers = {_normalized(dist) for dist in distributions.get(name, [name])}
            if not providers & declared:
                undeclared.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_python_m_pdeops_is_the_pdeops_command(tmp_path: Path) -> None:
    result = _python("-m", "pdeops", "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"pdeops {pdeops.__version__}"


def test_the_installed_package_imports_beside_a_clone_folder_named_pdeops(tmp_path: Path) -> None:
    """Python puts the working directory first on sys.path: there, a clone folder named ``pdeops`` (no
    ``__init__.py`` at its root) is a namespace package, which must not shadow the installed package."""
    (tmp_path / "pdeops").symlink_to(ROOT, target_is_directory=True)
    result = _python("-c", "import pdeops; print(pdeops.__file__)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "pdeops" / "__init__.py"), (
        "`import pdeops` beside a folder named pdeops found a namespace package; reinstall pdeops (`pip install -e "
        ".`, which scripts/_venv.sh runs when pyproject.toml changes) so that its root is on sys.path"
    )
    assert _python("-m", "pdeops", "--version", cwd=tmp_path).returncode == 0
