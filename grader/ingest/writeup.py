"""Read what students hand in as prose: writeups converted from PDF (markdown or plain text).

Why this module exists: most students hand in a PDF with their code pasted in. After PDF-to-text
conversion the code arrives in many shapes (fenced blocks, indented blocks, editor screenshots with
line numbers in the margin, listings cut by a page break, statements pasted as plain paragraphs)
and the answers are sentences, LaTeX and tables. This module turns such text into

- `CodeBlock`s with the original line of every code line (so reports can point at the writeup),
- `AssembledSource`s: a module the sandbox can import (`assemble_class`) or run
  (`assemble_script`), with a line map back to the writeup,
- `Section`s found from the problem headings the student used,
- answer candidates: numbers, choices stated in prose, tables (formulas: `grader.ingest.latex`).

Everything here is a pure function over text: nothing is imported from the student and nothing
is executed (only `ast.parse`). Every public function is total: any string is accepted, work is
bounded (`MAX_TEXT_CHARS`, `MAX_LINE_CHARS`, ...), and what cannot be read with confidence is
returned as "nothing" (or with a low confidence) so the grader can make it a pending TA item
instead of failing the student.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import difflib
import html
import itertools
import keyword
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from grader.ingest import budget

__all__ = [
    "AssembledSource",
    "CodeBlock",
    "Section",
    "assemble_class",
    "assemble_script",
    "detect_homework",
    "extract_choices",
    "extract_code_blocks",
    "extract_number_candidates",
    "extract_result_numbers",
    "find_sections",
    "fingerprint_scores",
    "section_text",
    "split_lines",
]

# --- limits ---------------------------------------------------------------------------------
MAX_TEXT_CHARS = 2_000_000
"""Characters of a writeup that are read; the rest is ignored (a real writeup is < 100 kB)."""
MAX_LINE_CHARS = 10_000
"""Longer lines are cut for analysis (a PDF conversion can emit one huge line of base64)."""
MAX_PARSE_CHARS = 300_000
"""`ast.parse` is not attempted on bigger candidate sources."""
MAX_JOIN_LINES = 12
"""Lines merged to complete one bracketed statement pasted as prose."""
MAX_HEADINGS = 1000
"""Headings read from one writeup (a homework has tens; sections are quadratic in them)."""

# Names a writeup's code often uses without importing them (the import was on another page, or
# the student pasted only the class). Added with line_map 0 when used and not bound.
DEFAULT_IMPORTS: dict[str, str] = {
    "torch": "import torch",
    "nn": "import torch.nn as nn",
    "F": "import torch.nn.functional as F",
    "np": "import numpy as np",
    "math": "import math",
    "plt": "import matplotlib.pyplot as plt",
}
_BUILTINS = frozenset(dir(builtins))
_COMPOUND = re.compile(
    r"^(?:async\s+)?(?:for|while|if|elif|else|with|try|except|finally|def|class|match|case)\b"
)


# --- public data --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeBlock:
    """Code found in a writeup.

    `lines` holds (1-based line in the original file, code text). Margin line numbers are already
    stripped and a listing cut by a page break is already joined, so the line numbers can jump.
    `kind`: "fenced", "indented", "numbered" (margin line numbers), "prose" (statements pasted as
    plain paragraphs; indentation is lost there) or "cell" (a notebook code cell).
    `context`: the nearest text line before the block (e.g. "(b) Implement", "* forward >") or the
    file tab a listing screenshot showed ("ddescent.py x"). `notes`: what was repaired or is
    doubtful, in words for a TA.
    """

    lines: tuple[tuple[int, str], ...]
    kind: str
    info: str = ""
    context: str = ""
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(code for _, code in self.lines)

    @property
    def first_line(self) -> int:
        return self.lines[0][0] if self.lines else 0

    @property
    def last_line(self) -> int:
        return self.lines[-1][0] if self.lines else 0


@dataclass(frozen=True)
class AssembledSource:
    """A module built from writeup code, ready to be written to a file for the sandbox.

    `line_map[i]` is the writeup line of generated line i+1 (0 for lines the assembler added,
    such as a default `import torch`). `syntax_error` is None when `source` parses with
    `ast.parse`; otherwise it describes the student's own syntax error (the assembler never
    introduces one), so the grader can report it like a syntax error in a `.py` file.
    """

    source: str
    line_map: tuple[int, ...]
    notes: tuple[str, ...] = ()
    syntax_error: str | None = None
    name: str = ""  # the class name found (may differ from the one asked for) or "" for a script

    def original_line(self, generated_line: int) -> int:
        """Writeup line of a 1-based line of `source` (0: added by the grader or out of range)."""
        if 1 <= generated_line <= len(self.line_map):
            return self.line_map[generated_line - 1]
        return 0


@dataclass(frozen=True)
class Section:
    """A part of the writeup answering one problem (or sub-part): lines start..end inclusive.

    Sub-parts are separate entries nested inside their problem's span ("4" covers "4a" and "4b").
    """

    problem: str
    title: str
    start_line: int
    end_line: int


# --- text helpers -------------------------------------------------------------------------------
def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them (\\n, \\r\\n, \\r), bounded in count and width.

    `str.splitlines` is not used: it also splits on form feeds and U+2028, which would shift the
    line numbers shown to students.
    """
    if not isinstance(text, str):
        return []
    text = text[:MAX_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    return [line[:MAX_LINE_CHARS].replace("\t", "    ") for line in text.split("\n")]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_blank(line: str) -> bool:
    return not line.strip()


def _code_part(line: str) -> str:
    """The line without a trailing comment (rough: ignores '#' inside strings)."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return ""
    if "#" in stripped and "'" not in stripped and '"' not in stripped:
        stripped = stripped.split("#", 1)[0].rstrip()
    return stripped


def _parse(source: str) -> ast.Module | None:
    tree, _ = _parse_with_error(source)
    return tree


def _parse_with_error(source: str) -> tuple[ast.Module | None, SyntaxError | None]:
    """`ast.parse` that never raises and never warns (student strings like "\\l" warn)."""
    if len(source) > MAX_PARSE_CHARS:
        return None, SyntaxError("source too large to parse")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source), None
    except SyntaxError as exc:
        return None, exc
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return None, SyntaxError(f"cannot parse: {type(exc).__name__}")


_INCOMPLETE = (
    "expected an indented block",
    "was never closed",
    "unexpected eof",
    "incomplete input",
    "eof while scanning",
    "unterminated triple-quoted",
)


def _is_incomplete(error: SyntaxError | None) -> bool:
    return error is not None and any(m in str(error.msg).lower() for m in _INCOMPLETE)


_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")


def _unescape(line: str) -> str:
    """Undo markdown escapes and HTML entities a PDF converter adds to text outside code."""
    return html.unescape(_MD_ESCAPE.sub(r"\1", line))


# --- fenced blocks ------------------------------------------------------------------------------
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")


@dataclass
class _Raw:
    """A code block while it is being found and joined (mutable, internal)."""

    kind: str
    lines: list[tuple[int, str]]
    start: int  # 1-based first line of the construct (the opening fence for fenced blocks)
    end: int  # 1-based last line of the construct
    info: str = ""
    context: str = ""
    margins: list[int] | None = None
    notes: list[str] = field(default_factory=list)
    joined: bool = False

    @property
    def text(self) -> str:
        return "\n".join(code for _, code in self.lines)

    def freeze(self) -> CodeBlock:
        return CodeBlock(
            tuple(self.lines), self.kind, self.info, self.context, tuple(dict.fromkeys(self.notes))
        )


def scan_fences(lines: list[str]) -> tuple[list[_Raw], list[bool]]:
    """Fenced blocks and a mask of the lines outside every fence."""
    outside = [True] * len(lines)
    blocks: list[_Raw] = []
    index = 0
    while index < len(lines):
        budget.check()
        match = _FENCE_OPEN.match(lines[index])
        if not match or (match.group(1)[0] == "`" and "`" in match.group(2)):
            index += 1
            continue
        fence = match.group(1)
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        body = [(number + 1, lines[number]) for number in range(index + 1, min(end, len(lines)))]
        for number in range(index, min(end + 1, len(lines))):
            outside[number] = False
        blocks.append(
            _Raw("fenced", body, index + 1, min(end, len(lines) - 1) + 1, match.group(2).strip())
        )
        index = end + 1
    return blocks, outside


# --- listings with line numbers in the margin ---------------------------------------------------
_MARGIN = re.compile(r"^\s*(\d{1,5})(?:([ ]+)(.*))?$")


def _numbered(body: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[int], str] | None:
    """Strip margin numbers if `body` is a numbered listing: (lines, margins, dropped header)."""
    nonblank = [(number, text) for number, text in body if text.strip()]
    hits = [(i, m) for i, (_, text) in enumerate(nonblank) if (m := _MARGIN.match(text))]
    if len(hits) < 3 or len(hits) < 0.6 * len(nonblank):
        return None
    numbers = [int(m.group(1)) for _, m in hits]
    steps = sum(1 for a, b in itertools.pairwise(numbers) if b == a + 1)
    if steps < 0.6 * (len(numbers) - 1):
        return None
    gaps = [len(m.group(2)) for _, m in hits if m.group(2) and m.group(3) and m.group(3).strip()]
    # One space after the number, unless the listing pads every number to a common code column
    # (then the smallest gap is also the most common one: the top-level lines).
    sep = 1
    if gaps and min(gaps) > 1:
        smallest = min(gaps)
        if gaps.count(smallest) >= 0.4 * len(gaps) and gaps.count(smallest) == max(
            gaps.count(g) for g in set(gaps)
        ):
            sep = smallest
    first, last = hits[0][0], hits[-1][0]
    header = " ".join(text.strip() for _, text in nonblank[:first])
    out: list[tuple[int, str]] = []
    margins: list[int] = []
    hit_at = dict(hits)
    for i, (number, text) in enumerate(nonblank):
        if i < first or i > last:
            continue
        match = hit_at.get(i)
        if match is None:  # an editor-wrapped line between numbered lines: same logical line
            if out:
                out[-1] = (out[-1][0], out[-1][1] + " " + text.strip())
            continue
        code = (match.group(2) or "")[sep:] + (match.group(3) or "")
        out.append((number, code.rstrip()))
        margins.append(int(match.group(1)))
    return out, margins, header


# --- code-like lines outside code blocks (prose-pasted code) ------------------------------------
_STRONG = re.compile(
    r"self\.|^\s*(?:import|from)\s+\w|\breturn\b|^\s*def\s|^\s*class\s|^\s*for\s.+\sin\s.+:\s*$"
    r"|^\s*(?:while|if|elif|with)\s.+:\s*$|^\s*(?:else|try|finally)\s*:\s*$|\w\.\w+\s*\("
    r"|\w\[[^\]]+\]|[+\-*/]=|\btorch\b|\bnn\.|\bnp\."
)
_LIST_ITEM = re.compile(r"^(?:[*+>|-]\s|\d+[.)]\s|#)")
_INLINE_CODE_LINE = re.compile(r"^`([^`]+)`$")


def _statement_score(statement: str) -> int:
    """0: not code; 1: parses as a Python statement; 2: unmistakably code (see `_STRONG`)."""
    text = statement.strip()
    if not text or "$" in text or len(text) > 2000 or _LIST_ITEM.match(text):
        return 0
    if text.endswith(":"):
        head = _COMPOUND.match(text)
        if not head:
            return 0
        word = head.group(0).split()[-1]
        if word in ("elif", "else"):
            probe = f"if 1:\n    pass\n{text}\n    pass"
        elif word in ("except", "finally"):
            probe = f"try:\n    pass\n{text}\n    pass"
        elif word == "case":
            return 0
        else:
            probe = f"{text}\n    pass"
    else:
        probe = text
    tree = _parse(probe)
    if tree is None or not tree.body:
        return 0
    statements = [s for s in tree.body if not isinstance(s, ast.Pass)]
    if len(statements) != 1 and not text.endswith(":"):
        return 0
    node = tree.body[0]
    if isinstance(node, ast.AnnAssign):
        return 0  # "Mean: E[y_L] = 0." parses as an annotated assignment
    if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
        return 0  # "a", "4", "ii", "x + y": headings and prose math, not code
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        if isinstance(call.func, ast.Name) and call.func.id not in _BUILTINS:
            return 1 if _STRONG.search(text) else 0  # "Figure(1)"
    return 2 if _STRONG.search(text) else 1


def _bracket_balance(text: str) -> int:
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def _prose_candidate(line: str) -> str:
    text = _unescape(line.strip())
    inline = _INLINE_CODE_LINE.match(text)
    return inline.group(1).strip() if inline else text


def _prose_blocks(lines: list[str], usable: list[bool]) -> list[_Raw]:
    """Runs of statements pasted as paragraphs, broken by any line that is not code."""
    blocks: list[_Raw] = []
    run: list[tuple[int, str]] = []
    scores: list[int] = []
    context = ""
    last_text = ""

    def flush() -> None:
        nonlocal run, scores
        if run and max(scores) == 2:
            blocks.append(_Raw("prose", run, run[0][0], run[-1][0], context=context))
        run, scores = [], []

    index = 0
    while index < len(lines):
        budget.check()
        if not usable[index]:
            flush()
            index += 1
            continue
        line = lines[index]
        if _is_blank(line):
            index += 1
            continue
        candidate = _prose_candidate(line)
        taken = [(index + 1, candidate)]
        balance = _bracket_balance(candidate)
        probe = index + 1
        while balance > 0 and probe < len(lines) and len(taken) < MAX_JOIN_LINES:
            if usable[probe] and not _is_blank(lines[probe]):
                more = _prose_candidate(lines[probe])
                taken.append((probe + 1, more))
                balance += _bracket_balance(more)
            elif not usable[probe]:
                break
            probe += 1
        score = _statement_score("\n".join(text for _, text in taken)) if balance <= 0 else 0
        if score == 0 and len(taken) > 1:
            taken = taken[:1]
            score = _statement_score(candidate)
        if score:
            if not run:
                context = last_text
            run.extend(taken)
            scores.append(score)
            index = taken[-1][0]  # continue after the last merged line
            continue
        flush()
        last_text = line.strip()
        index += 1
    flush()
    return blocks


# --- indented blocks and numbered listings outside fences ---------------------------------------
def _looks_like_code(body: list[tuple[int, str]]) -> bool:
    text = "\n".join(code for _, code in body)
    if _parse(text) is not None:
        return any(_STRONG.search(code) for _, code in body)
    nonblank = [code for _, code in body if code.strip()]
    return bool(nonblank) and all(_statement_score(code) for code in nonblank)


def _indented_blocks(lines: list[str], usable: list[bool]) -> list[_Raw]:
    blocks: list[_Raw] = []
    index = 0
    while index < len(lines):
        budget.check()
        starts = (
            usable[index]
            and not _is_blank(lines[index])
            and _indent(lines[index]) >= 4
            and (index == 0 or _is_blank(lines[index - 1]))
        )
        if not starts:
            index += 1
            continue
        end = index
        while (
            end < len(lines) and usable[end] and (_is_blank(lines[end]) or _indent(lines[end]) >= 4)
        ):
            end += 1
        body = [(n + 1, lines[n]) for n in range(index, end)]
        while body and _is_blank(body[-1][1]):
            body.pop()
        margin = min(_indent(text) for _, text in body if text.strip())
        body = [(n, text[margin:].rstrip()) for n, text in body]
        nonblank = [t for _, t in body if t.strip()]
        single = len(nonblank) == 1 and _statement_score(nonblank[0]) > 0
        if single or (len(nonblank) >= 2 and _looks_like_code(body)):
            blocks.append(_Raw("indented", body, body[0][0], body[-1][0]))
            for n in range(index, end):
                usable[n] = False
        index = max(end, index + 1)
    return blocks


def _numbered_outside(lines: list[str], usable: list[bool]) -> list[_Raw]:
    blocks: list[_Raw] = []
    index = 0
    while index < len(lines):
        budget.check()
        if not (usable[index] and _MARGIN.match(lines[index]) and lines[index].strip()):
            index += 1
            continue
        end = index
        while (
            end < len(lines)
            and usable[end]
            and (_is_blank(lines[end]) or _MARGIN.match(lines[end]))
        ):
            end += 1
        body = [(n + 1, lines[n]) for n in range(index, end)]
        found = _numbered(body)
        if found and any(_STRONG.search(c) for _, c in found[0]):
            code, margins, _ = found
            blocks.append(_Raw("numbered", code, index + 1, end, margins=margins))
            for n in range(index, end):
                usable[n] = False
        index = max(end, index + 1)
    return blocks


# --- joining listings cut by a page break -------------------------------------------------------
def _between_is_blank(lines: list[str], first: _Raw, second: _Raw) -> bool:
    return all(_is_blank(lines[n - 1]) for n in range(first.end + 1, second.start))


def _last_code_line(raw: _Raw) -> tuple[int, str] | None:
    for number, code in reversed(raw.lines):
        if _code_part(code):
            return number, code
    return None


def _first_code_line(raw: _Raw) -> tuple[int, str] | None:
    for number, code in raw.lines:
        if _code_part(code):
            return number, code
    return None


def _open_headers(raw: _Raw) -> list[tuple[int, str]]:
    """Compound headers still open at the end of `raw`, innermost last: (indent, header line)."""
    last = _last_code_line(raw)
    if last is None:
        return []
    opened: list[tuple[int, str]] = []
    if _code_part(last[1]).endswith(":") and _COMPOUND.match(last[1].strip()):
        opened.append((_indent(last[1]), last[1].strip()))
    level = _indent(last[1])
    for _, code in reversed(raw.lines):
        part = _code_part(code)
        if not part or _indent(code) >= level:
            continue
        if part.endswith(":") and _COMPOUND.match(part):
            opened.append((_indent(code), part))
        level = _indent(code)
        if level == 0:
            break
    opened.reverse()
    return opened


def _method_run(lines: list[tuple[int, str]], base: int) -> int:
    """How many leading lines of a resumed listing belong to a class body cut by a page break."""
    count = 0
    for _, code in lines:
        stripped = code.strip()
        method = re.match(r"^(?:@|def\s|async\s+def\s|#)", stripped)
        if stripped and _indent(code) <= base and not method:
            break
        count += 1
    return count


def _join(first: _Raw, second: _Raw, lines: list[str]) -> _Raw | None:
    """`first` + `second` if `second` continues `first` after a page break, else None."""
    if first.margins and second.margins:
        last = first.margins[-1]
        if not last - 2 <= second.margins[0] <= last + 1 or second.margins[0] < 2:
            return None
        merged = list(zip(first.lines, first.margins, strict=True))
        for line, margin in zip(second.lines, second.margins, strict=True):
            if margin <= last:  # the line repeated at the top of the next page
                continue
            merged.append((line, margin))
        joined = _Raw(
            "numbered",
            [line for line, _ in merged],
            first.start,
            second.end,
            first.info,
            first.context,
            [margin for _, margin in merged],
            [*first.notes, *second.notes],
        )
        joined.notes.append(
            f"listing lines {first.lines[0][0]}-{first.end} and {second.start}-{second.end} joined "
            f"by their margin numbers ({last} -> {second.margins[0]})"
        )
        return joined
    if first.margins or second.margins or first.kind != "fenced" or second.kind != "fenced":
        return None
    if not _between_is_blank(lines, first, second):
        return None
    head, tail = _last_code_line(first), _first_code_line(second)
    if head is None or tail is None:
        return None
    first_tree, first_error = _parse_with_error(first.text)
    second_tree, second_error = _parse_with_error(second.text)
    incomplete = _is_incomplete(first_error)
    resumes_indented = _indent(tail[1]) > 0 and second_error is not None
    cut_inside = _indent(head[1]) > 0 and first_tree is not None and second_tree is not None
    if not (incomplete or resumes_indented or cut_inside):
        return None
    notes = [*first.notes, *second.notes]
    body2 = list(second.lines)
    opened = _open_headers(first)
    classes = [(ind, h) for ind, h in opened if h.startswith("class ")]
    where = f"line {head[0]} / line {tail[0]}"
    if (
        classes
        and _indent(tail[1]) <= classes[-1][0]
        and re.match(r"^(?:@|(?:async\s+)?def\s+\w+\s*\(\s*self\b)", tail[1].strip())
    ):
        base = _indent(tail[1])
        shift = classes[-1][0] + 4 - base
        count = _method_run(body2, base)
        repaired = [(n, " " * shift + c if c.strip() else c) for n, c in body2[:count]]
        candidate = first.lines + repaired + body2[count:]
        if _parse("\n".join(c for _, c in candidate)) is not None or incomplete:
            body2 = repaired + body2[count:]
            notes.append(
                f"the listing is cut by a page break inside `{classes[-1][1]}` ({where}) and "
                f"resumes at column {base} with a method: lines {body2[0][0]}-"
                f"{body2[count - 1][0]} were re-indented by {shift} spaces into the class"
            )
    elif cut_inside and _indent(tail[1]) == 0 and opened:
        notes.append(
            f"the listing is cut by a page break inside `{opened[-1][1]}` ({where}) and resumes "
            "at column 0: if the page break lost the indentation, the resumed lines belong "
            "inside it (kept as written; a TA should check)"
        )
    joined = _Raw("fenced", first.lines + body2, first.start, second.end, first.info, first.context)
    joined.notes = [*notes, f"blocks joined across a page break ({where})"]
    joined.joined = True
    return joined


def _join_pages(raws: list[_Raw], lines: list[str]) -> list[_Raw]:
    out: list[_Raw] = []
    for raw in raws:
        joined = _join(out[-1], raw, lines) if out else None
        if joined is None:
            out.append(raw)
        else:
            out[-1] = joined
    return out


def _context_before(lines: list[str], start: int, outside: list[bool]) -> str:
    """The nearest non-blank prose line before 1-based line `start` (for labels like '(b)')."""
    for n in range(start - 2, max(start - 8, -1), -1):
        if outside[n] and lines[n].strip():
            return _unescape(lines[n].strip())[:120]
    return ""


# --- public: code blocks ------------------------------------------------------------------------
def extract_code_blocks(text: str) -> list[CodeBlock]:
    """Every piece of code in a writeup, in order, with original line numbers.

    Fenced blocks (any info string), indented blocks, listings with margin line numbers (stripped;
    listings cut by a page break are joined by their numbers, dropping the line repeated at the
    top of the next page), fenced blocks cut by a page break (the first ends mid-statement, or the
    second resumes indented, or the first ends inside an indented body) and statements pasted as
    plain paragraphs ("prose", e.g. one statement per paragraph). Prose lines never become code:
    outside fences a line is code only if it parses as a Python statement, and a run of such lines
    must contain unmistakable code (`self.`, `import`, a method call, ...).
    """
    lines = split_lines(text)
    fenced, outside = scan_fences(lines)
    for raw in fenced:
        raw.context = _context_before(lines, raw.start, outside)
        found = _numbered(raw.lines)
        if found is not None:
            raw.lines, raw.margins, header = found
            raw.kind = "numbered"
            if header:
                raw.context = header[:120]
        else:
            while raw.lines and _is_blank(raw.lines[0][1]):
                raw.lines.pop(0)
            while raw.lines and _is_blank(raw.lines[-1][1]):
                raw.lines.pop()
    usable = list(outside)
    others = _indented_blocks(lines, usable)
    others += _numbered_outside(lines, usable)
    for raw in others:
        raw.context = _context_before(lines, raw.start, outside)
    others += _prose_blocks(lines, usable)
    everything = sorted([r for r in fenced if r.lines] + others, key=lambda r: r.start)
    joined = _join_pages(everything, lines)
    for raw in joined:
        if raw.joined:
            _, error = _parse_with_error(raw.text)
            if error is not None:
                where = error.lineno or 0
                line = raw.lines[where - 1][0] if 0 < where <= len(raw.lines) else 0
                raw.notes.append(f"the joined listing does not parse ({error.msg}, line {line})")
    return [raw.freeze() for raw in joined if raw.lines]


# --- assembling modules -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Unit:
    """A top-level statement of a block (class, def, import, assignment, other)."""

    block: int
    lines: tuple[tuple[int, str], ...]
    kind: str
    defines: frozenset[str]
    uses: frozenset[str]


def _units(block_index: int, block: CodeBlock) -> list[_Unit]:
    """Split a block into top-level statements by indentation (works on code that won't parse)."""
    groups: list[list[tuple[int, str]]] = []
    balance = 0
    for number, code in block.lines:
        starts = code.strip() and _indent(code) == 0 and balance <= 0
        if starts and not code.lstrip().startswith(("#", ")", "]", "}")):
            groups.append([])
        if groups:
            groups[-1].append((number, code))
        balance = max(balance + _bracket_balance(_code_part(code)), 0) if code.strip() else balance
    units: list[_Unit] = []
    for group in groups:
        while group and not _code_part(group[-1][1]):
            group.pop()
        if not group:
            continue
        text = "\n".join(code for _, code in group)
        head = group[0][1].strip()
        defines, uses = _names(text)
        if head.startswith(("import ", "from ")):
            kind = "import"
        elif re.match(r"^(?:@|class\s|(?:async\s+)?def\s)", head):
            definition = next(
                (c.strip() for _, c in group if not c.strip().startswith(("@", "#"))), ""
            )
            kind = "class" if definition.startswith("class") else "def"
        elif re.match(r"^[A-Za-z_][\w, ]*=(?!=)", head):
            kind = "assign"
        else:
            kind = "other"
        units.append(_Unit(block_index, tuple(group), kind, defines, uses))
    return units


def _names(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """(names bound at the top level, names read anywhere) of `source`; regex if it won't parse."""
    tree = _parse(source)
    if tree is None:
        found = set(re.findall(r"\b[A-Za-z_]\w*\b", source)) - set(keyword.kwlist)
        head = re.match(r"^\s*(?:class|def)\s+(\w+)", source)
        guessed = {head.group(1)} if head else set()
        guessed |= set(re.findall(r"^([A-Za-z_]\w*)\s*=(?!=)", source, flags=re.M))
        return frozenset(guessed), frozenset(found)
    bound: set[str] = set()
    for node in tree.body:
        bound |= _bound_by(node)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return frozenset(bound), frozenset(used)


def _bound_by(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module namespace (also inside for/if/with)."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            if sub is not node:
                names |= {sub.name} if not isinstance(sub, ast.Lambda) else set()
            continue
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    return names


def _free_names(source: str) -> set[str]:
    """Names read by `source` that it does not bind anywhere (parameters, locals, imports)."""
    tree = _parse(source)
    if tree is None:
        return set(re.findall(r"\b[A-Za-z_]\w*\b", source)) - set(keyword.kwlist) - _BUILTINS
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound - _BUILTINS


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_CLASS_LINE = re.compile(r"^(\s*)class\s+([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*:")


def _class_starts(blocks: Sequence[CodeBlock]) -> list[tuple[int, int, str, str]]:
    """(block index, line index, class name, bases text) of every class line."""
    found = []
    for b, block in enumerate(blocks):
        for i, (_, code) in enumerate(block.lines):
            match = _CLASS_LINE.match(code)
            if match:
                found.append((b, i, match.group(2), match.group(3) or ""))
    return found


def _pick_class(blocks: Sequence[CodeBlock], class_name: str) -> tuple[int, int, str] | None:
    """The class to grade: the last exact definition, else the closest nn.Module near-miss."""
    starts = _class_starts(blocks)
    exact = [(b, i, name) for b, i, name, _ in starts if name == class_name]
    if exact:
        return exact[-1]
    target = _normalise_name(class_name)
    best: tuple[float, tuple[int, int, str]] | None = None
    for b, i, name, bases in starts:
        if "Module" not in bases:
            continue
        candidate = _normalise_name(name)
        score = difflib.SequenceMatcher(None, target, candidate).ratio()
        if candidate and (candidate in target or target in candidate):
            score = max(score, 0.8)
        if score >= 0.75 and (best is None or score >= best[0]):
            best = (score, (b, i, name))
    return best[1] if best else None


def _class_extent(block: CodeBlock, start: int) -> list[tuple[int, str]]:
    """The class statement starting at line index `start`, by indentation (trailing blanks cut)."""
    base = _indent(block.lines[start][1])
    taken = [block.lines[start]]
    for number, code in block.lines[start + 1 :]:
        if code.strip() and _indent(code) <= base:
            if code.strip().startswith("#"):
                taken.append((number, code))
                continue
            break
        taken.append((number, code))
    while len(taken) > 1 and not _code_part(taken[-1][1]):
        taken.pop()
    return [(n, c[base:] if c[:base].strip() == "" else c.lstrip()) for n, c in taken]


def _import_units(blocks: Sequence[CodeBlock]) -> list[_Unit]:
    units = []
    for b, block in enumerate(blocks):
        units += [u for u in _units(b, block) if u.kind == "import"]
    return units


def _compose(
    parts: Iterable[Sequence[tuple[int, str]]], header: list[str]
) -> tuple[str, tuple[int, ...]]:
    lines: list[tuple[int, str]] = [(0, h) for h in header]
    for part in parts:
        if not part:
            continue
        if lines and lines[-1][1].strip():
            lines.append((0, ""))
        lines.extend(part)
    return "\n".join(c for _, c in lines) + "\n", tuple(n for n, _ in lines)


def _imports_and_header(
    needed: set[str], blocks: Sequence[CodeBlock]
) -> tuple[list[tuple[tuple[int, str], ...]], list[str]]:
    """Import statements from any block that bind a needed name, plus default imports."""
    chosen: list[tuple[tuple[int, str], ...]] = []
    seen_text: set[str] = set()
    bound: set[str] = set()
    for unit in _import_units(blocks):
        text = "\n".join(c for _, c in unit.lines)
        if unit.defines & needed and text not in seen_text and _parse(text) is not None:
            chosen.append(unit.lines)
            seen_text.add(text)
            bound |= unit.defines
    header = [line for name, line in DEFAULT_IMPORTS.items() if name in needed - bound]
    return chosen, header


def _flat(parts: Sequence[Sequence[tuple[int, str]]]) -> list[tuple[int, str]]:
    return [line for part in parts for line in part]


def _finish(source: str, line_map: tuple[int, ...], notes: list[str], name: str) -> AssembledSource:
    _, error = _parse_with_error(source)
    message = None
    if error is not None:
        generated = error.lineno or 0
        original = line_map[generated - 1] if 1 <= generated <= len(line_map) else 0
        where = f" at writeup line {original}" if original else ""
        message = f"{error.msg}{where}"
    return AssembledSource(source, line_map, tuple(dict.fromkeys(notes)), message, name)


def assemble_class(blocks: list[CodeBlock], class_name: str) -> AssembledSource | None:
    """A module defining `class_name` from writeup code, or None if it is not there.

    Takes the last block defining `class <class_name>` (or an nn.Module under a near-miss name,
    noted), the helper classes/functions/constants it uses from any block, the imports it needs
    from any block, and default imports (`DEFAULT_IMPORTS`, line_map 0) for names like `torch`
    or `nn` that it uses without importing. The student's code is copied as written: indentation
    bugs stay bugs (a `forward` nested in `__init__` stays nested). Code pasted as prose is
    rebuilt into a class only when that is unambiguous (see `_class_from_prose`).
    """
    blocks = [b for b in blocks if isinstance(b, CodeBlock) and b.lines]
    if not isinstance(class_name, str) or not class_name.isidentifier():
        return None
    picked = _pick_class(blocks, class_name)
    if picked is None:
        return _class_from_prose(blocks, class_name)
    b, i, name = picked
    notes = list(blocks[b].notes)
    if name != class_name:
        notes.append(f"no class named {class_name}; graded {name} instead (near-miss name)")
    target = _class_extent(blocks[b], i)
    target_text = "\n".join(c for _, c in target)
    helpers: list[_Unit] = []
    all_units = [u for k, block in enumerate(blocks) for u in _units(k, block)]
    candidates = [
        u for u in all_units if u.kind in ("class", "def", "assign") and name not in u.defines
    ]
    wanted = _free_names(target_text)
    changed = True
    while changed:
        changed = False
        for unit in candidates:
            if unit in helpers or not unit.defines & wanted:
                continue
            helpers.append(unit)
            wanted |= _free_names("\n".join(c for _, c in unit.lines))
            changed = True
    helpers.sort(key=lambda u: u.lines[0][0])
    imports, header = _imports_and_header(wanted, blocks)
    if header:
        notes.append("added imports the code uses without importing: " + "; ".join(header))
    source, line_map = _compose([_flat(imports), *(u.lines for u in helpers), target], header)
    return _finish(source, line_map, notes, name)


_INIT_LABEL = re.compile(r"__init__|\binit\b|constructor", re.I)
_FORWARD_LABEL = re.compile(r"\bforward\b", re.I)


def _class_from_prose(blocks: list[CodeBlock], class_name: str) -> AssembledSource | None:
    """Rebuild a class from statements pasted as prose under 'init' / 'forward' labels.

    Only when unambiguous: exactly one block labelled init and one labelled forward, no compound
    statement (a pasted `for ...:` loses the indentation that says which lines are its body), the
    forward part ends with `return`, and the forward input is one obvious name.
    """
    prose = [b for b in blocks if b.kind == "prose"]
    inits = [b for b in prose if _INIT_LABEL.search(b.context)]
    forwards = [b for b in prose if _FORWARD_LABEL.search(b.context)]
    if len(inits) != 1 or len(forwards) != 1:
        return None
    init, forward = inits[0], forwards[0]
    statements = [c for _, c in init.lines + forward.lines if c.strip()]
    if any(_code_part(c).endswith(":") for c in statements):
        return None
    if not forward.lines or not forward.lines[-1][1].strip().startswith("return"):
        return None
    forward_text = "\n".join(c.strip() for _, c in forward.lines)
    if _parse(forward_text.replace("return", "_ =", 1)) is None:
        return None
    inputs = _free_names(forward_text.replace("return", "_ =")) - {"self"} - set(DEFAULT_IMPORTS)
    if len(inputs) != 1:
        return None
    (argument,) = inputs
    body_init = [(n, "        " + c.strip()) for n, c in init.lines if c.strip()]
    body_forward = [(n, "        " + c.strip()) for n, c in forward.lines if c.strip()]
    lines = [(0, f"class {class_name}(nn.Module):"), (0, "    def __init__(self):")]
    if not any("super(" in c for _, c in init.lines):
        lines.append((0, "        super().__init__()"))
    lines += [*body_init, (0, f"    def forward(self, {argument}):"), *body_forward]
    text = "\n".join(c for _, c in lines)
    imports, header = _imports_and_header(_free_names(text) | {"nn"}, blocks)
    source, line_map = _compose([_flat(imports), lines], header)
    notes = [
        f"class {class_name} rebuilt from code pasted as plain text (lines "
        f"{init.first_line}-{forward.last_line}): the class, def and super().__init__() lines "
        "were added by the grader"
    ]
    return _finish(source, line_map, notes, class_name)


def assemble_script(blocks: list[CodeBlock], must_define: list[str]) -> AssembledSource | None:
    """The blocks forming a script that assigns every name in `must_define`, in order.

    The window from the first to the last block defining those names, plus earlier blocks that
    define names the window reads (data set-up on an earlier page or cell), plus later blocks
    that read a `must_define` name (the plotting). Blocks that are not Python (printed output)
    are skipped unless needed. None when some name is assigned nowhere.
    """
    blocks = [b for b in blocks if isinstance(b, CodeBlock) and b.lines]
    wanted = [n for n in must_define if isinstance(n, str)] if must_define else []
    if not wanted or not blocks:
        return None
    info = []
    for block in blocks:
        tree = _parse(block.text)
        if tree is not None:
            bound: set[str] = set()
            for node in tree.body:
                bound |= _bound_by(node)
            info.append((True, bound, _free_names(block.text)))
        else:
            defines, _ = _names(block.text)
            info.append((False, set(defines), _free_names(block.text)))
    first_def: dict[str, int] = {}
    for name in wanted:
        hits = [k for k, (_, bound, _) in enumerate(info) if name in bound]
        if not hits:
            return None
        first_def[name] = hits[0]
    lo, hi = min(first_def.values()), max(first_def.values())
    chosen = {k for k in range(lo, hi + 1) if info[k][0] or k in first_def.values()}
    # the blocks after the window that use what it defines (the training loop, the plotting)
    # come first: what they read from earlier blocks (the step size, the data) is looked up too
    for k in range(hi + 1, len(blocks)):
        if not info[k][0] or not info[k][2] & set(wanted):
            break
        chosen.add(k)
    changed = True
    while changed:
        changed = False
        needed = set().union(*(info[k][2] for k in chosen)) - set().union(
            *(info[k][1] for k in chosen)
        )
        for name in sorted(needed):
            earlier = [
                k for k in range(lo) if k not in chosen and info[k][0] and name in info[k][1]
            ]
            if earlier:
                chosen.add(earlier[-1])
                changed = True
    order = sorted(chosen)
    notes = [note for k in order for note in blocks[k].notes]
    bound_all = set().union(*(info[k][1] for k in order))
    free_all = set().union(*(info[k][2] for k in order)) - bound_all
    _, header = _imports_and_header(free_all, [])  # imports in other blocks joined the window
    if header:
        notes.append("added imports the code uses without importing: " + "; ".join(header))
    source, line_map = _compose([blocks[k].lines for k in order], header)
    return _finish(source, line_map, notes, "")


# --- sections -----------------------------------------------------------------------------------
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"]
_SUB = r"(?:[a-h]|i{1,3}|iv|vi{0,3}|ix|x)"
_KEYWORD_HEADING = re.compile(
    r"^\s*(?P<hashes>\#{1,6})?\s*(?P<bold>\*\*|__)?\s*"
    # "# Homework 4, problem 7" / "# HW4 Problem 7": the homework's own number is no problem's
    r"(?:(?:homework|hw)\s*\d{1,2}\s*[,:.\-–—]?\s*)?"
    r"(?P<kw>problem|question|exercise|task|prob\.|q|p)\s*\#?\s*(?P<num>\d{1,3})(?!\d)"
    rf"(?:\s*[.\-]?\s*\(?(?P<sub>{_SUB})\)?(?![a-z]))?"
    r"\s*(?:\*\*|__)?\s*(?P<punct>[:.)\-–—])?\s*(?P<title>.*)$",
    re.I,
)
_NUMBER_HEADING = re.compile(
    r"^\s*(?P<hashes>\#{1,6})\s*(?:\*\*)?\s*(?P<nums>\d{1,3}(?:\s*[,&]\s*\d{1,3})*)(?!\d)"
    r"(?:\s*[.(]?\s*(?P<sub>[a-h])\)?(?![A-Za-z]))?\s*(?:\*\*)?\s*[.:)\-–—]?\s*(?P<title>.*)$"
)
_BARE_NUMBER = re.compile(
    r"^\s*(?:\*\*)?(?P<num>\d{1,2})\s*(?:\(?(?P<sub>[a-h])\))?[.)]?(?:\*\*)?\s*$"
)
_SUB_HEADING = re.compile(
    rf"^\s*(?P<hashes>\#{{1,6}}\s*)?(?:\*\*)?\s*(?:\(|<)?(?P<sub>{_SUB})(?:\)|>)?[.)]?"
    r"(?:\*\*)?\s*$"
)
_SUB_TITLED = re.compile(
    rf"^\s*(?:\#{{1,6}}\s*)?(?:\*\*)?\s*(?:\((?P<sub>{_SUB})\)|(?P<sub2>[a-h])[.)]"
    rf"|part\s*\(?(?P<sub3>[a-h])\)?(?![a-z])[:.)]?)"
    r"\s*(?:\*\*)?\s*(?P<title>[^$]{0,60})$",
    re.I,
)
_ANY_HEADING = re.compile(r"^\s*(\#{1,6})\s+\S")


@dataclass
class _Heading:
    line: int
    kind: str  # "problem" | "sub" | "end"
    problem: str = ""
    sub: str = ""
    title: str = ""
    level: int = 2


def _clean_title(title: str) -> str:
    return re.sub(r"^[\s*_:.\-–—]+|[\s*_:]+$", "", title).strip()


def _keyword_heading(line: str) -> _Heading | None:
    match = _KEYWORD_HEADING.match(line)
    if not match:
        return None
    title = _clean_title(match.group("title"))
    kw = match.group("kw").lower()
    marked = match.group("hashes") or match.group("bold") or match.group("punct")
    if kw == "q" and not (marked or not title):
        return None
    if kw == "p" and not (match.group("hashes") or match.group("bold")):
        return None  # "P7" is a problem only as a marked heading ("## P7"), never in prose
    if not (marked or not title or len(line.strip()) <= 40):
        return None
    level = len(match.group("hashes")) if match.group("hashes") else 2
    sub = (match.group("sub") or "").lower()
    return _Heading(0, "problem", match.group("num").lstrip("0") or "0", sub, title, level)


def _sub_of(line: str) -> tuple[str, str] | None:
    match = _SUB_HEADING.match(line)
    if match:
        return match.group("sub").lower(), ""
    match = _SUB_TITLED.match(line)
    if match:
        sub = match.group("sub") or match.group("sub2") or match.group("sub3")
        return sub.lower(), _clean_title(match.group("title"))
    return None


def _sub_order(sub: str, previous: str, style: str) -> tuple[bool, str]:
    """Is `sub` a plausible next sub-part after `previous`? Returns (ok, style letter|roman)."""
    if sub in _ROMAN and not (style == "letter" and previous == "h" and sub == "i"):
        if style in ("", "roman") and (not previous or _ROMAN.index(sub) > _ROMAN.index(previous)):
            return True, "roman"
        if style == "letter" and len(sub) == 1 and sub > previous:
            return True, "letter"
        return False, style
    if len(sub) == 1 and style in ("", "letter") and (not previous or sub > previous):
        return True, "letter"
    return False, style


MAX_HEADING_CHARS = 300
"""Characters of a line the heading patterns look at: a heading is its line's start."""


def _heading_view(line: str) -> str:
    """The line as the heading patterns see it: whitespace runs squashed to one space, cut to
    `MAX_HEADING_CHARS`. The patterns chain optional parts each wrapped in `\\s*`, which
    backtracks polynomially over a run of blanks (50 spaces took milliseconds, a 10,000-space
    line forever); with every run one character long their work is linear in the line."""
    return " ".join(line.split())[:MAX_HEADING_CHARS]


def _headings(raw_lines: list[str], outside: list[bool]) -> list[_Heading]:
    lines = [_heading_view(line) for line in raw_lines]
    keyword_mode = False
    for i, line in enumerate(lines):
        budget.check()
        if outside[i] and _keyword_heading(line) is not None:
            keyword_mode = True
            break
    found: list[_Heading] = []
    last_number = 0
    current: str | None = None
    sub_prev, sub_style = "", ""
    sub_count = 0
    for index, line in enumerate(lines):
        budget.check()
        if not outside[index] or not line.strip():
            continue
        if len(found) >= MAX_HEADINGS:
            break
        number = index + 1
        blank_around = (index == 0 or not lines[index - 1].strip()) and (
            index + 1 >= len(lines) or not lines[index + 1].strip()
        )
        heading = _keyword_heading(line) if keyword_mode else None
        problems: list[_Heading] = []
        if heading:
            problems = [heading]
        elif (match := _NUMBER_HEADING.match(line)) is not None:
            nums = [n.lstrip("0") or "0" for n in re.split(r"\s*[,&]\s*", match.group("nums"))]
            title = _clean_title(match.group("title"))
            level = len(match.group("hashes"))
            if keyword_mode:
                if current is not None:
                    sub_count += 1
                    found.append(_Heading(number, "sub", current, f".{nums[0]}", title, level))
                continue
            sub = (match.group("sub") or "").lower()
            problems = [_Heading(number, "problem", n, sub, title, level) for n in nums]
        elif not keyword_mode and blank_around and (match := _BARE_NUMBER.match(line)):
            value = int(match.group("num"))
            if value > last_number and value <= 50:
                problems = [
                    _Heading(number, "problem", str(value), (match.group("sub") or "").lower())
                ]
        if problems:
            for heading in problems:
                heading.line = number
                found.append(heading)
                current = heading.problem
                if heading.problem.isdigit():
                    last_number = max(last_number, int(heading.problem))
                sub_prev, sub_style = "", ""
                if heading.sub:
                    ok, sub_style = _sub_order(heading.sub, "", "")
                    sub_prev = heading.sub
            continue
        letter = re.match(r"^\s*\#{1,6}\s*(?P<letter>[A-Z])\s*$", line)
        if letter and not keyword_mode:
            found.append(_Heading(number, "problem", letter.group("letter"), level=line.count("#")))
            current = letter.group("letter")
            sub_prev, sub_style = "", ""
            continue
        sub = _sub_of(line) if current is not None else None
        if sub is not None and (blank_around or sub[1] or line.lstrip().startswith(("#", "*"))):
            ok, style = _sub_order(sub[0], sub_prev, sub_style)
            if ok:
                sub_prev, sub_style = sub[0], style
                found.append(_Heading(number, "sub", current or "", sub[0], sub[1]))
                continue
        other = _ANY_HEADING.match(line)
        if other:
            found.append(_Heading(number, "end", level=len(other.group(1))))
    return found


def find_sections(text: str) -> list[Section]:
    """Problem and sub-part sections from the headings the writeup uses.

    Problems: "## 1", "#1.", "# 4", "### Question 6 – ...", "Problem 4", "**Problem 2:**", "Q3",
    "4" alone on a line (numbers must increase, so page numbers are not taken), "## 6,7" (two
    problems, one span), "## A" (appendix). Sub-parts inside a problem: "a", "(b) Implement",
    "**b**", "#### i", "ii", "a. Part A", "Part (c)", "## 4(b)"; letters and roman numerals must
    run in order. When the writeup uses keyword headings (Question/Problem), numbered headings
    inside a problem are its sub-parts ("2.1"). A problem ends at the next problem or at a
    non-problem markdown heading of the same or a higher level ("## References").
    """
    lines = split_lines(text)
    _, outside = scan_fences(lines)
    headings = _headings(lines, outside)
    last_line = len(lines)
    while last_line > 1 and not lines[last_line - 1].strip():
        last_line -= 1
    sections: list[Section] = []
    problems = [h for h in headings if h.kind == "problem"]
    subs = [h for h in headings if h.kind == "sub"]
    sub_lines = [h.line for h in subs]
    # Where each problem ends, in one backward pass: the first later heading that is a problem
    # on a later line, or an "end" heading at its level or higher. A scan per problem made
    # 700,000 one-line headings take hours.
    ends: dict[int, int] = {}
    nearest: int | None = None  # line of the nearest problem heading below
    beyond: int | None = None  # line of the nearest problem heading below `nearest`'s line
    next_end: list[int | None] = [None] * 7  # per level, the nearest "end" heading below
    for position in range(len(headings) - 1, -1, -1):
        head = headings[position]
        budget.check()
        if head.kind == "problem":
            # problems on one line ("## 6,7") do not end each other
            stop = nearest if nearest is not None and nearest > head.line else beyond
            stops = [stop] if stop is not None else []
            stops += [n for n in next_end[1 : min(head.level, 6) + 1] if n is not None]
            ends[position] = min(stops) - 1 if stops else last_line
            if nearest is None or head.line < nearest:
                beyond, nearest = nearest, head.line
        elif head.kind == "end":
            next_end[min(head.level, 6)] = head.line
    for position, head in enumerate(headings):
        if head.kind != "problem":
            continue
        budget.check()
        end = _trim(lines, head.line, ends[position])
        label = head.problem + head.sub
        sections.append(Section(label, head.title, head.line, end))
        first, last = (bisect.bisect_right(sub_lines, n) for n in (head.line, end))
        mine = [h for h in subs[first:last] if h.problem == head.problem]
        for k, sub in enumerate(mine):
            sub_end = mine[k + 1].line - 1 if k + 1 < len(mine) else end
            sections.append(
                Section(
                    head.problem + sub.sub, sub.title, sub.line, _trim(lines, sub.line, sub_end)
                )
            )
    bare = {h.problem for h in problems if not h.sub}
    parts_of: dict[str, list[Section]] = {}
    for section in sections:
        label = section.problem
        for cut in range(1, len(label)):
            if label[cut:].isalpha():
                parts_of.setdefault(label[:cut], []).append(section)
    for number in dict.fromkeys(h.problem for h in problems if h.sub):
        # "**Q4 (a)**", "**Q4 (b)**" with no "Q4" heading: the parent spans its sub-parts
        if number not in bare:
            parts = parts_of.get(number, [])
            if parts:
                start = min(s.start_line for s in parts)
                sections.append(Section(number, "", start, max(s.end_line for s in parts)))
    sections.sort(key=lambda s: (s.start_line, -s.end_line))
    unique: dict[tuple[str, int], Section] = {}
    for section in sections:
        unique.setdefault((section.problem, section.start_line), section)
    return list(unique.values())


def _trim(lines: list[str], start: int, end: int) -> int:
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end


def section_text(text: str, section: Section) -> str:
    """The lines of `section`, for the answer extractors (pass `section.start_line` as offset)."""
    lines = split_lines(text)
    return "\n".join(lines[section.start_line - 1 : section.end_line])


# --- homework detection -------------------------------------------------------------------------
_HOMEWORK = re.compile(
    r"(?<![A-Za-z])(?:home\s*work|hw|assignment|problem\s*set|pset)\s*[#:.\-_]?\s*(\d{1,2})(?!\d)",
    re.I,
)


def fingerprint_scores(text: str, fingerprints: dict[str, Sequence[str]]) -> dict[str, int]:
    """Per homework, how many of the names only its answers contain appear in `text`."""
    lowered = text.lower()
    return {
        hw: sum(1 for s in set(marks) if isinstance(s, str) and s and s.lower() in lowered)
        for hw, marks in fingerprints.items()
        if isinstance(marks, list | tuple | set | frozenset)
    }


def detect_homework(
    text: str, fingerprints: dict[str, Sequence[str]] | None = None
) -> tuple[str | None, float]:
    """("hw6", confidence) from "Homework 6", "HW 6", "HW6" in the title area, or from content.

    A mention in the first 15 lines or in a heading decides (other homeworks are often cited in
    the body: "the result of HW4"); body mentions alone give a lower confidence. `fingerprints`
    maps homework ids to strings only that homework's answers contain (class names, script names,
    problem titles, e.g. {"hw6": ["STMConvLayer", "ddescent"]}): they confirm a title or, without
    one, identify the homework. Returns (None, 0.0) when nothing points anywhere.
    """
    lines = split_lines(text)
    title_votes: dict[str, int] = {}
    body_votes: dict[str, int] = {}
    for index, line in enumerate(lines):
        budget.check()
        for match in _HOMEWORK.finditer(line):
            hw = f"hw{int(match.group(1))}"
            votes = title_votes if index < 15 or line.lstrip().startswith("#") else body_votes
            votes[hw] = votes.get(hw, 0) + 1
    guess: str | None = None
    confidence = 0.0
    if title_votes:
        guess = max(title_votes, key=lambda k: (title_votes[k], body_votes.get(k, 0)))
        confidence = 0.9 if len(title_votes) == 1 else 0.6
    elif body_votes:
        guess = max(body_votes, key=lambda k: body_votes[k])
        confidence = 0.5 * body_votes[guess] / sum(body_votes.values())
    if fingerprints:
        scores = fingerprint_scores("\n".join(lines), fingerprints)
        best = max(scores, key=lambda k: scores[k], default=None)
        if best is not None and scores[best] > 0:
            tied = [hw for hw, s in scores.items() if s == scores[best]]
            if guess is None or (confidence < 0.6 and best != guess):
                if len(tied) == 1:
                    guess, confidence = best, min(0.45 + 0.15 * scores[best], 0.85)
            elif best == guess and len(tied) == 1:
                confidence = min(confidence + 0.05, 0.95)
            elif best != guess and len(tied) == 1 and scores[best] >= 2:
                confidence = min(confidence, 0.5)
    return guess, round(confidence, 3)


# --- numbers ------------------------------------------------------------------------------------
SCIENTIFIC = _SCI = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×|·)\s*10\s*\^\s*\{?\s*([-−]?\d{1,3})\s*\}?"
)
_MASKS = [
    re.compile(r"\\tag\*?\{[^{}]*\}"),
    re.compile(r"(?:\\q?quad\s*)?\(\d{1,2}\)\s*(?=\$\$\s*$)"),  # equation label before $$
    re.compile(r"\[\d{1,3}\]"),  # citations
    re.compile(r"^\s*\d{1,3}[.)]\s"),  # list numbers
    re.compile(r"(?<![\d.])[A-Za-z]+\d+"),  # identifiers: HW6, conv1, w10 (not the e of 1e5)
    re.compile(r"(?<=\d)[xX×](?=\d)"),  # 224x224: keep both sides separate
]
_SUPSUB = re.compile(r"[_^]\s*(?:\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z0-9])")
_NUMBER = re.compile(
    r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?![\d])|\d{1,3}(?:(?:\{,\}|\\[,;: ]|~)\d{3})+"
    r"|\d{1,3}(?:[ \u00a0\u2009\u202f]\d{3})+(?![\d.])|\d+)(?:\.\d+)?(?:[eE][-+]?\d{1,3})?(?![\w])"
)


_NUMBER_MACRO = re.compile(
    r"\\(?:num|SI|qty|boxed|fbox)\s*(?:\[[^\]]*\])?\s*"
    # possessive and atomic: spaces before, inside and after the number are taken once, never
    # split between the three in every way (a `\num{` and 1,600 spaces took over a second)
    r"\{\s*+((?>(?:[-+\d.,~ ]|\{,\}|\\[,;: ])+)(?:[eE][-+]?\d+)?)\s*\}"
)


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _prepared_lines(text: str, first_line: int = 1) -> list[tuple[int, str]]:
    """Non-code lines with sub/superscripts, labels, citations and identifiers blanked out."""
    lines = split_lines(text)
    _, outside = scan_fences(lines)
    out = []
    for index, line in enumerate(lines):
        budget.check()
        if not outside[index] or not line.strip():
            continue
        if "\\" in line:  # siunitx's \\num{213504}, \\SI{0.5}{s}; a boxed result: the number
            line = _NUMBER_MACRO.sub(r"\1", line)
        masked = _SCI.sub(_scientific, line)
        for _ in range(4):  # nested {..} in sub/superscripts, innermost first
            masked = _mask(masked, _SUPSUB)
        for pattern in _MASKS:
            masked = _mask(masked, pattern)
        out.append((index + first_line, masked))
    return out


def _scientific(match: re.Match[str]) -> str:
    """'1.5 \\times 10^{-3}' -> '0.0015' (before superscripts are masked)."""
    exponent = int(match.group(2).replace("−", "-"))
    if abs(exponent) > 300:
        return match.group(0)
    return f"{float(match.group(1)) * 10.0**exponent:.12g}"


def _value(token: str) -> float | None:
    cleaned = re.sub(r"[,\s\u00a0\u2009\u202f~]|\{,\}|\\[,;: ]", "", token)
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if abs(value) < 1e300 else None


def _numbers_in(line: str) -> list[tuple[int, int, float]]:
    found: list[tuple[int, int, float]] = []
    for match in _NUMBER.finditer(line):
        value = _value(match.group(0))
        if value is None:
            continue
        start = match.start()
        # a sign only when the minus touches the number and follows a space, '(', '=', ...
        if start and line[start - 1] in "-−" and (start == 1 or line[start - 2] in " \t(=[,:$"):
            value = -value
        found.append((start, match.end(), value))
        token = match.group(0)
        if re.search(r"[ \u00a0\u2009\u202f~;:]", token) or (
            "," in token and line[:start].rstrip().endswith(("(", "["))
        ):
            for part in re.split(r"(?:[,\s\u00a0\u2009\u202f~;:]|\{,\}|\\)+", token):
                part_value = _value(part)
                if part_value is not None:
                    found.append((start, match.end(), part_value))
    return found


def extract_number_candidates(text: str, first_line: int = 1) -> list[tuple[float, int]]:
    """Every number stated outside code, in order, with its line.

    Thousands separators are understood ("213,504", "78 592", "213{,}504", "213\\,504",
    "213~504", "213\\;504"; a
    space-separated group also yields its parts), as are "1.2 \\times 10^{-3}" and signs.
    Ignored: digits in LaTeX sub/superscripts ("3^{L-i}", "n_0", "1^2"), equation labels "(1)",
    citations "[1]", list numbers "1. ", and digits inside identifiers ("HW6", "conv1").
    `first_line` is the writeup line of the text's first line (pass `Section.start_line` when
    `text` is `section_text(...)`), so the returned lines are writeup lines.
    """
    out: list[tuple[float, int]] = []
    for number, line in _prepared_lines(text, first_line):
        budget.check()
        out.extend((value, number) for _, _, value in _numbers_in(line))
    return out


_RESULT_AFTER = re.compile(
    r"(?:=|\\approx|≈|\\simeq|(?:answer|total|result)\s*(?:is|:)?|(?:^|\s)[A-Za-z][\w\- ]{0,30}:)"
    r"\s*$",
    re.I,
)
_COUNT_AFTER = re.compile(r"^\s*(?:trainable\s+)?(?:parameters|params)\b|^\s*in\s+total\b", re.I)
_RESULT_END = re.compile(
    r"^\s*(?:\\?%|\\text|\\quad|\\qquad|\\rightarrow|\\Rightarrow|\\to|\\\\|\$|[,;.]\s|[,;.]?\s*$"
    r"|\)|\}|\\\)|\\\]|\\>|parameters|params|trainable)",
    re.I,
)


def extract_result_numbers(text: str, first_line: int = 1) -> list[tuple[float, int]]:
    """Numbers stated as results: right after '=' (or 'answer is', 'total:') and not followed
    by more arithmetic. '... = 213,504', '32 \\times 2456 = 78,592', 'Sum of parameters =
    132,863,336'. A subset of `extract_number_candidates`, better for exact-answer matching."""
    out: list[tuple[float, int]] = []
    prepared = _prepared_lines(text, first_line)
    following = {
        number: line
        for (number, _), (after, line) in itertools.pairwise(prepared)
        if after == number + 1
    }
    for number, line in prepared:
        budget.check()
        cleaned = re.sub(r"\\text\{\s*\}|[&$]", " ", line)
        # A paragraph wrapped after the number ('... that is 213,504' / 'parameters.', as a
        # PDF or a hard-wrapped text sets it): the count word on the next line still counts.
        wrapped = re.sub(r"\\text\{\s*\}|[&$]", " ", following.get(number, ""))
        seen: set[int] = set()
        for start, end, value in _numbers_in(cleaned):
            if start in seen:
                continue  # the parts of a space-separated number: only the whole is a result
            seen.add(start)
            before = cleaned[max(0, start - 80) : start]  # the context that can matter
            if before.rstrip().endswith(("-", "−")):
                before = before.rstrip()[:-1]
            after = cleaned[end:]
            counted = after if after.strip() else wrapped  # the count word: here or wrapped
            stated = _RESULT_AFTER.search(before) and _RESULT_END.match(after)
            operand = re.search(r"(?:\\cdot|\\times|[-+*/×·(])\s*$", before)
            if stated or (_COUNT_AFTER.match(counted) and not operand):
                out.append((value, number))
    return out


# --- choices stated in prose --------------------------------------------------------------------
_STRONG_VERDICT = re.compile(
    r"equivalen|commut|interchang|\bhold|swap|\bthe same (?:result|output)|\bcorrect\b", re.I
)
_WEAK_VERDICT = re.compile(r"\bsame\b|\bequal|\bidentical|\bworks?\b|\btrue\b|\bvalid\b", re.I)
_NEGATION = re.compile(
    r"\bnot\b|n't\b|\bcannot\b|\bno\b|\bnone\b|\bnever\b|\bfails?\b|\bneither\b|\bnor\b|\bwithout\b"
    r"|\\neq|≠|\bnon-?equivalent|\binequivalent|counter-?example|\bunlike\b|\bdiffer",
    re.I,
)
_EXCEPT = re.compile(r"\b(?:except(?:\s+for)?|other than|apart from|but not|besides)\b", re.I)
_ONLY = re.compile(r"\bonly\b", re.I)
_ALL = re.compile(r"\b(?:all(?: three| of them)?|every|each|both)\b", re.I)
_ANSWER = re.compile(r"^\s*(?:final\s+)?(?:answer|solution|ans)\s*[:=]", re.I)
_CLAUSE_SPLIT = re.compile(r",|;|\b(?:but|however|whereas|while|although|though)\b|\s[-–—]\s", re.I)


def _alias_patterns(options: dict[str, list[str]]) -> list[tuple[str, re.Pattern[str], bool]]:
    """(option, pattern, is_letter) for every spelling; bare letters only as '(a)' or 'a)'."""
    out: list[tuple[str, re.Pattern[str], bool]] = []
    for option, aliases in options.items():
        names = {str(option), str(option).replace("_", " ")}
        names |= {str(a) for a in aliases if isinstance(a, str)} if aliases else set()
        for name in names:
            name = name.strip()
            letter = re.fullmatch(r"\(?([A-Za-z])\)?", name)
            if letter:
                pattern = re.compile(rf"\(\s*{letter.group(1)}\s*\)|(?<![\w(]){letter.group(1)}\)")
                out.append((option, pattern, True))
                continue
            words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
            words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", words)
            parts = [re.escape(p) for p in re.split(r"[\s_\-]+", words) if p]
            if not parts:
                continue
            body = r"[\s_\-]*".join(parts)
            out.append((option, re.compile(rf"(?<![A-Za-z]){body}(?:s)?(?![A-Za-z])", re.I), False))
    return out


def _mentions(
    text: str, patterns: list[tuple[str, re.Pattern[str], bool]]
) -> list[tuple[int, str]]:
    """Options mentioned in `text` as (position, option); overlaps go to the longest match."""
    return [(start, option) for start, _, option in _mention_spans(text, patterns)]


def _mention_spans(
    text: str, patterns: list[tuple[str, re.Pattern[str], bool]]
) -> list[tuple[int, int, str]]:
    spans = []
    for option, pattern, _ in patterns:
        for match in pattern.finditer(text):
            spans.append((match.start(), match.end(), option))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int, str]] = []
    reach = 0  # sorted by start: a span overlaps a kept one iff it starts before their end
    for start, end, option in spans:
        if start < reach:
            continue
        kept.append((start, end, option))
        reach = end
    return kept


