"""Table answers (HW2 q6, the VGG-11 layer table): read a student's table, judge it per cell.

Why a module of its own: a table is read from an answer sheet (an array of rows) or found in a
writeup (tab-separated lines, a markdown pipe table, columns aligned by runs of spaces), and is
judged row by row against the reference. Both halves share the cell readers below.

Policy (stated in the rubric too, because it decides points):
- Rows are matched to the reference's by a sequence alignment on normalised layer names
  (`CONV3-64`, `conv3_64`, `Conv 3x3, 64`, `maxpool`, `Linear(4096)` ...), so a missing or extra
  row costs that row only, never every row after it.
- Credit is per cell: the non-layer cells of the required rows (kinds not listed `optional`) are
  the units, the same number for every student. Score = points x (right cells - deductions) /
  units, never below 0. Deductions, one unit each: a wrong cell in an optional row the student
  wrote (a stated wrong fact is wrong, and costs what the same mistake costs in a required row;
  leaving the row out costs nothing); an extra row of a required kind, per cell; a row out of
  order (its cells are still judged against the row it is). A missing required row's cells
  count as wrong.
- Shapes: height x width x channels as the statement writes them, or channels first (64x224x224);
  sizes of 1 and a batch dimension are ignored (4096 = 1x1x4096 = (N, 4096)).
- Counts: exact integers (thousands separators, an arithmetic expression such as 3*3*3*64+64, or
  '... = 1792'); an abbreviated count (102.8M, 1.8K) is right when the truth rounds to it.
- Doubt is not failure: a cell, a row name or a table layout that cannot be read with confidence
  makes the check pending for a TA, with what was read so far in its details.
"""

from __future__ import annotations

import math
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from grader.ingest.exprs import ExpressionError, parse_expression
from grader.results import CheckResult, SourceRef, Status, points_text
from grader.rubric import TableCheck, TableColumn

REQUIRED_ROWS_MIN = 3
"""A run of lines is a candidate table when at least this many of its rows name layers."""
MAX_ROWS = 400
SWAP_DISTANCE = 1.5
"""A missing row and an extra row of the same layer this close (in reference rows) are one row
written out of order (two adjacent rows swapped), not two mistakes."""


# --- layer names ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    """A normalised layer name: its kind and, for conv / fc, its width (None: not stated)."""

    kind: str
    size: int | None = None

    def matches(self, other: Layer) -> bool:
        return self.kind == other.kind and (
            self.size is None or other.size is None or self.size == other.size
        )


_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("conv", re.compile(r"conv")),
    ("fc", re.compile(r"\bfc|fully|linear|dense|affine|\bfc\d")),
    ("pool", re.compile(r"pool|\bmp\b")),
    ("softmax", re.compile(r"soft\s*-?\s*max")),
    ("relu", re.compile(r"relu")),
    ("input", re.compile(r"\binput|\bimage\b|\bdata\b")),
    ("dropout", re.compile(r"drop\s*-?\s*out")),
    ("flatten", re.compile(r"flatten|reshape")),
    ("norm", re.compile(r"batch\s*-?\s*norm|\bbn\b|\blrn\b")),
)
_NOT_LAYERS = re.compile(r"^\s*(?:total|sum|overall|all)\b", re.I)
# "2 x CONV3-512", "CONV3-512 (x2)": one row for repeated layers, whose count may be each
# layer's or both together; a "3x3" kernel never starts or ends a name this way
_REPEATED = re.compile(r"^\s*\d+\s*[x×*]\s*(?=[A-Za-z])|(?:^|[\s(\[])[x×*]\s*\d+\s*[)\]]?\s*$")
_MARKUP = re.compile(r"\*\*|__|`|\$|\\text\{|\\mathrm\{|[{}]")


def _clean(cell: str) -> str:
    text = _MARKUP.sub("", cell)
    text = re.sub(r"\\times|×|✕", "x", text)
    return text.strip()


