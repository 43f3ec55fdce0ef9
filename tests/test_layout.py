"""The package's shape, as issue 11 set it: one package per stage, each above what it imports.

Read from the source with `ast` (every import, including those inside functions: a lazy import
is a circle all the same), so a new upward import or circle fails here with its path.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

GRADER = Path(__file__).resolve().parents[1] / "grader"

#: Lowest first: a module may import only from its own package or from packages listed before
#: its own. (`sandbox/inside/` is not here: it imports nothing from the grader at all.)
LAYERS = [
    "errors",
    "results",
    "ingest",
    "rubric",
    "reference",
    "courses",
    "sandbox",
    "judges",
    "review",
    "report",
    "discover",
    "template",
    "authoring",
    "prepare",
    "bundle",
    "pipeline",
    "reviewing",
    "plugin",
    "autograder",
    "cli",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in GRADER.rglob("*.py"):
        if "inside" in path.relative_to(GRADER).parts:
            continue
        name = ".".join(("grader", *path.relative_to(GRADER).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    found.add(f"{node.module}.{alias.name}")
            if node.module in modules and node.module != "grader":
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules and a.name != "grader"}
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Every module's grader imports, read once for all the tests here."""
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _stage(module: str) -> str:
    return module.split(".")[1] if module != "grader" else "grader"


def test_every_stage_is_a_known_layer() -> None:
    stages = {_stage(m) for m in _graph()} - {"grader", "__init__"}
    assert stages <= set(LAYERS), f"place these in LAYERS: {sorted(stages - set(LAYERS))}"


def test_no_module_imports_a_later_stage() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if module != "grader"
        for target in targets
        if LAYERS.index(_stage(target)) > LAYERS.index(_stage(module))
    ]
    assert upward == []


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph`, as a path that returns to its start, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph[module]):
            found = visit(target, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return None


def test_there_is_no_import_circle() -> None:
    assert _circle(_graph()) is None


def test_ingest_knows_neither_the_rubric_nor_the_sandbox() -> None:
    """Ingest parses what a student handed in; what a judge needs from it is passed in."""
    leaks = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _stage(module) == "ingest"
        for target in targets
        if _stage(target) not in ("ingest", "errors", "results")
    ]
    assert leaks == []


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above can fail: a planted circle is reported with its path."""
    graph = {"grader.a": {"grader.b"}, "grader.b": {"grader.c"}, "grader.c": {"grader.a"}}
    assert _circle(graph) == ["grader.a", "grader.b", "grader.c", "grader.a"]
    assert _circle({"grader.a": {"grader.b"}, "grader.b": set()}) is None