def _plain(text: str) -> str:
    text = re.sub(
        r"\\(?:text|mathrm|operatorname|textit|textbf|mathit)\s*\{([^{}]*)\}", r"\1", text
    )
    text = text.replace("$", " ").replace("**", " ").replace("`", " ")
    return re.sub(r"\\neq\b", " ≠ ", text)


def extract_choices(text: str, options: dict[str, list[str]]) -> tuple[set[str], float]:
    """Which `options` the prose says are equivalent / commute / hold, and a confidence in [0, 1].

    `options` maps each option id to its spellings (the rubric's aliases; "(a)"-style letters
    are matched only in parentheses). Sentences are split into clauses; a clause's verdict comes
    from its own words ("equivalent", "commutes", "holds", weaker "same"), negated by "not",
    "cannot", "doesn't", ...; "sigmoid is not" inherits the sentence's verdict, negated; options
    listed before a verdict clause share it ("For ReLU and LeakyReLU, dropout commutes"); "except
    X" and "only X" set the others; "Answer: (a), (c)" is a strong positive. Confidence is high
    when every option gets a clear verdict, lower when some get none, votes conflict, or the text
    is mostly not English. Nothing recognised: (set(), 0.0).
    """
    if not isinstance(text, str) or not isinstance(options, dict) or not options:
        return set(), 0.0
    text = text[:MAX_TEXT_CHARS]
    patterns = _alias_patterns(options)
    votes: dict[str, list[int]] = {option: [] for option in options}
    _, outside = scan_fences(split_lines(text))
    kept_lines = [line for line, out in zip(split_lines(text), outside, strict=True) if out]
    tabled = _table_verdicts(kept_lines, patterns, votes)
    for paragraph in re.split(r"\n\s*\n", _plain("\n".join(tabled))):
        for sentence in re.split(
            r"(?<=[.!?])\s+(?=[A-Z(\\$*])|\n(?=\s*[-*•]|\s*\(?[a-z]\)|\s*(?i:final\s+)?"
            r"(?i:answer|solution|ans)\s*[:=])",
            paragraph,
        ):
            _vote_sentence(sentence, patterns, votes, set(options), options)
    chosen, confidence = _decide(votes, text)
    if tabled != kept_lines and not all(votes.values()):
        # a table that gives some options a verdict and not the others: the rest are not
        # "not chosen", they are unread (a cell the reader does not know): for a TA
        confidence = min(confidence, 0.5)
    return chosen, confidence


