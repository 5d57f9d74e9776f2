"""The import graph of ``solvers`` and ``pdeops``: no circle, and no import running up the layers.

Layers, bottom to top (a module may import its own layer and those below): ``solvers`` ← ``pdeops.data`` ←
``pdeops.models``, ``pdeops.losses`` ← ``pdeops.training`` ← ``pdeops.evaluation`` ← ``pdeops.benchmark`` ←
``pdeops.reproductions``, ``pdeops.demo`` ← ``pdeops.cli``. Leaf modules that two floors share (``pdeops.metrics``,
``pdeops.config``, ``pdeops._io``, ...) sit at the bottom with ``pdeops.data``'s floor and import nothing above it.
Imports inside functions count as much as those at the top of a file: a lazy import still runs.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "solvers": 0,
    "pdeops": 1,  # the package's own __init__ and its leaf modules (metrics, config, _io, ...)
    "pdeops.data": 1,
    "pdeops.models": 2,
    "pdeops.losses": 2,
    "pdeops.training": 3,
    "pdeops.evaluation": 4,
    "pdeops.benchmark": 5,
    "pdeops.reproductions": 6,
    "pdeops.demo": 6,
    "pdeops.cli": 7,
    "pdeops.__main__": 7,
}


def modules() -> dict[str, Path]:
    found = {}
    for package in ("solvers", "pdeops"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that ``name`` imports (absolute and relative, anywhere in the file)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def layer(name: str) -> int:
    best = max((prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")), key=len)
    return LAYERS[best]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_no_import_circle() -> None:
    # a package's __init__ re-exporting its modules, which import the package's siblings, is no circle
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph().items()}
    assert cycles(edges) == []


def test_no_import_runs_up_the_layers() -> None:
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in targets
        if layer(target) > layer(name)
    )
    assert upward == []


def test_the_checks_catch_a_circle_and_an_upward_import() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("pdeops.evaluation.cost") > layer("pdeops.training.fit") > layer("pdeops.data.generate")
    assert layer("pdeops.benchmark.runner") > layer("pdeops.evaluation.evaluate")
    assert layer("pdeops.metrics") == layer("pdeops.data")
