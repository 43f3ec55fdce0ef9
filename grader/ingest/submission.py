"""Read a submission folder into a normalised `Submission`: answers and code units with provenance.

Only parsing happens here (TOML, Python's `ast`, JSON, text): no student code is executed. Every
answer and every class remembers its file and line so the report can point the student at their
own text. Writeups (.md/.txt, e.g. a PDF converted to markdown) and notebooks (.ipynb) are read
into `Submission.documents`; what the rubric asks of them (a class, a script, an answer) is only
known once the rubric is, so `grader.judges.sources` builds those on demand: generated modules land
in
`Submission.generated`, their classes in `classes` (with `origin`), document answers in
`document_answers`. A folder without an answer sheet gets its homework from its content
(`detect_homework`, confirmed by the rubrics' class and script names).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import AnswerSheetError
from grader.ingest import budget
from grader.ingest.budget import BudgetExceeded, student_budget
from grader.ingest.documents import (
    MAX_WRITEUP_BYTES,
    NOTEBOOK_SUFFIX,
    PRECEDENCE,
    Document,
    DocumentError,
    GeneratedSource,
    is_writeup,
    read_document,
)
from grader.ingest.files import TooLarge, iter_submission_files, read_capped
from grader.ingest.notebook import MAX_NOTEBOOK_BYTES
from grader.ingest.pdf import PDF_SUFFIX
from grader.ingest.tex import TEX_SUFFIX, is_main_tex
from grader.ingest.writeup import detect_homework, fingerprint_scores
from grader.results import PageImage, SourceRef

ANSWER_SHEET = "answers.toml"
MAX_SOURCE_BYTES = 2 * 2**20
MAX_SHEET_BYTES = 2**20  # an answer sheet is a few KB
MAX_PYTHON_FILES = 300  # .py files parsed per submission (shallowest first)
MAX_DOCUMENTS = 16  # writeups and notebooks read per submission (shallowest first)
MAX_READ_BYTES = 256 * 2**20  # bytes read per submission, all files together
MODULE_BASES = {"Module", "nn.Module", "torch.nn.Module"}
#: Writeups in forms the grader does not read: what may hold an answer is for a TA to look at.
UNREAD_WRITEUPS = {
    ".docx": "Word documents are not read by the grader",
    ".doc": "Word documents are not read by the grader",
    ".odt": "OpenDocument text is not read by the grader",
    ".rtf": "RTF documents are not read by the grader",
    ".pages": "Pages documents are not read by the grader",
}
HOMEWORK_CONFIDENCE = 0.6  # detect_homework: a title ("HW 6") or two rubric fingerprints


@dataclass(frozen=True)
class Answer:
    """A student's answer to one rubric key, and where it was read.

    Answers read from a writeup or notebook carry `origin` (the document's file) and `where`
    (what the student looks up: 'writeup.md:95', 'hw.ipynb, cell 4, line 3'). One that could not
    be read with confidence has `pending_reason` set: judges make it a pending TA item showing
    `excerpt`, never a failure (our parser's doubt must not cost the student points).
    """

    key: str
    value: Any
    source: SourceRef
    confidence: float = 1.0
    pending_reason: str | None = None
    excerpt: tuple[str, ...] = ()
    origin: str | None = None
    where: str = ""
    # The other results the same writeup section states, when the rubric picks one by position
    # (the first, the last): a judge may use them only to send a wrong reading to a TA (the
    # student may have stated the results in another order), never to give credit.
    others: tuple[float, ...] = ()


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
    origin: str | None = None  # the writeup/notebook a generated `file` was assembled from


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
    documents: list[Document] = field(default_factory=list)  # notebooks first, then writeups
    # Built on demand by grader.judges.sources (keyed by sandbox path / rubric answer key / symbol):
    generated: dict[str, GeneratedSource] = field(default_factory=dict)
    document_answers: dict[str, Answer] = field(default_factory=dict)
    unassembled: dict[str, str] = field(default_factory=dict)  # symbol -> why not built
    # Files that may hold answers but could not be read (a PDF or Word writeup, a notebook that
    # is not valid JSON): (file, why). An answer missing elsewhere is for a TA to find there.
    unread_documents: list[tuple[str, str]] = field(default_factory=list)
    # The images of scanned pages (no text layer, or a text layer OCR read from the image), for
    # the TA who reads them (written beside the feedback by --out).
    page_images: list[PageImage] = field(default_factory=list)

    homework_hint: str | None = None  # a broken answer sheet's `homework =` line, or the content
    # The homework (full id) the folder's class folder is named after, set by the pipeline: it
    # says which course a short id the sheet states (`hw2`, in two courses) belongs to.
    class_homework: str | None = None
    homework_source: SourceRef | None = None  # where a broken answer sheet's `homework =` is
    # Why the homework this folder names cannot be graded here (no rubric has that id): set by
    # the pipeline, which knows the rubrics in use; the folder is then reported unrecognised.
    homework_error: str | None = None
    # Why the grader refused to finish reading this folder (its ingest budget ran out): nothing
    # else of it is kept, and the pipeline reports "not graded: ..." for this student alone.
    not_graded: str | None = None

    @property
    def homework(self) -> str | None:
        answer = self.answers.get("homework")
        if answer and isinstance(answer.value, str):
            return answer.value.strip().lower()
        return self.homework_hint

    @property
    def course(self) -> str | None:
        """The course an answer sheet names (`course = "mfdnn"`), if it names one."""
        answer = self.answers.get("course")
        if answer and isinstance(answer.value, str):
            return answer.value.strip().lower()
        return None

    @property
    def seed_name(self) -> str:
        """The folder's own name, which the grader's inputs are drawn from: `student` may be a
        path (`hw6/alice`) when two folders share a name, and each must get the inputs, so the
        grades, that it gets when graded alone."""
        return self.student.rpartition("/")[2]

    @property
    def homework_stated_at(self) -> SourceRef | None:
        """Where the student wrote the homework (answers.toml and its line), if they did."""
        answer = self.answers.get("homework")
        if answer and isinstance(answer.value, str):
            return answer.source
        return self.homework_source


@dataclass(frozen=True)
class ClassLookup:
    unit: CodeUnit | None
    exact: bool
    found_instead: tuple[str, ...]  # module classes present, for the 'missing class' message


#: Per homework (full id, `mfdnn/hw6`), names only its answers contain (the classes and scripts
#: its rubric asks for): what recognises the homework of a folder that does not state it. The
#: caller derives them from the courses in use (`grader.courses.rubric_fingerprints`); ingest
#: itself knows no rubric.
Fingerprints = Mapping[str, tuple[str, ...]]


def ingest(
    root: Path,
    student: str | None = None,
    fingerprints: Fingerprints | None = None,
    budget_s: float | None = None,
) -> Submission:
    """Build the normalised submission for one folder, within a time budget.

    Reading is bounded per file (each read is capped before it happens), per submission (at most
    `MAX_PYTHON_FILES` .py files, `MAX_DOCUMENTS` writeups and notebooks, `MAX_READ_BYTES` in
    all; shallowest files first, the rest noted) and in time: past `budget_s` seconds
    (default `budget.ingest_seconds()`) the folder is returned with `not_graded` set and nothing
    else read, so one hostile folder never stalls the batch. Without `fingerprints` no homework
    is guessed from the content (only an answer sheet's `homework` names it).
    """
    name = student or root.name
    seconds = budget.ingest_seconds() if budget_s is None else budget_s
    try:
        with student_budget(seconds):
            return _ingest(root, name, fingerprints or {})
    except BudgetExceeded as exc:
        return Submission(root=root, student=name, not_graded=exc.reason)


def _ingest(root: Path, student: str, fingerprints: Fingerprints) -> Submission:
    sub = Submission(root=root, student=student)
    skipped: list[str] = []
    paths = iter_submission_files(root, skipped)
    rels = [path.relative_to(root).as_posix() for path in paths]
    chosen = _within_caps(rels, skipped)
    listed = dict(zip(rels, paths, strict=True))
    tex: list[tuple[bytes, str]] = []
    read_bytes = 0
    for path, rel in zip(paths, rels, strict=True):
        budget.check()
        sub.files.append(rel)
        if rel not in chosen:
            continue
        suffix = path.suffix.lower()
        if path.name == ANSWER_SHEET and path.parent == root:
            kind = "sheet"
        elif path.suffix == ".py":
            kind = "python"
        elif suffix in (TEX_SUFFIX, NOTEBOOK_SUFFIX) or is_writeup(rel):
            kind = "document"
        else:
            if suffix in UNREAD_WRITEUPS:
                sub.unread_documents.append((rel, UNREAD_WRITEUPS[suffix]))
            continue
        own_cap = MAX_NOTEBOOK_BYTES if suffix == NOTEBOOK_SUFFIX else _CAPS[kind]
        try:
            raw = read_capped(path, min(own_cap, MAX_READ_BYTES - read_bytes))
        except TooLarge as exc:
            if exc.size <= own_cap:  # the file is fine; the submission read too much before it
                skipped.append(f"{rel} (the submission's files are too large to read in all)")
            elif kind == "sheet":
                sub.answer_sheet_error = AnswerSheetError(path, None, "too large to read")
            else:
                sub.parse_problems.append(ParseProblem(rel, None, _too_large(rel, exc)))
                sub.unread_documents.append((rel, _too_large(rel, exc)))
            continue
        except OSError as exc:
            sub.parse_problems.append(ParseProblem(rel, None, f"cannot be read ({exc.strerror})"))
            continue
        read_bytes += len(raw)
        if kind == "sheet":
            _read_answer_sheet(path, raw, sub)
        elif kind == "python":
            _read_python(raw, rel, sub)
        elif suffix == TEX_SUFFIX:
            tex.append((raw, rel))
        elif suffix == PDF_SUFFIX and _compiled_from(rel, chosen):
            sub.notes.append(f"{rel} not read: {_compiled_from(rel, chosen)} beside it is read")
        else:
            _read_document(raw, rel, sub)
    _read_tex_documents(tex, listed, sub)
    sub.documents.sort(key=lambda d: (PRECEDENCE.index(d.kind), d.file.count("/"), d.file))
    sub.notes.extend(f"ignored {s}" for s in skipped)
    if sub.homework is None:
        _detect_homework(sub, fingerprints)
    return sub


_CAPS = {"sheet": MAX_SHEET_BYTES, "python": MAX_SOURCE_BYTES, "document": MAX_WRITEUP_BYTES}


def _read_document(
    raw: bytes, rel: str, sub: Submission, fetch: Callable[[str], bytes | None] | None = None
) -> None:
    try:
        document = read_document(raw, rel, fetch)
    except DocumentError as exc:
        sub.parse_problems.append(ParseProblem(rel, None, exc.message))
        sub.unread_documents.append((rel, exc.message))
        sub.page_images.extend(exc.images)
        sub.notes.extend(exc.notes)
        return
    sub.documents.append(document)
    sub.notes.extend(document.notes)
    sub.page_images.extend(document.page_images)


def _compiled_from(rel: str, chosen: set[str]) -> str | None:
    """The LaTeX source a PDF was compiled from (`report.tex` beside `report.pdf`), if the
    folder holds it. The source is read instead: its math is exact where the PDF's glyphs are
    for a TA, and reading both would state every answer twice."""
    source = rel[: -len(PDF_SUFFIX)] + TEX_SUFFIX
    return source if source in chosen else None


def _read_tex_documents(
    tex: list[tuple[bytes, str]], listed: dict[str, Path], sub: Submission
) -> None:
    """LaTeX writeups: each file LaTeX compiles (with what it `\\input`s), else each fragment.

    A fragment a main file includes is read there, in place, not again on its own. `fetch`
    reads only files of the submission's own listing (no symlink, nothing outside the folder),
    each capped before it is read.
    """

    def fetch(rel: str) -> bytes | None:
        path = listed.get(rel)
        if path is None:
            return None
        try:
            return read_capped(path, MAX_SOURCE_BYTES)
        except (TooLarge, OSError):
            return None

    mains = [(raw, rel) for raw, rel in tex if is_main_tex(raw[:65536])]
    for raw, rel in mains or tex:
        _read_document(raw, rel, sub, fetch)


def _too_large(rel: str, exc: TooLarge) -> str:
    if rel.lower().endswith(NOTEBOOK_SUFFIX):
        return f"{rel} is too large to read ({exc.size // 2**20} MiB; clear the outputs)"
    if rel.endswith(".py"):
        return "file too large to read"
    return f"{rel} is too large to read as a writeup"


def _within_caps(rels: list[str], skipped: list[str]) -> set[str]:
    """The files ingest reads: all of them, unless a kind is over its count cap; then the
    shallowest ones (by depth, then path) are read and the others noted in `skipped`."""
    python = [r for r in rels if r.endswith(".py")]
    documents = [
        r for r in rels if r.lower().endswith((NOTEBOOK_SUFFIX, TEX_SUFFIX)) or is_writeup(r)
    ]
    chosen = set(rels)
    for found, cap, what in (
        (python, MAX_PYTHON_FILES, ".py files"),
        (documents, MAX_DOCUMENTS, "writeups and notebooks"),
    ):
        if len(found) > cap:
            dropped = sorted(found, key=lambda r: (r.count("/"), r))[cap:]
            chosen.difference_update(dropped)
            skipped.append(f"{len(dropped)} {what} beyond the first {cap} (too many to read)")
    return chosen


def _clear_best(text: str, fingerprints: Fingerprints) -> str | None:
    """The homework whose names the text holds clearly most of (at least two, and more than
    any other's), or None: a title alone never decides between courses."""
    scores = fingerprint_scores(text, {k: list(v) for k, v in fingerprints.items()})
    best = sorted(scores.items(), key=lambda item: -item[1])[:2]
    if best and best[0][1] >= 2 and (len(best) == 1 or best[1][1] < best[0][1]):
        return best[0][0]
    return None


#: How a note on a guessed homework ends: the pipeline drops such notes when --homework was given.
HOMEWORK_ADVICE = "pass --homework"


def _detect_homework(sub: Submission, fingerprints: Fingerprints) -> None:
    """The homework of a folder without a stated one, from its writeups, notebooks and names.

    Only a confident guess for which a rubric exists becomes `homework_hint`; anything less is a
    note, and the pipeline reports the folder as unrecognised (naming --homework).
    """
    names = sorted({u.name for u in sub.classes} | {Path(f).name for f in sub.files})
    text = "\n".join([*(d.text for d in sub.documents), " ".join(names)])
    guess, confidence = detect_homework(text, {k: list(v) for k, v in fingerprints.items()})
    if guess is None:
        return
    if guess not in fingerprints:  # a title's "HW 2": the homework of that id, if only one
        same = [full for full in fingerprints if full.rpartition("/")[2] == guess]
        if len(same) > 1:
            chosen = _clear_best(text, {full: fingerprints[full] for full in same})
            if chosen is not None:  # "HW 2" in the title, and one course's names in the text
                sub.homework_hint = chosen
                sub.notes.append(
                    f"titled {guess}, which several courses have ({', '.join(same)}); its "
                    f"content is {chosen}'s: graded as {chosen}"
                )
                return
            sub.notes.append(
                f"this looks like {guess}, which several courses have ({', '.join(same)}): "
                f"{HOMEWORK_ADVICE} to say which"
            )
            return
        guess = same[0] if same else guess
    if guess not in fingerprints:
        # a title naming no homework graded here ("HW 1" on a Homework 3: a student's slip):
        # the content decides when it names one homework clearly
        chosen = _clear_best(text, fingerprints)
        if chosen is not None:
            sub.homework_hint = chosen
            sub.notes.append(
                f"titled {guess}, for which there is no rubric here, but its content is "
                f"{chosen}'s: graded as {chosen}"
            )
            return
        sub.notes.append(f"this looks like {guess}, for which there is no rubric here")
    elif confidence >= HOMEWORK_CONFIDENCE:
        sub.homework_hint = guess
        sub.notes.append(f"homework {guess} recognised from the content (no answer sheet says so)")
    else:
        sub.notes.append(
            f"this may be {guess} (confidence {confidence:.2f}); "
            f"{HOMEWORK_ADVICE} {guess} to be sure"
        )


# Blanks, not `\s`: a `\s*` at a line start runs over every following blank line, which made
# this search quadratic in blank lines (2 million of them: about 50 minutes).
_STATED_HOMEWORK = re.compile(
    rb'^(?:\xef\xbb\xbf)?[ \t]*homework[ \t]*=[ \t]*"([A-Za-z0-9_\-]+)"', flags=re.MULTILINE
)


def _read_answer_sheet(path: Path, raw: bytes, sub: Submission) -> None:
    stated = _STATED_HOMEWORK.search(raw)
    if stated:
        sub.homework_hint = stated.group(1).decode().lower()
        at = raw.count(b"\n", 0, stated.start(1)) + 1
        sub.homework_source = SourceRef(file=path.name, line=at)
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
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. a 5,000-digit integer
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        sub.answer_sheet_error = AnswerSheetError(path, None, f"cannot be read: {reason}")
        return
    try:
        flat = _flatten(data)
    except ValueError as exc:
        sub.answer_sheet_error = AnswerSheetError(path, None, str(exc))
        return
    where = _TomlLines(text.splitlines())
    for key, value in flat:
        sub.answers[key] = Answer(key, value, SourceRef(file=path.name, line=where.line(key)))


MAX_SHEET_DEPTH = 8  # homework.section.key is depth 2; anything far deeper is not an answer


def _flatten(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """`{"p2": {"mean": "0"}}` -> `[("p2.mean", "0")]`, iteratively, with a depth limit."""
    items: list[tuple[str, Any]] = []
    stack: list[tuple[str, dict[str, Any], int]] = [("", data, 0)]
    while stack:
        prefix, table, depth = stack.pop()
        if depth > MAX_SHEET_DEPTH:
            raise ValueError(f"tables nested more than {MAX_SHEET_DEPTH} deep")
        for key, value in table.items():
            if isinstance(value, dict):
                stack.append((f"{prefix}{key}.", value, depth + 1))
            else:
                items.append((f"{prefix}{key}", value))
    return items


_HEADER = re.compile(r"^\[([^\],]+)\]")  # a header holds no comma: `["CONV3-64", ...],` is data
_ASSIGNMENT = re.compile(r'^"?([A-Za-z0-9_.\-]+)"?\s*=')
# One fixed pattern for `name = {`: compiling one per line (per name) cost most of the time.
_INLINE_TABLE = re.compile(r"^[A-Za-z0-9_.\-]+\s*=\s*\{")
_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_\-]+)\s*=")


class _TomlLines:
    """Best-effort lines of the sheet's keys (tomllib keeps no positions), indexed in one pass.

    A key `section.key` is on the first line that assigns it under its `[section]` header (or as
    a dotted name), or in an inline table `section = {key = ...}`; failing both, on its section's
    header. One pass over the sheet, then a dictionary lookup per key: a scan per key made
    60,000 keys take hours.
    """

    def __init__(self, lines: list[str]) -> None:
        self.assigned: dict[str, int] = {}
        self.inline: dict[tuple[str, str], int] = {}
        self.headers: dict[str, int] = {}
        current = ""
        for number, raw in enumerate(lines, start=1):
            budget.check()
            line = raw.strip()
            header = _HEADER.match(line)
            if header:
                current = header.group(1).strip().replace(" ", "").replace('"', "")
                self.headers[current] = number  # the last such header, as before
                continue
            assignment = _ASSIGNMENT.match(line)
            if assignment:
                name = assignment.group(1)
                self.assigned.setdefault(f"{current}.{name}" if current else name, number)
                if _INLINE_TABLE.match(line):  # p4a = {params_naive = 1, ...}
                    for key in _INLINE_KEY.findall(line):
                        self.inline.setdefault((name, key), number)

    def line(self, dotted: str) -> int | None:
        *sections, key = dotted.split(".")
        found = [self.assigned.get(dotted)]
        if sections:
            found.append(self.inline.get((sections[-1], key)))
        lines = [n for n in found if n is not None]
        if lines:
            return min(lines)
        return self.headers.get(".".join(sections))


def _read_python(raw: bytes, rel: str, sub: Submission) -> None:
    found = python_units(raw.decode("utf-8", errors="replace"), rel)
    if isinstance(found, ParseProblem):
        sub.parse_problems.append(found)
    else:
        sub.classes.extend(found)


def python_units(source: str, rel: str) -> list[CodeUnit] | ParseProblem:
    """The classes an import of `source` (as file `rel`) defines, found by AST."""
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        return ParseProblem(rel, exc.lineno, f"syntax error: {exc.msg}")
    except (RecursionError, MemoryError, ValueError):
        return ParseProblem(rel, None, "file too deeply nested to read")
    try:
        units = [_class_unit(node, rel) for node in _module_level_classes(tree.body)]
    except (RecursionError, MemoryError):  # e.g. a 600-term base-class expression
        return ParseProblem(rel, None, "file too deeply nested to read")
    module_names = {u.name for u in units if set(u.bases) & MODULE_BASES}
    changed = True
    while changed:  # subclasses of the student's own nn.Module subclasses are modules too
        changed = False
        for u in units:
            if u.name not in module_names and set(u.bases) & module_names:
                module_names.add(u.name)
                changed = True
    return [CodeUnit(**{**u.__dict__, "is_module": u.name in module_names}) for u in units]


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