_CELL_VERDICT = re.compile(
    r"^(?:(?P<yes>yes|y|true|✓|✔|☑|\\checkmark|equivalent|commutes?|holds|same)"
    r"|(?P<no>no|n|false|✗|✘|☒|×|x|\\times|not\s+equivalent|non-?equivalent|inequivalent"
    r"|does\s*(?:not|n't)\s+commute|not\s+the\s+same|different))(?:[.!]?$|[,;:.]\s|\s+(?:since|because|as|for)\b)",
    re.I,
)
_CELLS = re.compile(r"\s*\|\s*|\t+|\s{2,}|\s*&\s*")


def _cell_verdict(cell: str) -> int:
    """+1 / -1 for a table cell that is a verdict ('Yes', '✗', 'not equivalent'), else 0."""
    match = _CELL_VERDICT.match(re.sub(r"[*$`]|\\text\{|\}", "", cell).strip())
    if match is None:
        return 0
    return 1 if match.group("yes") else -1


def _table_verdicts(
    lines: list[str],
    patterns: list[tuple[str, re.Pattern[str], bool]],
    votes: dict[str, list[int]],
) -> list[str]:
    """Verdicts stated in a table, voted strongly; the lines are blanked for the prose reader.

    A row naming one option and a verdict cell ('| ReLU | Yes |', 'Leaky ReLU    ✓', a PDF's
    'Sigmoid No'), or a row of options over a row of verdicts, one per column (a table written
    across). Before, a table of Yes/No said nothing the prose reader knew, and the answer was
    read, confidently, as 'none chosen'. Linear: each line is split once.
    """
    out = list(lines)
    for index, line in enumerate(lines):
        mentioned = _mention_spans(line, patterns)
        if not mentioned:
            continue
        if len({o for _, _, o in mentioned}) == 1:
            rest = "".join(
                line[end:start]
                for (_, end, _), (start, _, _) in itertools.pairwise(
                    [(0, 0, ""), *mentioned, (len(line), len(line), "")]
                )
            )
            rest = re.sub(r"[|&:\t•]|\\\\|\\hline|^\s*[-–—*>]+|\s[-–—]+\s", " ", rest).strip()
            verdict = _cell_verdict(rest) if rest else 0
            if verdict:
                votes[mentioned[0][2]].append(3 * verdict)
                out[index] = ""
            continue
        cells = [c for c in _CELLS.split(line.strip().strip("|&")) if c.strip()]
        below = lines[index + 1] if index + 1 < len(lines) else ""
        under = [c for c in _CELLS.split(below.strip().strip("|&")) if c.strip()]
        if re.fullmatch(r"\s*\|?[\s:|-]*-{2,}[\s:|-]*", below) and index + 2 < len(lines):
            under = [c for c in _CELLS.split(lines[index + 2].strip().strip("|&")) if c.strip()]
        if len(under) == len(cells) + 1 and not _cell_verdict(under[0]):
            under = under[1:]  # a label over the verdicts ('Equivalent?') under an empty corner
        named = [_mentions(c, patterns) for c in cells]
        options = [m[0][1] if len(m) == 1 else None for m in named]
        if len(cells) != len(under) or sum(o is not None for o in options) < 2:
            continue
        verdicts = [_cell_verdict(c) for c in under]
        if sum(1 for o, v in zip(options, verdicts, strict=True) if o and v) < 2:
            continue
        for option, verdict in zip(options, verdicts, strict=True):
            if option is not None and verdict:
                votes[option].append(3 * verdict)
        out[index] = ""
    return out


