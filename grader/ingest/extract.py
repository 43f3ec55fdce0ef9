"""A class of a `.py` file as a module of its own: the file without the top level it does not need.

Why: starters download data sets, build loaders and train at import time (`datasets.MNIST(...,
download=True)`, a training loop), and students keep that structure. Importing the file to grade
one class would run all of it: a sandbox with no network fails the download, a training loop hits
the time limit, and a correct class scores nothing. The notebook path already assembles a class
from the cells it needs (`grader.ingest.writeup.assemble_class`); this is the same for files.

The generated module is the file itself with the top-level statements the class does not need
blanked out, line for line: every kept line keeps its number, so a traceback from the sandbox
points at the student's own line. Kept: imports (but see below), `from __future__`, the class,
and every top-level statement binding a name the class reads, transitively (helper functions and
classes, constants, `device = ...`), plus `sys.path` edits and `torch.set_default_dtype` calls,
which change what the kept code means. Dropped: everything else (downloads, loaders, training,
prints). `if __name__ == "__main__":` blocks stay as written: importing never runs them.

An import the grading environment cannot satisfy is dropped when the kept code reads none of its
names. When the kept code does read it: a package the course declares (`environment: packages`
in its course.yaml: torchvision, scikit-learn) is the environment's shortcoming (`grade env` was
not run, or could not install it), so the caller hands the check to a TA ("needs torchvision,
which the grading environment lacks") rather than failing the student; any other name is most
likely the student's own module left out of the submission, and the import stays, so the probe
reports the `ModuleNotFoundError` as it always did. Which packages are coursework's is the
course's to say, never a list in the grader.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

_BUILTINS = frozenset(dir(builtins))

#: Top-level calls kept whatever the class reads: they change how the kept code runs.
KEPT_CALLS = (
    "sys.path.",
    "torch.set_default_dtype",
    "torch.set_default_tensor_type",
    "torch.set_default_device",
)


@dataclass(frozen=True)
class ClassModule:
    """The module to import instead of the file, and what was left out of it."""

    source: str
    dropped_lines: tuple[tuple[int, int], ...]  # (first, last) line ranges blanked out
    needs: tuple[str, ...] = ()  # packages the kept code imports that this environment lacks

    def digest(self) -> str:
        """Goes into the probe plan, so cached observations follow the generated module."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]

    def describe(self, file: str) -> str:
        """For the report: which lines of `file` were not run."""
        spans = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.dropped_lines[:8])
        more = ", ..." if len(self.dropped_lines) > 8 else ""
        return f"lines {spans}{more} of {file}"


@lru_cache(maxsize=256)
def package_available(name: str) -> bool:
    """Whether the top-level package `name` is importable by this interpreter (the sandbox runs
    the grader's own interpreter, or a course environment that sees all of its packages too).
    `find_spec` on a top-level name imports nothing."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def class_module(
    source: str,
    class_name: str,
    is_local: Callable[[str], bool] = lambda name: False,
    is_available: Callable[[str], bool] = package_available,
    is_declared: Callable[[str], bool] = lambda name: False,
) -> ClassModule | None:
    """The module defining `class_name` without the top level it does not need.

    None when the file should be imported as it is: it does not parse (the probe reports the
    syntax error as before), the class is not a top-level statement, or nothing would be left
    out. `is_local(name)`: whether `import name` finds a module of the submission itself;
    `is_declared(name)`: whether the course declares the package (its absence is then ours).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    body = tree.body
    if not any(isinstance(s, ast.ClassDef) and s.name == class_name for s in body):
        return None
    keep = [False] * len(body)
    wanted: set[str] = set()
    for i, stmt in enumerate(body):
        target = isinstance(stmt, ast.ClassDef) and stmt.name == class_name
        if target or _always_kept(stmt):
            keep[i] = True
            wanted |= free_names(stmt)
        elif _is_main_guard(stmt):
            keep[i] = True  # importing never runs it: left as written, reading nothing
    bindings = [_bound_by(stmt) for stmt in body]
    changed = True
    while changed:
        changed = False
        for i, stmt in enumerate(body):
            if keep[i] or _is_import(stmt):
                continue
            if bindings[i] & wanted:
                keep[i] = True
                wanted |= free_names(stmt)
                changed = True
    needs: list[str] = []
    for i, stmt in enumerate(body):
        if not _is_import(stmt):
            continue
        packages = [p for p in _imported_packages(stmt) if not is_local(p)]
        lacking = [p for p in packages if not is_available(p)]
        if not lacking:
            keep[i] = True
        elif bindings[i] & wanted:
            keep[i] = True  # an undeclared name stays: the probe reports it as it always did
            needs.extend(p for p in lacking if is_declared(p))
    return _blank(source, body, keep, tuple(dict.fromkeys(needs)))


def free_names(node: ast.AST) -> set[str]:
    """Names `node` reads that it binds nowhere itself (an over-approximation of its globals:
    a name bound anywhere inside counts as local, as in `grader.ingest.writeup`)."""
    bound: set[str] = set()
    read: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (read if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
            if sub is not node:
                bound.add(sub.name)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bound.add(sub.name)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        bound.discard(node.name)  # a class reading its own name (super(C3_layer, self)) is fine
        read.discard(node.name)
    return read - bound - _BUILTINS


def _bound_by(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module namespace (also inside for/if/with)."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(sub.name)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*"}
    return names


def _is_import(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
        return False  # always kept (see _always_kept)
    return isinstance(stmt, ast.Import | ast.ImportFrom)


def _imported_packages(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Import):
        return [a.name.split(".")[0] for a in stmt.names]
    if isinstance(stmt, ast.ImportFrom):
        if stmt.level:  # `from . import x`: the submission's own package
            return []
        return [(stmt.module or "").split(".")[0]] if stmt.module else []
    return []


def _always_kept(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # a docstring
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        callee = _dotted(stmt.value.func)
        return callee is not None and callee.startswith(KEPT_CALLS)
    return False


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _is_main_guard(stmt: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, which importing never runs anyway."""
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    names = [stmt.test.left, *stmt.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names)


def _span(stmt: ast.stmt) -> tuple[int, int]:
    first = stmt.lineno
    if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        first = min([first, *(d.lineno for d in stmt.decorator_list)])
    return first, stmt.end_lineno or stmt.lineno


def _blank(
    source: str, body: list[ast.stmt], keep: list[bool], needs: tuple[str, ...]
) -> ClassModule | None:
    """The source with the dropped statements' lines emptied; None if nothing is dropped.

    A line shared by a kept and a dropped statement (`a = 1; b = 2`) stays whole, with both.
    """
    lines = source.splitlines(keepends=True)
    kept_lines: set[int] = set()
    for stmt, kept in zip(body, keep, strict=True):
        if kept:
            first, last = _span(stmt)
            kept_lines.update(range(first, last + 1))
    dropped: list[int] = []
    for stmt, kept in zip(body, keep, strict=True):
        if not kept:
            first, last = _span(stmt)
            dropped.extend(n for n in range(first, last + 1) if n not in kept_lines)
    if not dropped:
        return None
    for n in dropped:
        if 1 <= n <= len(lines):
            ending = "\n" if lines[n - 1].endswith("\n") else ""
            lines[n - 1] = ending
    return ClassModule("".join(lines), tuple(_ranges(sorted(set(dropped)))), needs)


def _ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and spans[-1][1] == n - 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans
