"""The trust boundary: code in grader/sandbox/inside/ runs beside student code and imports nothing
from grader.

Anything it imported from the grader would run in the student's process, where the student's code
can patch it; and the grader's modules pull in the rest of the grader. So every file there is
parsed (not imported) and must name no `grader` module, absolutely or relatively.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INSIDE = Path(__file__).resolve().parents[2] / "grader" / "sandbox" / "inside"


def grader_imports(source: str, filename: str = "<source>") -> list[str]:
    """Each import in `source` that reaches the grader: `import grader...`, `from grader...`, or
    a relative import (which, inside the package, can only reach the grader), with its line."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append(f"line {node.lineno}: relative import from {'.' * node.level}")
                continue
            names = [node.module or ""]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] == "grader"]
    return found


def test_the_inside_folder_holds_the_probe() -> None:
    """Control: the files checked below are there (a moved folder must not pass silently)."""
    assert (INSIDE / "probe.py").is_file()


@pytest.mark.parametrize(
    "path", sorted(INSIDE.rglob("*.py")), ids=lambda p: str(p.relative_to(INSIDE))
)
def test_inside_imports_nothing_from_the_grader(path: Path) -> None:
    found = grader_imports(path.read_text(encoding="utf-8"), str(path))
    assert not found, f"{path} runs beside student code and must not import the grader: {found}"


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ("import grader\n", 1),
        ("import os, grader.sandbox.jobs\n", 1),
        ("from grader.sandbox import observations\n", 1),
        ("from . import probe\n", 1),
        ("from ..jobs import Limits\n", 1),
        ("def f():\n    import grader.rubric\n", 1),  # hidden in a function
        ("import graders\nimport numpy\nfrom json import loads\n", 0),  # only grader itself
        ("x = 'import grader'\n", 0),  # text is not an import
    ],
)
def test_the_import_check_itself(source: str, hits: int) -> None:
    assert len(grader_imports(source)) == hits