def _vote_sentence(
    sentence: str,
    patterns: list[tuple[str, re.Pattern[str], bool]],
    votes: dict[str, list[int]],
    all_options: set[str],
    spellings: dict[str, list[str]] | None = None,
) -> None:
    mentioned = _mentions(sentence, patterns)
    answer = _ANSWER.match(sentence)
    if answer:
        # Read as an answer sheet's choice: "Answer: all except sigmoid" chooses relu and
        # leaky_relu, not the one option it names. An answer line that reader cannot place
        # ("Answer: (a), since ...") is voted on like any other sentence.
        stated = sentence[answer.end() :].strip().rstrip(".!")
        reading = read_choice_answer([stated], spellings) if spellings is not None else None
        if reading is not None and reading.chosen is not None and not reading.unknown:
            for option in all_options:
                votes[option].append(3 if option in reading.chosen else -3)
            return
    if not mentioned and not _ALL.search(sentence):
        return
    clauses = _clauses(sentence)
    verdicts = [_verdict(c) for c in clauses]
    keyword = [v for v in verdicts if v is not None and v[0] != 0]
    if not keyword:
        return
    sentence_polarity, sentence_weight = keyword[0]
    first_keyword = next(i for i, v in enumerate(verdicts) if v is not None and v[0] != 0)
    for index, (clause, verdict) in enumerate(zip(clauses, verdicts, strict=True)):
        options = [o for _, o in _mentions(clause, patterns)]
        if not options:
            continue
        if verdict is not None and verdict[0] != 0:
            polarity, weight = verdict
        elif verdict is not None:  # negation without a verdict word: "sigmoid is not"
            polarity, weight = -1, sentence_weight
        elif index < first_keyword or _is_list_only(clause, patterns):
            polarity, weight = sentence_polarity, sentence_weight
        else:
            continue
        excepted = set()
        exception = _EXCEPT.search(clause)
        if exception:
            scope = clause[exception.end() :]
            stop = re.search(r"[:;]|\b(?:is|are|was|were)\b", scope)
            verdict_word = _STRONG_VERDICT.search(scope) or _WEAK_VERDICT.search(scope)
            ends = [m.start() for m in (stop, verdict_word) if m is not None]
            scope = scope[: min(ends)] if ends else scope
            excepted = {o for _, o in _mentions(scope, patterns)}
            for option in all_options - excepted:
                if option not in options and _ALL.search(clause):
                    votes[option].append(polarity * weight)
        for option in dict.fromkeys(options):
            votes[option].append((-polarity if option in excepted else polarity) * weight)
        if _ONLY.search(clause) and polarity > 0:
            for option in all_options - set(options):
                votes[option].append(-1)
    if not mentioned and _ALL.search(sentence) and sentence_polarity > 0 and len(keyword) == 1:
        for option in all_options:
            votes[option].append(sentence_weight)