def parse_layer(cell: Any) -> Layer | None:
    """'CONV3-64', 'conv3_64', 'Conv 3x3, 64', 'Conv2d(3, 64, 3)', 'POOL2', 'maxpool',
    'FC-4096', 'fc 4096', 'Linear(25088, 4096)', 'ReLU', 'INPUT', 'SOFTMAX'; None: not a layer.

    The main layer wins when a row names two ('CONV3-64 + ReLU' is the convolution's row).
    """
    if not isinstance(cell, str):
        return None
    text = _clean(cell).lower()
    if not text or len(text) > 80:
        return None
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return Layer(kind, _width(kind, text))
    return None


def _width(kind: str, text: str) -> int | None:
    """Output channels / features of a conv or fc name; None when the name does not say.

    Small numbers are positions, not widths ('conv3_1', 'fc6' in Caffe's naming), so below 8 the
    width is unknown rather than wrong.
    """
    if kind not in ("conv", "fc"):
        return None
    torch_style = re.search(r"(?:conv[123]d|linear)\s*\(\s*(\d+)\s*,\s*(\d+)", text)
    if torch_style:
        return int(torch_style.group(2))
    rest = re.sub(r"conv[123]d|conv\s*(?:\d(?!\d))?|fc|fully\s*connected|linear|dense", " ", text)
    rest = re.sub(r"(\d+)\s*x\s*\1(?!\d)", " ", rest)  # the kernel, 3x3
    rest = re.sub(r"relu|softmax|pool\w*|stride\s*\d+|pad\w*\s*\d+", " ", rest)
    numbers = [int(n) for n in re.findall(r"\d+", rest)]
    return numbers[-1] if numbers and numbers[-1] >= 8 else None


# --- cells ----------------------------------------------------------------------------------------
_BATCH = re.compile(r"^(?:n|b|bs|batch|none|\?|-1|batch_size)$", re.I)


def parse_shape(cell: Any) -> tuple[int, ...] | None:
    """'224x224x64', '224 × 224 × 64', '(224, 224, 64)', '[64, 224, 224]', 4096, '1x1x4096',
    [224, 224, 64] -> the sizes other than 1, batch dimension dropped. None: unreadable."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        dims = [cell]
    elif isinstance(cell, list | tuple):
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in cell):
            return None
        dims = list(cell)
    elif isinstance(cell, str):
        text = _clean(cell)
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
            text = text.replace(",", "")  # 4,096: a thousands separator, not two sizes
        text = re.sub(r"[()\[\]]", " ", text)
        tokens = [t for t in re.split(r"\s*[x*,;]\s*|\s+", text.strip(), flags=re.I) if t]
        if tokens and _BATCH.match(tokens[0]):
            tokens = tokens[1:]
        if not tokens or not all(t.isdigit() and len(t) <= 7 for t in tokens):
            return None
        dims = [int(t) for t in tokens]
    else:
        return None
    if len(dims) > 5 or any(d < 1 for d in dims):
        return None
    return tuple(d for d in dims if d != 1)


def shape_right(got: tuple[int, ...], expected: list[int]) -> bool:
    """Height x width x channels as written, or channels first: both orders say the same shape."""
    want = tuple(d for d in expected if d != 1)
    if got == want:
        return True
    return len(expected) == 3 and got == tuple(
        d for d in (expected[2], expected[0], expected[1]) if d != 1
    )


def show_shape(dims: list[int] | tuple[int, ...]) -> str:
    return "x".join(str(d) for d in dims) if dims else "1"


@dataclass(frozen=True)
class Count:
    """A count as written: exact, or abbreviated (102.8M) with the precision the student used."""

    value: float
    unit: float = 1.0
    decimals: int | None = None  # None: exact

    def right(self, truth: int) -> bool:
        if self.decimals is None:
            return self.value * self.unit == truth
        return round(truth / self.unit, self.decimals) == round(self.value, self.decimals)


_UNITS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mil": 1e6, "million": 1e6, "b": 1e9, "g": 1e9}
_NONE = re.compile(r"^(?:-+|–|—|none|n/?a|no|nil|∅)$", re.I)


def parse_count(cell: Any) -> Count | None:
    """1792, '1,792', '1 792', '3*3*3*64 + 64', '(3x3x3+1)x64 = 1792', '102.76M', '-' (none)."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return Count(float(cell))
    if isinstance(cell, float):
        return Count(cell) if math.isfinite(cell) and cell.is_integer() else None
    if not isinstance(cell, str):
        return None
    text = _clean(cell).split("=")[-1].strip()
    text = re.sub(r"^(?:~|≈|approx\.?)\s*", "", text, flags=re.I)
    text = re.sub(r"\s*(?:trainable\s+)?(?:params|parameters|weights)\.?$", "", text, flags=re.I)
    if _NONE.match(text):
        return Count(0.0)
    text = re.sub(r"(?<=\d)[,'_\u00a0\u2009\u202f ](?=\d{3}\b)", "", text)
    abbreviated = re.fullmatch(r"(\d+(?:\.(\d+))?)\s*([a-z]+)", text, flags=re.I)
    shortened = abbreviated or re.fullmatch(r"(\d+(?:\.(\d+))?)[eE]\+?(\d{1,2})", text)
    if shortened and _significant(shortened.group(1)) < 2:
        return None  # "2K" for 1,792, "0M", "1e8": too coarse to judge, so a TA reads it
    if abbreviated and abbreviated.group(3).lower() in _UNITS:
        decimals = len(abbreviated.group(2) or "")
        return Count(float(abbreviated.group(1)), _UNITS[abbreviated.group(3).lower()], decimals)
    scientific = re.fullmatch(r"(\d+(?:\.(\d+))?)[eE]\+?(\d{1,2})", text)
    if scientific:
        decimals = len(scientific.group(2) or "")
        return Count(float(scientific.group(1)), 10.0 ** int(scientific.group(3)), decimals)
    if re.fullmatch(r"\d+", text):
        return Count(float(text))
    return _arithmetic(text)


