"""No course or homework id of the repository's courses in the grader's code (issue 12).

Adding a homework is course content (rubric, reference, tests of the reference), never grader
code: a `if homework == "hw2"` or a `"mfdnn"` default in `grader/` would make one course's
homework special. The ids are read from `rubrics/` (every course folder's `course.yaml` id and
every rubric's stem), so a new course or homework is covered without editing this test. The
code is read with `ast`: docstrings and comments may name a homework as an example, string
constants that are not docstrings and identifiers may not.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GRADER = ROOT / "grader"
RUBRICS = ROOT / "rubrics"


def _repository_ids() -> set[str]:
    """Course ids and homework ids of every course under `rubrics/`."""
    ids: set[str] = set()
    for course_file in RUBRICS.glob("*/course.yaml"):
        ids.add(str(yaml.safe_load(course_file.read_text())["id"]))
        ids |= {p.stem for p in course_file.parent.glob("*.yaml") if p.name != "course.yaml"}
    return ids


def _docstring_nodes(nodes: list[ast.AST]) -> set[int]:
    """The ids of the string constants that are docstrings (of modules, classes, functions),
    among `nodes` (every node of a tree)."""
    found: set[int] = set()
    for node in nodes:
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    # an attribute's docstring (a bare string right after an assignment) is a docstring too
    for node in nodes:
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for before, after in itertools.pairwise(body):
                if (
                    isinstance(before, ast.Assign | ast.AnnAssign)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)
                ):
                    found.add(id(after.value))
    return found


def _words(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every non-docstring string constant and every identifier."""
    nodes = list(ast.walk(tree))  # walked once, read three times
    docstrings = _docstring_nodes(nodes)
    for node in nodes:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield line, node.value
        elif isinstance(node, ast.Name):
            yield line, node.id
        elif isinstance(node, ast.Attribute):
            yield line, node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield line, node.name
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            yield line, node.arg


def _pattern(ids: set[str]) -> re.Pattern[str]:
    """An id as a whole word, case as written (ids are lower case): `mfdnn/hw6`, `"hw2"`, `dl-hw2`
    match; `hw20`, `handle`, `dL` do not."""
    alternatives = "|".join(sorted(map(re.escape, ids), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def find_course_ids(source: str, ids: set[str]) -> list[tuple[int, str]]:
    """(line, id) of each course or homework id in the code of `source`."""
    pattern = _pattern(ids)
    return [
        (line, match.group(0))
        for line, text in _words(ast.parse(source))
        for match in pattern.finditer(text)
    ]


def test_the_repository_ids_are_found() -> None:
    ids = _repository_ids()
    assert {"mfdnn", "dl", "hw2", "hw3", "hw4", "hw6"} <= ids


def test_the_check_finds_ids_in_code_and_not_in_docstrings() -> None:
    source = (
        '"""Module docstring naming hw6 and mfdnn/hw2."""\n'
        "# a comment about hw6\n"
        "def f(homework):\n"
        '    """Its docstring: `grade mfdnn/hw6`."""\n'
        '    if homework == "hw6":\n'
        "        return 1\n"
        '    label = f"{homework}-dl"\n'
        '    """an attribute docstring naming hw3"""\n'
        "    return hw4 + handle + hw20\n"
    )
    found = find_course_ids(source, {"hw6", "mfdnn", "dl", "hw3", "hw4"})
    assert sorted(found) == [(5, "hw6"), (7, "dl"), (9, "hw4")]


def test_no_course_or_homework_id_in_grader_code() -> None:
    ids = _repository_ids()
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {word!r}"
        for path in sorted(GRADER.rglob("*.py"))
        for line, word in find_course_ids(path.read_text(), ids)
    ]
    assert not offenders, (
        "course content in grader code (move it to rubrics/ or reference/, or write the example "
        "in a docstring):\n" + "\n".join(offenders)
    )