def _clauses(sentence: str) -> list[str]:
    parts = [p for p in _CLAUSE_SPLIT.split(sentence) if p and p.strip()]
    return parts or [sentence]


def _verdict(clause: str) -> tuple[int, int] | None:
    """(polarity, weight) of the clause's verdict word; (0, 0): a bare negation; None: neither."""
    negated = bool(_NEGATION.search(clause))
    if _STRONG_VERDICT.search(clause):
        return (-1 if negated else 1), 2
    if _WEAK_VERDICT.search(clause):
        return (-1 if negated else 1), 1
    return (0, 0) if negated else None


def _is_list_only(clause: str, patterns: list[tuple[str, re.Pattern[str], bool]]) -> bool:
    rest = clause
    for _, pattern, _ in patterns:
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"\b(?:and|or|as well as|also|too|the)\b|[&()\[\].,;:]", " ", rest, flags=re.I)
    return not rest.strip()


def _decide(votes: dict[str, list[int]], text: str) -> tuple[set[str], float]:
    chosen = {o for o, v in votes.items() if v and 2 * v[0] + sum(v[1:]) > 0}
    voted = [o for o, v in votes.items() if v]
    if not voted:
        return set(), 0.0
    decided = 0
    conflicted = 0
    for option in voted:
        # The first verdict on an option counts double: writeups state the verdict first and
        # explain afterwards, and explanations ("the outputs must be the same") add noise.
        weighted = [2 * votes[option][0], *votes[option][1:]]
        positive = sum(x for x in weighted if x > 0)
        negative = -sum(x for x in weighted if x < 0)
        if min(positive, negative) > max(positive, negative) / 3:
            conflicted += 1
        elif abs(positive - negative) >= 2:
            decided += 1
    total = len(votes)
    confidence = 0.5 + 0.45 * decided / total - 0.2 * conflicted / total
    prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|\\[A-Za-z]+", " ", text, flags=re.S)
    letters = re.findall(r"[^\W\d_]", prose)
    if letters and sum(1 for c in letters if ord(c) > 0x24F) > 0.2 * len(letters):
        confidence *= 0.7  # mostly not Latin script (a garbled or non-English conversion)
    return chosen, round(max(0.0, min(confidence, 0.95)), 3)


