"""Read a submission folder into a normalised `Submission`: answers and code units with provenance.

Only parsing happens here (TOML, Python's `ast`): no student code is executed. Every answer and
every class remembers its file and line so the report can point the student at their own text.
Sources other than `answers.toml` and `.py` files (notebooks, writeups) add `Answer`s and
`CodeUnit`s through the same two lists.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import AnswerSheetError
from grader.results import SourceRef
from grader.sandbox import iter_submission_files

ANSWER_SHEET = "answers.toml"
MAX_SOURCE_BYTES = 2 * 2**20
MODULE_BASES = {"Module", "nn.Module", "torch.nn.Module"}


@dataclass(frozen=True)
class Answer:
    key: str
    value: Any
    source: SourceRef


@dataclass(frozen=True)
class CodeUnit:
    """A class found in the student's code (by AST, never by importing it)."""

    name: str
    file: str  # relative to the submission root; the file the sandbox imports
    line: int
    bases: tuple[str, ...]
    methods: tuple[str, ...]
    misplaced_methods: dict[str, tuple[int, str]]  # forward inside __init__ -> (line, '__init__')
    is_module: bool = False


@dataclass(frozen=True)
class ParseProblem:
    file: str
    line: int | None
    message: str


@dataclass
class Submission:
    root: Path
    student: str
    files: list[str] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    answer_sheet_error: AnswerSheetError | None = None
    classes: list[CodeUnit] = field(default_factory=list)
    parse_problems: list[ParseProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    homework_hint: str | None = None  # read from a broken answer sheet's `homework =` line

    @property
    def homework(self) -> str | None:
        answer = self.answers.get("homework")
        if answer and isinstance(answer.value, str):
            return answer.value.strip().lower()
        return self.homework_hint


@dataclass(frozen=True)
class ClassLookup:
    unit: CodeUnit | None
    exact: bool
    found_instead: tuple[str, ...]  # module classes present, for the 'missing class' message


def ingest(root: Path, student: str | None = None) -> Submission:
    """Build the normalised submission for one folder."""
    sub = Submission(root=root, student=student or root.name)
    skipped: list[str] = []
    for path in iter_submission_files(root, skipped):
        rel = str(path.relative_to(root))
        sub.files.append(rel)
        if path.name == ANSWER_SHEET and path.parent == root:
            _read_answer_sheet(path, sub)
        elif path.suffix == ".py":
            _read_python(path, rel, sub)
    sub.notes.extend(f"ignored {s}" for s in skipped)
    return sub


def _read_answer_sheet(path: Path, sub: Submission) -> None:
    raw = path.read_bytes()
    stated = re.search(
        rb'^(?:\xef\xbb\xbf)?\s*homework\s*=\s*"([A-Za-z0-9_\-]+)"', raw, flags=re.MULTILINE
    )
    if stated:
        sub.homework_hint = stated.group(1).decode().lower()
    try:
        text = raw.decode("utf-8-sig")  # Windows editors prepend a byte-order mark
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        sub.answer_sheet_error = AnswerSheetError(path, None, f"not UTF-8 text ({exc.reason})")
        return
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        sub.answer_sheet_error = AnswerSheetError(path, line, f"not valid TOML: {exc}")
        return
    lines = text.splitlines()
    for key, value in _flatten(data):
        sub.answers[key] = Answer(
            key, value, SourceRef(file=path.name, line=_toml_line(lines, key))
        )


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flatten(value, full + "."))
        else:
            items.append((full, value))
    return items


def _toml_line(lines: list[str], dotted: str) -> int | None:
    """Best-effort line of `section.key` in the sheet (tomllib keeps no positions)."""
    *sections, key = dotted.split(".")
    want = ".".join(sections)
    current = ""
    fallback = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            if current == want:
                fallback = number
            continue
        assignment = re.match(r'^"?([A-Za-z0-9_.\-]+)"?\s*=', line)
        if assignment:
            name = assignment.group(1)
            full = f"{current}.{name}" if current else name
            if full == dotted or (current == want and name == key):
                return number
            inline = re.match(rf"^{re.escape(sections[-1])}\s*=\s*\{{", line) if sections else None
            if inline and re.search(rf"[{{,]\s*{re.escape(key)}\s*=", line):
                return number  # p4a = {params_naive = 1, ...}
    return fallback


