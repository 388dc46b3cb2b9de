"""The project's shape: layers `problems <- optimizers <- benchmarks`, no cycles, small modules.

Every module is parsed (no import runs), function-level imports included, so a cycle hidden
inside a function body is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("problems", "optimizers", "benchmarks", "analysis")
#: What each package may import besides itself.
ALLOWED = {
    "problems": set(),
    "optimizers": {"problems"},
    "benchmarks": {"problems", "optimizers"},
    "analysis": {"benchmarks.schema"},
}
MAX_LINES = 450

def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules that `name` imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            # the longest project module the dotted name starts with
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_parser_sees_the_known_imports() -> None:
    # guards the test itself: an empty graph would pass everything below
    assert "problems.space" in GRAPH["problems.base"]
    assert "optimizers.base" in GRAPH["benchmarks.runner"]
    assert "benchmarks.schema" in GRAPH["analysis.load"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_import(name: str) -> None:
    package = name.split(".")[0]
    for target in sorted(GRAPH[name]):
        other = target.split(".")[0]
        if other == package:
            continue
        allowed = ALLOWED[package]
        assert other in allowed or target in allowed, (
            f"{name} imports {target}: {package} may import only "
            f"{', '.join(sorted(allowed)) or 'itself'}."
        )


def test_no_import_cycle() -> None:
    # Tarjan's strongly connected components; any component of more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles between project modules: {cycles}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    path = MODULES[name]
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines; split it (<= {MAX_LINES})."