# --- choices on an answer sheet -----------------------------------------------------------------
_SHEET_FILLER = frozenset(
    [
        "and",
        "as",
        "well",
        "or",
        "plus",
        "only",
        "both",
        "the",
        "an",
        "case",
        "cases",
        "option",
        "options",
        "activation",
        "activations",
        "function",
        "functions",
        "layer",
        "layers",
        "is",
        "are",
        "equivalent",
        "equivalence",
        "commute",
        "commutes",
        "commuting",
        "yes",
        "true",
        "ok",
        "with",
        "for",
        "answer",
        "of",
        "them",
        "these",
        "those",
        "nn",
        "torch",
        "functional",
        "f",
        "are",
        "ones",
        "one",
    ]
)
_SHEET_NEGATION = frozenset(
    [
        "not",
        "except",
        "excluding",
        "without",
        "besides",
        "but",
        "no",
        "false",
        "neither",
        "nor",
        "other",
        "than",
        "apart",
        "from",
        "exception",
        "save",
    ]
)
_SHEET_ALL = frozenset(["all", "every", "everything", "three"])
_SHEET_NONE = frozenset(["none", "nothing"])
_EXPLANATION = re.compile(
    r"(?<=\S)\s*[,;(]?\s*\b(?:because|since|due to|given that|so that|which"
    r"|(?<!well )as(?!\s+well\b))\b",
    re.I,
)
_SHEET_TICKS = {"✓": "yes", "✔": "yes", "✗": "no", "✘": "no", "❌": "no"}