def _read_python(path: Path, rel: str, sub: Submission) -> None:
    if path.stat().st_size > MAX_SOURCE_BYTES:
        sub.parse_problems.append(ParseProblem(rel, None, "file too large to read"))
        return
    source = path.read_bytes().decode("utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        sub.parse_problems.append(ParseProblem(rel, exc.lineno, f"syntax error: {exc.msg}"))
        return
    except (RecursionError, MemoryError, ValueError):
        sub.parse_problems.append(ParseProblem(rel, None, "file too deeply nested to read"))
        return
    units = [_class_unit(node, rel) for node in _module_level_classes(tree.body)]
    module_names = {u.name for u in units if set(u.bases) & MODULE_BASES}
    changed = True
    while changed:  # subclasses of the student's own nn.Module subclasses are modules too
        changed = False
        for u in units:
            if u.name not in module_names and set(u.bases) & module_names:
                module_names.add(u.name)
                changed = True
    sub.classes.extend(
        CodeUnit(**{**u.__dict__, "is_module": u.name in module_names}) for u in units
    )


def _module_level_classes(body: list[ast.stmt]) -> list[ast.ClassDef]:
    """Classes an import would define: top level, or inside top-level if/try/with blocks."""
    found: list[ast.ClassDef] = []
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            found.append(stmt)
        elif isinstance(stmt, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for inner in getattr(stmt, block, []):
                    inner_body = inner.body if isinstance(inner, ast.ExceptHandler) else [inner]
                    found.extend(_module_level_classes(inner_body))
    return found


def _class_unit(node: ast.ClassDef, rel: str) -> CodeUnit:
    methods = tuple(
        n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    )
    misplaced: dict[str, tuple[int, str]] = {}
    for method in node.body:
        if isinstance(method, ast.FunctionDef):
            for inner in ast.walk(method):
                if (
                    inner is not method
                    and isinstance(inner, ast.FunctionDef)
                    and inner.name not in methods
                ):
                    misplaced.setdefault(inner.name, (inner.lineno, method.name))
    return CodeUnit(
        name=node.name,
        file=rel,
        line=node.lineno,
        bases=tuple(ast.unparse(b) for b in node.bases),
        methods=methods,
        misplaced_methods=misplaced,
    )


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_class(sub: Submission, name: str) -> ClassLookup:
    """The class by its exact name, else the closest nn.Module subclass under a near-miss name."""
    modules = [u for u in sub.classes if u.is_module]
    exact = [u for u in sub.classes if u.name == name]
    if exact:
        return ClassLookup(_prefer_top_level(exact), True, ())
    near = [(d, u) for u in modules if (d := near_miss_distance(name, u.name)) is not None]
    if near:
        return ClassLookup(
            min(near, key=lambda pair: (pair[0], pair[1].file, pair[1].line))[1], False, ()
        )
    return ClassLookup(None, False, tuple(sorted({u.name for u in modules})))


def near_miss_distance(wanted: str, found: str) -> int | None:
    """How far a class name is from the one asked for, if it is plausibly a misspelling of it.

    Case and separators never count (`STM_ConvLayer`, `stmconvlayer`); beyond that, at most two
    edits, or a shortening that keeps the start (`STMConv`). A different name that merely shares
    a suffix (`MyConvLayer` for `STMConvLayer`, three edits) is not a near miss: grading the
    wrong class would be a wrong verdict.
    """
    a, b = _normalise(wanted), _normalise(found)
    if not a or not b:
        return None
    if a == b:
        return 0
    distance = _edit_distance(a, b)
    if distance <= 2:
        return distance
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 5 and longer.startswith(shorter[:3]) and shorter in longer:
        return distance
    return None


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _prefer_top_level(units: list[CodeUnit]) -> CodeUnit:
    """Several definitions: the shallowest file wins, and within it the last one, as in Python."""
    first_file = min(units, key=lambda u: (u.file.count("/"), u.file)).file
    return max((u for u in units if u.file == first_file), key=lambda u: u.line)