def _significant(mantissa: str) -> int:
    return len(mantissa.replace(".", "").lstrip("0"))


def _arithmetic(text: str) -> Count | None:
    """'3*3*3*64+64', '(3x3x3 + 1) x 64': evaluated by the whitelisted expression reader."""
    if not re.fullmatch(r"[\d\s+*x·()^-]+", text) or not re.search(r"\d\s*[+*x·^-]", text):
        return None
    source = re.sub(r"(?<=[\d)\s])[x·](?=[\s\d(])", "*", text).replace("^", "**")
    try:
        value = parse_expression(source, []).evaluate()
    except (ExpressionError, ArithmeticError, ValueError):
        return None
    return Count(value) if math.isfinite(value) and float(value).is_integer() else None


# --- tables as read -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudentTable:
    """A student's table in the rubric's column order: `rows[i][j]` is column j (None: absent).

    `lines[i]` is the writeup line of row i (None on an answer sheet); `skipped` says which rows
    were left out on purpose (a header, a 'Total' row).
    """

    rows: tuple[tuple[Any, ...], ...]
    # A line of the writeup, or where the student finds it ("report.pdf, page 2, line 7") when
    # the writeup was laid out from a .tex or a PDF, whose text lines are the grader's own.
    lines: tuple[int | str | None, ...]
    skipped: tuple[str, ...] = ()


def table_from_sheet(value: Any, check: TableCheck) -> StudentTable | str:
    """An answer-sheet table: an array of rows ([layer, output, parameters]) or of tables
    ({layer = ..., output = ..., parameters = ...}). A string says why it cannot be read."""
    if not isinstance(value, list) or not value:
        return 'expected an array of rows, e.g. [["CONV3-64", "224x224x64", 1792], ...]'
    if len(value) > MAX_ROWS:
        return f"more than {MAX_ROWS} rows"
    rows: list[tuple[Any, ...]] = []
    skipped: list[str] = []
    width = len(check.columns)
    for number, row in enumerate(value, start=1):
        if isinstance(row, dict):
            rows.append(_from_mapping(row, check.columns))
        elif isinstance(row, list):
            if number == 1 and _is_header([str(c) for c in row]):
                skipped.append("the header row")
                continue
            if len(row) != width:
                return f"row {number} has {len(row)} cells; each row needs {width}: " + ", ".join(
                    c.name for c in check.columns
                )
            rows.append(tuple(row))
        else:
            return f"row {number} is not an array of cells: {row!r}"[:200]
    return StudentTable(tuple(rows), tuple(None for _ in rows), tuple(skipped))