@dataclass(frozen=True)
class ChoiceReading:
    """What an answer-sheet choice says: `chosen` (None when it cannot be read with confidence,
    `reason` saying why), and the pieces that name no option at all (`unknown`)."""

    chosen: set[str] | None
    unknown: tuple[str, ...] = ()
    reason: str | None = None


def _letter_options(options: dict[str, list[str]]) -> dict[str, str]:
    letters: dict[str, str] = {}
    for option, aliases in options.items():
        for alias in aliases:
            match = re.fullmatch(r"\(?\s*([A-Za-z])\s*\)?", alias.strip())
            if match:
                letters[match.group(1).lower()] = option
    return letters


def _piece_tokens(
    piece: str, patterns: list[tuple[str, re.Pattern[str], bool]], letters: dict[str, str]
) -> list[tuple[str, str]]:
    """('option', name) | ('neg'|'all'|'none'|'unknown', word) tokens of one piece, in order
    (filler words dropped). Bare letters count as options only in a piece naming none by name."""
    for tick, word in _SHEET_TICKS.items():
        piece = piece.replace(tick, f" {word} ")
    spans: list[tuple[int, int, tuple[str, str]]] = []
    for option, pattern, is_letter in patterns:
        if is_letter:
            continue
        for match in pattern.finditer(piece):
            spans.append((match.start(), match.end(), ("option", option)))
    kept: list[tuple[int, int, tuple[str, str]]] = []
    for span in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if not any(span[0] < k[1] and span[1] > k[0] for k in kept):
            kept.append(span)
    named = bool(kept)
    rest = piece
    for start, end, _ in kept:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    for match in re.finditer(r"[A-Za-z]+(?:'t)?", rest):
        word = match.group(0).lower()
        if word in letters and (not named or rest[max(match.start() - 1, 0)] == "("):
            kept.append((match.start(), match.end(), ("option", letters[word])))
        elif word.endswith("'t") or word in _SHEET_NEGATION:
            kept.append((match.start(), match.end(), ("neg", word)))
        elif word in _SHEET_ALL:
            kept.append((match.start(), match.end(), ("all", word)))
        elif word in _SHEET_NONE:
            kept.append((match.start(), match.end(), ("none", word)))
        elif word in _SHEET_FILLER or (named and word == "a") or word in letters:
            continue
        else:
            kept.append((match.start(), match.end(), ("unknown", word)))
    tokens = [token for _, _, token in sorted(kept)]
    collapsed: list[tuple[str, str]] = []
    for token in tokens:  # "but not", "all three": one marker
        if token[0] != "option" and collapsed and collapsed[-1][0] == token[0]:
            continue
        collapsed.append(token)
    return collapsed


