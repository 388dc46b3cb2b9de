"""`analysis` reads files: the only project module it may import is the leaf results schema."""

import ast
from pathlib import Path

import analysis

PROJECT = ("analysis", "benchmarks", "problems", "optimizers", "tests")
ALLOWED = {"benchmarks.schema"}


def _imported(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` names anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_analysis_imports_no_project_module_but_the_schema():
    root = Path(analysis.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 10  # the package and its tables/ subpackage were found
    outside = {
        f"{path.relative_to(root)}: {name}"
        for path in files for name in _imported(path)
        if name.split(".")[0] in PROJECT and name.split(".")[0] != "analysis"
        and name not in ALLOWED
    }
    assert not outside, sorted(outside)