def _from_mapping(row: dict[str, Any], columns: list[TableColumn]) -> tuple[Any, ...]:
    """A row given as a table (`{layer = ..., output = ..., params = ...}`): each column takes
    the key equal to its name or a header word, else the first key containing one, the words
    tried in the rubric's order (so `output_size` wins over `input_size` for the output)."""
    keys = {str(k).lower(): v for k, v in row.items()}
    cells: list[Any] = []
    for column in columns:
        words = [column.name.lower(), *(h.lower() for h in column.headers)]
        exact = next((keys[w] for w in words if w in keys), None)
        near = (v for w in words for k, v in keys.items() if w in k)
        cells.append(exact if exact is not None else next(near, None))
    return tuple(cells)


def _is_header(cells: list[str]) -> bool:
    return (
        not any(re.search(r"\d", c) for c in cells)
        and parse_layer(cells[0]) is None
        and any(c.strip() for c in cells)
    )


_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")


def _cells(line: str) -> tuple[str, tuple[str, ...]] | None:
    """(style, cells) of a table line: 'pipe', 'tab' or 'space' (columns aligned by 2+ spaces)."""
    stripped = line.strip()
    if not stripped or _SEPARATOR.match(stripped):
        return None
    if stripped.count("|") >= 2:
        return "pipe", tuple(c.strip() for c in stripped.strip("|").split("|"))
    if "\t" in stripped:
        return "tab", tuple(c.strip() for c in stripped.split("\t"))
    parts = tuple(re.split(r"\s{2,}", stripped))
    return ("space", parts) if len(parts) >= 2 else None