def read_choice_answer(items: list[str], options: dict[str, list[str]]) -> ChoiceReading:
    """The options an answer sheet's choice names, written as students write them.

    `items` are the sheet's strings (a list, or one string); `options` maps each option to its
    spellings. Read: names and letters ("a, c", "(a) and (c)", "ReLU/LeakyReLU",
    "nn.ReLU()"), "only"/"both" as filler, "all"/"all three", "none", negations ("not
    sigmoid", "all except sigmoid", "relu, leaky relu, not sigmoid", "sigmoid: no"). A piece that
    names no option and has no such word is an unknown option (`unknown`, as "tanh"); anything
    else (words the reader does not know next to an option, contradictions, a negation followed
    by bare names, whose scope is unclear) leaves `chosen` None, with `reason`.
    """
    patterns = _alias_patterns(options)
    letters = _letter_options(options)
    stated = [_EXPLANATION.split(item, maxsplit=1)[0] for item in items]  # the reason after
    marked = [re.sub(r"([✓✔✗✘❌]|\b(?:yes|no)\b)", r"\1,", item, flags=re.I) for item in stated]
    pieces = [p.strip() for item in marked for p in re.split(r"[,;\n]", item) if p.strip()]
    positive: set[str] = set()
    negative: set[str] = set()
    everything = nothing = False
    unknown: list[str] = []
    negated_before = False
    read = False
    for piece in pieces:
        tokens = _piece_tokens(piece, patterns, letters)
        kinds = [kind for kind, _ in tokens]
        named = [value for kind, value in tokens if kind == "option"]
        if not tokens:
            continue
        read = True
        if "unknown" in kinds:
            if kinds.count("unknown") == len(kinds):
                unknown.append(piece)
                continue
            return ChoiceReading(None, reason=f"{piece!r} is not a list of options")
        shape = "".join({"option": "O", "neg": "N", "all": "A", "none": "Z"}[k] for k in kinds)
        shape = re.sub(r"O+", "O", shape)
        if shape == "O":
            if negated_before:
                return ChoiceReading(
                    None, reason=f"{piece!r} follows a negation: is it negated too?"
                )
            positive |= set(named)
        elif shape in ("NO", "ON"):  # "not sigmoid", "sigmoid: no"
            negative |= set(named)
            negated_before = negated_before or shape == "NO"  # its scope may go on
        elif shape == "ONO":
            split = kinds.index("neg")
            positive |= {v for k, v in tokens[:split] if k == "option"}
            negative |= {v for k, v in tokens[split:] if k == "option"}
            negated_before = True
        elif shape == "A":
            everything = True
        elif shape == "ZNO":  # "none except relu"
            positive |= set(named)
            negated_before = True
        elif shape in ("ANO", "AON", "NOA", "ONA"):  # "all except sigmoid", "all but relu"
            everything = True
            negative |= set(named)
            negated_before = True
        elif shape in ("Z", "N"):
            nothing = True
        else:
            return ChoiceReading(None, reason=f"cannot tell which options {piece!r} chooses")
    if pieces and not read:
        return ChoiceReading(None, reason="it names no option")
    if positive & negative:
        both = ", ".join(sorted(positive & negative))
        return ChoiceReading(None, reason=f"{both} is both chosen and excluded")
    if nothing and (positive or everything or negative):
        return ChoiceReading(None, reason="'none' beside options that are chosen or excluded")
    if everything:
        chosen = set(options) - negative
    elif positive:
        chosen = positive
    elif negative:
        chosen = set(options) - negative
    else:
        chosen = set()
    return ChoiceReading(chosen, tuple(unknown))