@dataclass
class _Run:
    style: str
    rows: list[tuple[str, ...]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _runs(lines: list[str], first_line: int) -> list[_Run]:
    """Consecutive table lines of one style; one blank line inside a table is allowed (PDF
    conversions put blank lines between rows)."""
    runs: list[_Run] = []
    current: _Run | None = None
    blank = 0
    for index, line in enumerate(lines):
        if not line.strip():
            blank += 1
            if blank > 1:
                current = None
            continue
        if _SEPARATOR.match(line.strip()):
            continue
        found = _cells(line)
        if found is None:
            current, blank = None, 0
            continue
        style, cells = found
        if current is None or current.style != style:
            current = _Run(style)
            runs.append(current)
        current.rows.append(cells)
        current.lines.append(index + first_line)
        blank = 0
    return runs


def _layer_rows(run: _Run) -> int:
    """How many rows name a layer, in the column that names most (a row-number column may
    come first)."""
    width = max(len(r) for r in run.rows)
    return max(
        sum(i < len(r) and parse_layer(r[i]) is not None for r in run.rows) for i in range(width)
    )


def find_table(text: str, first_line: int, check: TableCheck) -> StudentTable | str:
    """The layer table in a writeup section; a string says why none could be read with
    confidence (the caller makes that a pending TA item)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    candidates = [run for run in _runs(lines, first_line) if _layer_rows(run) >= REQUIRED_ROWS_MIN]
    if not candidates:
        return "no table of layers (tab-separated, markdown or aligned columns) found"
    if len(candidates) > 1:
        widths = {max(len(r) for r in run.rows) for run in candidates}
        headed = sum(_is_header(list(run.rows[0])) for run in candidates)
        if len(widths) > 1 or headed > 1:
            where = ", ".join(f"line {run.lines[0]}" for run in candidates)
            return f"several tables of layers ({where}); which one answers is for a TA to say"
        # one table split by a page break: read as one
        merged = _Run(candidates[0].style)
        for run in candidates:
            merged.rows += run.rows
            merged.lines += run.lines
        candidates = [merged]
    return _table_from_run(candidates[0], check)


def _table_from_run(run: _Run, check: TableCheck) -> StudentTable | str:
    rows, lines = list(run.rows), list(run.lines)
    skipped: list[str] = []
    order: list[int | None] | str
    if _is_header(list(rows[0])):
        order = _columns_by_header(rows[0], check.columns)
        skipped.append(f"the header row (line {lines[0]})")
        rows, lines = rows[1:], lines[1:]
    else:
        order = _columns_by_content(rows, check.columns)
    if isinstance(order, str):
        return order
    width = len(run.rows[0])
    picked: list[tuple[Any, ...]] = []
    kept: list[int | None] = []
    for cells, line in zip(rows, lines, strict=True):
        if run.style == "space" and len(cells) != width:
            return (
                f"line {line} has {len(cells)} columns where the table has {width}; "
                "a column may be empty or merged"
            )
        picked.append(tuple(cells[i] if i is not None and i < len(cells) else None for i in order))
        kept.append(line)
    return StudentTable(tuple(picked), tuple(kept), tuple(skipped))


def _columns_by_header(
    header: tuple[str, ...], columns: list[TableColumn]
) -> list[int | None] | str:
    order: list[int | None] = []
    for column in columns:
        hits: list[int] = []
        for word in [column.name.lower(), *(h.lower() for h in column.headers)]:
            hits = [i for i, cell in enumerate(header) if word in cell.lower() and i not in order]
            if len(hits) == 1:
                break  # the first word naming exactly one column decides
        if len(hits) != 1 and len(header) == len(columns):
            hits = [len(order)]  # a header in other words: the rubric's order
        if len(hits) != 1:
            return f"cannot tell which column of the header {' | '.join(header)} is {column.name}"
        order.append(hits[0])
    if len(set(order)) != len(order):
        return f"cannot tell the columns of the header {' | '.join(header)} apart"
    return order


def _columns_by_content(
    rows: list[tuple[str, ...]], columns: list[TableColumn]
) -> list[int | None] | str:
    """No header: the rubric's order, when the table has as many columns and the cells agree."""
    width = max(len(r) for r in rows)
    if width != len(columns):
        return f"a table with {width} columns and no header; which is which is for a TA to say"
    for index, column in enumerate(columns):
        if column.kind == "shape":
            cells = [r[index] for r in rows if index < len(r)]
            if not any(re.search(r"\d\s*[x×*,]\s*\d", c) for c in cells):
                return f"column {index + 1} does not look like {column.name} (no HxWxC shapes)"
    return list(range(len(columns)))


# --- alignment ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """One step of the alignment: a reference row, a student row, or both."""

    ref: int | None
    student: int | None


def align(student: list[Layer], reference: list[Layer], optional: AbstractSet[str]) -> list[Pair]:
    """Needleman-Wunsch on layer names: matches cost 0, a width mismatch of the same kind 1.5,
    a skipped required row or an extra row 1, a skipped optional row 0.3."""
    n, m = len(student), len(reference)
    inf = float("inf")

    def skip_ref(j: int) -> float:
        return 0.3 if reference[j].kind in optional else 1.0

    def extra(i: int) -> float:
        return 0.3 if student[i].kind in optional else 1.0

    def pair_cost(i: int, j: int) -> float:
        if student[i].matches(reference[j]):
            return 0.0
        return 1.5 if student[i].kind == reference[j].kind else inf

    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = cost[i - 1][0] + extra(i - 1)
    for j in range(1, m + 1):
        cost[0][j] = cost[0][j - 1] + skip_ref(j - 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j - 1] + pair_cost(i - 1, j - 1),
                cost[i - 1][j] + extra(i - 1),
                cost[i][j - 1] + skip_ref(j - 1),
            )
    pairs: list[Pair] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + pair_cost(i - 1, j - 1):
            pairs.append(Pair(j - 1, i - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + extra(i - 1):
            pairs.append(Pair(None, i - 1))
            i -= 1
        else:
            pairs.append(Pair(j - 1, None))
            j -= 1
    return pairs[::-1]


def _swaps(pairs: list[Pair], student: list[Layer], reference: list[Layer]) -> dict[int, int]:
    """Extra student rows that are a missing reference row written one place off: student row ->
    reference row."""
    position: dict[int, float] = {}
    last = -0.5
    for pair in pairs:
        if pair.ref is not None:
            last = float(pair.ref)
        elif pair.student is not None:
            position[pair.student] = last + 0.5
    missing = [p.ref for p in pairs if p.student is None and p.ref is not None]
    found: dict[int, int] = {}
    for row, at in position.items():
        near = [
            ref
            for ref in missing
            if ref not in found.values()
            and student[row] == reference[ref]
            and abs(ref - at) <= SWAP_DISTANCE
        ]
        if near:
            found[row] = min(near, key=lambda ref: abs(ref - at))
    return found


# --- judging --------------------------------------------------------------------------------------
@dataclass
class _Tally:
    units: int = 0
    right: int = 0
    deductions: int = 0
    unread: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _cell_verdict(column: TableColumn, cell: Any, truth: Any) -> tuple[bool | None, str]:
    """(right?, 'parameters 1,792 ✓'); None: the cell cannot be read."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return False, f"{column.name} missing ✗ (expected {_show(column, truth)})"
    shown = _shorten(str(cell) if not isinstance(cell, list) else show_shape(cell))
    if column.kind == "shape":
        got = parse_shape(cell)
        if got is None:
            return None, f"{column.name} {shown!r} unreadable"
        ok = shape_right(got, list(truth))
    else:
        count = parse_count(cell)
        if count is None:
            return None, f"{column.name} {shown!r} unreadable"
        ok = count.right(int(truth))
    if ok:
        return True, f"{column.name} {shown} ✓"
    return False, f"{column.name} {shown} ✗ (expected {_show(column, truth)})"


def _show(column: TableColumn, truth: Any) -> str:
    return show_shape(list(truth)) if column.kind == "shape" else f"{int(truth):,}"


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row_label(number: int, name: Any, line: int | str | None) -> str:
    where = f" ({line})" if isinstance(line, str) else f" (line {line})" if line else ""
    return f"row {number} {_shorten(str(name), 24)}{where}"


def grade_table(
    check: TableCheck,
    part: str | None,
    table: StudentTable,
    expected: list[dict[str, Any]],
    source: SourceRef | None,
) -> CheckResult:
    """The verdict for a table already read: the policy is the module docstring's."""
    key, *graded = check.columns
    optional = set(check.optional)
    reference = [parse_layer(str(row[key.name])) for row in expected]
    if any(r is None for r in reference):
        raise ValueError("the reference table names a layer the grader cannot read")
    ref_layers: list[Layer] = [r for r in reference if r is not None]
    tally = _Tally()
    tally.units = sum(len(graded) for layer in ref_layers if layer.kind not in optional)

    student: list[Layer] = []
    numbers: list[int] = []
    notes: list[str] = [f"skipped {s}" for s in table.skipped]
    for number, (row, line) in enumerate(zip(table.rows, table.lines, strict=True), start=1):
        name = row[0]
        if isinstance(name, str) and _REPEATED.search(_clean(name)):
            tally.unread.append(
                f"{_row_label(number, name, line)}: one row for repeated layers (is its count "
                "each layer's or their sum?)"
            )
            continue
        layer = parse_layer(name) if isinstance(name, str) else None
        if layer is None:
            if isinstance(name, str) and _NOT_LAYERS.match(_clean(name)):
                notes.append(f"skipped {_row_label(number, name, line)}: not a layer")
                continue
            tally.unread.append(f"{_row_label(number, name, line)}: layer name not recognised")
            continue
        student.append(layer)
        numbers.append(number)

    pairs = align(student, ref_layers, optional)
    swapped = _swaps(pairs, student, ref_layers)
    placed = {ref for ref in swapped.values()}
    for pair in pairs:
        if pair.student is None and pair.ref is not None and pair.ref not in placed:
            _missing(check, expected[pair.ref], ref_layers[pair.ref], optional, tally)
        elif pair.student is not None:
            ref = pair.ref if pair.ref is not None else swapped.get(pair.student)
            number = numbers[pair.student]
            row, line = table.rows[number - 1], table.lines[number - 1]
            label = _row_label(number, row[0], line)
            if ref is None:
                _extra(label, student[pair.student], len(graded), optional, tally, notes)
                continue
            _judge_row(check, label, row, expected[ref], ref_layers[ref], optional, tally)
            if pair.ref is None:
                tally.deductions += 1
                tally.lines.append(
                    f"{label}: out of order: {expected[ref][key.name]} is row {ref + 1} of the "
                    "reference table (-1 cell)"
                )
    return _verdict(check, part, tally, notes, source)


def _missing(
    check: TableCheck, row: dict[str, Any], layer: Layer, optional: AbstractSet[str], tally: _Tally
) -> None:
    if layer.kind in optional:
        return
    name = row[check.columns[0].name]
    cells = ", ".join(_show(c, row[c.name]) for c in check.columns[1:])
    tally.lines.append(f"missing row {name} ({cells}) ✗")


def _extra(
    label: str,
    layer: Layer,
    width: int,
    optional: AbstractSet[str],
    tally: _Tally,
    notes: list[str],
) -> None:
    if layer.kind in optional:
        notes.append(f"{label}: not in the reference table here; not graded")
        return
    tally.deductions += width
    tally.lines.append(f"{label}: extra row, not in the network ✗ (-{width} cells)")


def _judge_row(
    check: TableCheck,
    label: str,
    row: tuple[Any, ...],
    truth: dict[str, Any],
    layer: Layer,
    optional: AbstractSet[str],
    tally: _Tally,
) -> None:
    key, *graded = check.columns
    said = parse_layer(str(row[0]))
    parts: list[str] = []
    if said is not None and not said.matches(layer):
        parts.append(f"layer ✗ (expected {truth[key.name]})")
    wrong = False
    for index, column in enumerate(graded, start=1):
        cell = row[index]
        if _blank(cell) and layer.kind in optional:
            # a ReLU row with its count left blank states nothing (as leaving the row out):
            # neither a wrong cell nor a right one
            parts.append(f"{column.name} blank (not graded)")
            continue
        if _blank(cell) and column.kind == "count" and not truth[column.name]:
            # a pooling row's count left blank: "no parameters" or not answered? A TA says
            tally.unread.append(f"{label}: {column.name} left blank (0 expected)")
            parts.append(f"{column.name} blank")
            continue
        ok, text = _cell_verdict(column, cell, truth[column.name])
        parts.append(text)
        if ok is None:
            tally.unread.append(f"{label}: {text}")
        elif ok and layer.kind not in optional:
            tally.right += 1
        elif not ok:
            wrong = True
            if layer.kind in optional:
                tally.deductions += 1
    if wrong or len(parts) > len(graded):
        note = " (optional row: each wrong cell -1)" if layer.kind in optional else ""
        tally.lines.append(f"{label}: {', '.join(parts)}{note}")


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not _clean(cell))


def _verdict(
    check: TableCheck,
    part: str | None,
    tally: _Tally,
    notes: list[str],
    source: SourceRef | None,
) -> CheckResult:
    units = max(tally.units, 1)
    earned = max(0, tally.right - tally.deductions)
    score = check.points * earned / units
    summary = f"{tally.right}/{tally.units} cells right"
    if tally.deductions:
        summary += f", {tally.deductions} deducted"
    details = [*tally.lines, *notes]
    if tally.unread:
        return _result(
            check,
            part,
            Status.PENDING,
            0.0,
            f"for a TA: {len(tally.unread)} cell(s) or row(s) could not be read with confidence; "
            f"the rest reads as {summary} ({score:.3g} of {points_text(check.points)})",
            details=[*tally.unread, *details],
            source=source,
        )
    perfect = tally.right == tally.units and not tally.deductions
    status = Status.PASSED if perfect else Status.FAILED
    message = summary if perfect else f"{summary}: " + "; ".join(tally.lines[:3])
    if len(tally.lines) > 3:
        message += f"; and {len(tally.lines) - 3} more (details)"
    return _result(check, part, status, score, message, details=details, source=source)


def _result(
    check: TableCheck, part: str | None, status: Status, score: float, message: str, **extra: Any
) -> CheckResult:
    # as grader.judges.context.result; not imported, since grader.judges.sources (which context's
    # observer
    # imports) imports this module
    return CheckResult(
        id=f"{check.id}.{part}" if part else check.id,
        status=status,
        score=round(score, 6),
        max_score=check.points,
        message=message,
        title=check.title,
        **extra,
    )
