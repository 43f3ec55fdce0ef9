"""The `values` check: named numbers computed by hand, each judged to the precision written.

Why precision matters: a student who writes "0.0765" for 0.07653 is right, one who writes "0.0766"
is a digit off, and "0.08" is right but says less. So a value is compared with the true value
rounded (or, if the rubric allows, truncated) at the last digit the student wrote, never with a
fixed tolerance. Written precision is a property of the text, so answers keep their text:
strings on the answer sheet, bare TOML floats re-read from the sheet's own line (TOML reads 0.50
as 0.5), equations in a writeup as written.

Where values come from: the answer sheet first (`[q2] dL_dw9 = "0.0772"`), then a writeup or
notebook section for the problem, where each quantity is the left side of an equation and its
value the number after the last '=' ("$$\\frac{dMSE}{dw_9} = ... = 0.074$$"), or a row of a table
(a Markdown pipe table; a LaTeX `tabular`, from the .tex or its PDF; a plain-text table; down
the page or across it) whose column titles say which quantity it is. The rubric names
the spellings of each left side; anything the grader cannot read with confidence (a quantity
stated twice with different values, a chain not reduced to a number) is pending for a TA with
the excerpt, never a failure.

Credit is per quantity, so a group with some quantities pending is only partly pending: the
decided ones' points are in the score now (right and carried forward earn, wrong and missing
lose), the pending ones' share is the check's `pending_points` (the most a TA can add), and the
check is pending, flagged for a TA. An update that is wrong as written but is computed from a
value only a TA can read is pending too: it may yet earn carried-forward credit.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from grader.ingest.documents import Document
from grader.ingest.exprs import ExpressionError, parse_expression
from grader.ingest.latex import (
    DISPLAY_MATH,
    INLINE_MATH,
    balanced_group,
    from_unicode,
    top_level_matches,
    top_level_split,
)
from grader.ingest.submission import ANSWER_SHEET, Answer
from grader.ingest.writeup import scan_fences, split_lines
from grader.judges.context import GradingContext, needs_reference, result
from grader.judges.readers import problem_section
from grader.results import CheckResult, SourceRef, Status, points_text
from grader.rubric import Problem, RefValue, ValuesCheck

MAX_VALUE_CHARS = 200


# --- numbers as written -------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """A number with the precision its text gives it: "0.0765" has its last digit at 1e-4."""

    text: str
    value: Decimal

    @property
    def exponent(self) -> int:
        """Power of ten of the last written digit (-4 for 0.0765, -3 for 1e-3, 0 for 12)."""
        return int(self.value.as_tuple().exponent)

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(self.exponent)

    @property
    def significant(self) -> int:
        """Significant digits written (0 for a written zero)."""
        return 0 if self.value.is_zero() else len(self.value.as_tuple().digits)

    @property
    def decimals(self) -> int:
        return max(0, -self.exponent)


_NUMBER = re.compile(
    r"^(?P<sign>[+-])?\s*(?P<mant>\d{1,3}(?:,\d{3})+|\d+(?:\.\d*)?|\.\d+)"
    r"(?:\s*(?:[eE](?P<e1>[+-]?\d+)"
    r"|(?:\\times|\\cdot|\\ast|[×x*·])\s*10\s*\^\s*\{?\s*(?P<e2>[+-]?\d+)\s*\}?))?$"
)
_REMARK = re.compile(r"\\(?:text|textrm|mbox|textit)\s*\{[^{}]*\}|\([A-Za-z][A-Za-z .,]*\)")
_SPACING = re.compile(r"\\[,;:! ]|\\q?quad(?![A-Za-z])|~|\$|&")


_WRAPPER = re.compile(
    r"^\\(?:boxed|fbox|mathbf|textbf|bm|boldsymbol|underline|mathrm|text|mbox)\s*\{(.*)\}$"
)
_ELLIPSIS = re.compile(r"\s*(?:\\[lc]?dots(?![A-Za-z])|…|\.{2,})$")
_ROUGHLY = re.compile(r"^(?:\\approx(?![A-Za-z])|≈|~|\\sim(?![A-Za-z]))\s*")


def _unwrap(text: str) -> str:
    """A number's decoration taken off: \\boxed{0.0772}, **0.0772**, {0.0772}, a trailing
    ellipsis (0.98661..., 0.98661\\ldots: the digits written, truncated), a leading '≈'."""
    for _ in range(4):
        before = text
        text = text.rstrip(",;").strip()
        text = _ELLIPSIS.sub("", text).rstrip(".").strip()
        text = _ROUGHLY.sub("", text)
        wrapped = _WRAPPER.match(text) or re.fullmatch(r"\{(.*)\}|\*\*(.*)\*\*", text)
        if wrapped:
            text = next(g for g in wrapped.groups() if g is not None).strip()
        if text == before:
            break
    return text


def _decimal_comma(text: str) -> str:
    """0{,}98661 and 0,98661 are decimal commas (a thousands group never starts at 0, and is
    three digits): read as 0.98661. 132{,}863{,}336 and 1,792 stay thousands separators."""
    text = re.sub(r"(?<![\d,])(\d+)\{,\}(\d+)(?![\d{])", _comma_as_point, text)
    return re.sub(r"(?<![\d,.])(\d+),(\d+)(?![\d,.])", _comma_as_point, text)


def _comma_as_point(match: re.Match[str]) -> str:
    whole, fraction = match.group(1), match.group(2)
    if whole == "0" or len(fraction) != 3 or len(whole) > 3:
        return f"{whole}.{fraction}"
    return match.group(0)


def parse_written(text: Any) -> Written | None:
    """A number from what a student wrote: "0.0765", "-1e-3", "7.65 \\times 10^{-2}",
    "132,863,336", "0.0765 \\text{(rounded)}"; None when the text is not one number."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    raw = str(text)[:MAX_VALUE_CHARS]
    cleaned = _decimal_comma(from_unicode(raw)).replace("{,}", "").replace("\\minus", "-")
    cleaned = _SPACING.sub(" ", _REMARK.sub(" ", cleaned))
    cleaned = _unwrap(re.sub(r"\s+", " ", cleaned).strip())
    match = _NUMBER.match(cleaned)
    if match is None:
        return None
    exponent = match.group("e1") or match.group("e2") or "0"
    mantissa = match.group("mant").replace(",", "")
    if abs(int(exponent)) > 300:  # no hand computation needs more; Decimal would overflow
        return None
    try:
        value = Decimal(f"{match.group('sign') or ''}{mantissa}E{int(exponent)}")
    except (InvalidOperation, ValueError):
        return None
    return Written(cleaned, value) if value.is_finite() else None


def agreement(written: Written, truth: float, truncation: bool) -> str | None:
    """'rounded' or 'truncated' when `truth` gives `written` at its last digit, else None.

    Half a unit either side counts as rounded (both ways of breaking a tie are fine); float
    noise of the reference is forgiven by a relative 1e-12.
    """
    true = Decimal(truth)
    slack = max(abs(true), written.quantum) * Decimal("1e-12")
    if abs(true - written.value) <= written.quantum / 2 + slack:
        return "rounded"
    same_sign = written.value.is_zero() or (true < 0) == (written.value < 0)
    size, shown = abs(true), abs(written.value)
    if truncation and same_sign and shown - slack <= size < shown + written.quantum:
        return "truncated"
    return None


def at_precision(truth: float, written: Written) -> str:
    """The true value rounded at the student's last digit, for feedback ("0.0772")."""
    true = Decimal(truth)
    if written.exponent >= -20:
        with contextlib.suppress(ArithmeticError):  # more digits than Decimal's context holds
            return str(true.quantize(written.quantum))
    return f"{truth:.6g}"


# --- left-hand sides ----------------------------------------------------------------------------
_FONT = re.compile(
    r"\\(?:text|textrm|mathrm|operatorname|mathit|mathbf|boldsymbol|bm|mathcal|mathsf|textit"
    r"|textbf|mbox|mathnormal)(?![A-Za-z])"
)


def _fractions(text: str) -> str:
    """\\frac{A}{B} -> (A)/(B), innermost groups kept, for any nesting."""
    for _ in range(20):
        match = re.search(r"\\[dt]?frac\s*\{", text)
        if match is None:
            return text
        top_end = balanced_group(text, match.end() - 1)
        if top_end is None:
            return text
        rest = text[top_end:].lstrip()
        if not rest.startswith("{"):
            return text
        bottom_start = len(text) - len(rest)
        bottom_end = balanced_group(text, bottom_start)
        if bottom_end is None:
            return text
        top = text[match.end() : top_end - 1]
        bottom = text[bottom_start + 1 : bottom_end - 1]
        text = f"{text[: match.start()]}({top})/({bottom}){text[bottom_end:]}"
    return text


def normalise_lhs(tex: str) -> str:
    """A left-hand side reduced to what identifies it: 'd mse/dw9' for \\frac{d \\text{MSE}}{dw_9}.

    Spaces, braces, parentheses, underscores, '*', font and sizing commands and case are
    dropped; \\partial and ∂ read as d; primes as '.
    """
    text = from_unicode(tex[:MAX_VALUE_CHARS]).replace("∂", "d").replace("′", "'")
    text = re.sub(r"\\(?:left|right|displaystyle|[bB]igg?[lr]?)(?![A-Za-z])", "", text)
    text = re.sub(r"\\partial(?![A-Za-z])", "d", text)
    text = re.sub(r"\\prime(?![A-Za-z])", "'", text)
    text = _fractions(_FONT.sub("", text))
    text = _SPACING.sub("", text)
    text = re.sub(r"[{}()\[\]\s_*]", "", text).replace("^'", "'")
    return text.lower()


def spellings(check: ValuesCheck, name: str) -> frozenset[str]:
    """Every normalised left side that names quantity `name`."""
    quantity = check.quantities[name]
    return frozenset(
        normalise_lhs(form.replace("{}", symbol))
        for form in check.forms[quantity.form]
        for symbol in quantity.symbol
    )


# --- equations in a writeup ---------------------------------------------------------------------
@dataclass
class Equation:
    """One chain `lhs = ... = last` as written, on writeup line `line`."""

    parts: list[str]
    line: int

    @property
    def lhs(self) -> str:
        return normalise_lhs(_CONNECTIVE.sub("", self.parts[0], count=1) or self.parts[0])

    @property
    def last(self) -> str:
        return self.parts[-1].strip() if len(self.parts) > 1 else ""


_CONNECTIVE = re.compile(
    r"^\s*(?:\\text\{\s*)?(?:(?:so|thus|hence|therefore|then|and|finally|now|similarly|likewise|also"
    r"|we\s+(?:get|have|obtain|find)|which\s+gives|this\s+gives|giving|i\.e\.)(?![A-Za-z])"
    r"[\s,:]*)+(?:\}\s*)?(?=\S)",
    re.I,
)
"""Words that lead into a left side in prose ("Therefore, h1 = 0.9866"): not part of it."""
_RELATION = re.compile(r":=|=|\\approx(?![A-Za-z])|\\simeq(?![A-Za-z])|\\cong(?![A-Za-z])|≈")
_CONTINUES = re.compile(r"^\s*(?:[+\-*/·×]|\\cdot|\\times|\\ast)")
_ROW_BREAK = re.compile(r"\\\\")


_SEPARATOR = re.compile(
    r"\s*(?:[,;]|\\q?quad(?![A-Za-z])|\\(?:text|mathrm|mbox)\s*\{\s*,?\s*and\s*\}|\s+and\s+"
    r"|\\[hH]space\*?\{[^{}]*\}|\x1f)\s*"
)
_STARTS_LHS = re.compile(
    r"(?:[A-Za-z∂]|\\(?!(?:cdot|times|ast|div|pm|mp|quad|qquad|text|mathrm|mbox|ldots|dots|cdots"
    r"|approx|hspace)(?![A-Za-z]))[A-Za-z]+)"
)
_COLUMN = re.compile(r"&(?!\s*(?::=|=|\\approx(?![A-Za-z])|\\simeq|\\cong|≈))")


def _split(row: str) -> list[str]:
    row = re.sub(r"\\(?:begin|end)\{[A-Za-z]+\*?\}", " ", row)
    row = re.sub(r"\\tag\*?\{[^{}]*\}|\\[,;:!](?![A-Za-z])", " ", row)
    # an '&' not before a relation separates columns ("h_1 &= 0.98 & h_2 &= 0.99"); one that
    # only starts a row (a wrapped chain's "& = ..." or "& * ...") is alignment
    row = re.sub(r"^\s*\x1f", " ", _COLUMN.sub("\x1f", row)).replace("&", " ")
    return top_level_split(row, _RELATION)


def _separate(parts: list[str]) -> list[list[str]]:
    """One row stating several equations ("h_1 = 0.98661, \\quad h_2 = 0.99503", "o1 = 0.89
    and o2 = 0.80") split where a part between two relations ends one right side and, after an
    explicit separator (a comma, a semicolon, \\quad, 'and', a column '&'), starts a left side.
    Without this the first left side would take the last value of the row."""
    groups: list[list[str]] = [[parts[0]]]
    for index, part in enumerate(parts[1:], start=1):
        if index == len(parts) - 1:
            groups[-1].append(part)
            break
        cut = None
        for match in _separators(part):
            rest = part[match.end() :]
            if _STARTS_LHS.match(rest) and part[: match.start()].strip():
                cut = match
                break
        if cut is None:
            groups[-1].append(part)
        else:
            groups[-1].append(part[: cut.start()])
            groups.append([part[cut.end() :]])
    return [[p.replace("\x1f", " ") for p in group] for group in groups]


def _separators(part: str) -> list[re.Match[str]]:
    """Matches of _SEPARATOR outside every group of `part`, left to right."""
    return top_level_matches(part, _SEPARATOR)


def _chains(rows: list[tuple[int, str]], into: list[Equation]) -> None:
    """Rows of one math block to equations: a row starting with a relation or an operator
    continues the previous equation (a long chain wrapped by the student); a row stating
    several equations gives each its own."""
    block_start = len(into)
    for line, row in rows:
        first, *others = _separate(_split(row))
        parts = first
        if "".join(parts).strip().replace("\x1f", ""):
            continues = not parts[0].strip() or _CONTINUES.match(parts[0])
            if continues and into and (len(into) > block_start or not parts[0].strip()):
                previous = into[-1]
                previous.parts[-1] = f"{previous.parts[-1]} {parts[0]}"
                previous.parts.extend(parts[1:])
            elif len(parts) > 1:
                into.append(Equation(parts, line))
        into.extend(Equation(group, line) for group in others if len(group) > 1)


def equations(text: str, first_line: int = 1) -> list[Equation]:
    """Every equation in `text` (display math, inline math, plain lines), in order."""
    lines = split_lines(text)
    _, outside = scan_fences(lines)
    body = "\n".join(line if out else "" for line, out in zip(lines, outside, strict=True))
    found: list[tuple[int, int, list[Equation]]] = []
    masked = list(body)

    breaks = [index for index, char in enumerate(body) if char == "\n"]

    def line_of(offset: int) -> int:  # a search, not a count from the start: linear overall
        return first_line + bisect.bisect_left(breaks, offset)

    for match in DISPLAY_MATH.finditer(body):
        inner = match.group(1) or match.group(2) or match.group(5) or ""
        start = match.start(1) if match.group(1) is not None else match.start(0)
        rows, offset = [], 0
        for row in _ROW_BREAK.split(inner):
            rows.append((line_of(start + offset), row))
            offset += len(row) + 2
        found.append((line_of(start), start, _as_rows(rows)))
        masked[match.start() : match.end()] = " " * (match.end() - match.start())
    rest = "".join(masked)
    for match in INLINE_MATH.finditer(rest):
        found.append((line_of(match.start()), match.start(), _as_rows([(0, match.group(1))])))
    offset = 0
    for line in rest.split("\n"):
        if "=" in line and "$" not in line:
            plain = re.sub(r"^\s*(?:[-*•>]\s+|\d+[.)]\s+)?", "", line.replace("**", ""))
            found.append((line_of(offset), offset, _as_rows([(0, plain)])))
        offset += len(line) + 1
    found += _table_rows(body, line_of)
    found += _spaced_rows(body, line_of)
    found.sort(key=lambda item: (item[0], item[1]))
    chained: list[Equation] = []
    for first, _, block in found:
        rows = [(eq.line or first, eq.parts[0]) for eq in block]
        _chains(rows, chained)
    return chained


_PIPE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_GRADIENT_HEADER = re.compile(r"grad|deriv|\\partial|∂|\\nabla|\bd\s*[LE]\s*/", re.I)
_UPDATED_HEADER = re.compile(r"new|updat|t\s*\+\s*1|after|next", re.I)
_START_HEADER = re.compile(
    r"before|initial|old|prev|start|\bt\s*=\s*0|\^\{?\(?0|\bt\b(?!\s*\+)", re.I
)
_BARE_SYMBOL = re.compile(r"^[a-z]\d{1,2}$")


def _table_rows(body: str, line_of: Any) -> list[tuple[int, int, list[Equation]]]:
    """Markdown pipe-table rows as equations: '| $h_1$ | 0.98661 |' states h_1 = 0.98661.
    A column headed as gradients ('Gradient', '$\\partial L/\\partial w$') or as updated values
    ('Updated', 'w^{t+1}', 'new') turns a bare symbol in the first column (w_1) into that
    quantity's left side; any other header is kept in the left side, where it names no known
    quantity, so the row reaches a TA rather than a wrong quantity."""
    found: list[tuple[int, int, list[Equation]]] = []
    lines = body.split("\n")
    offset = 0
    header: list[str] | None = None
    previous_pipe = False
    for index, line in enumerate(lines):
        start, offset = offset, offset + len(line) + 1
        stripped = line.strip()
        if stripped.count("|") < 2 or (not stripped.startswith("|") and "=" in stripped):
            header, previous_pipe = None, False
            continue
        if _PIPE_SEPARATOR.match(stripped):
            previous_pipe = True
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if not previous_pipe and _PIPE_SEPARATOR.match(following):
            header, previous_pipe = cells, True
            continue
        previous_pipe = True
        key = cells[0].strip().strip("$").strip()
        if not key or len(cells) < 2:
            continue
        rows: list[Equation] = []
        for column, cell in enumerate(cells[1:], start=1):
            value = cell.strip().strip("$").strip()
            if "=" in value or parse_written(value) is None:
                continue
            title = header[column].strip().strip("$") if header and column < len(header) else ""
            rows.append(Equation([f"{_table_lhs(key, title, len(cells))} = {value}"], 0))
        if rows:
            found.append((line_of(start), start, rows))
    return found


_SPACED_KEY = re.compile(r"^\$?[A-Za-z\\][\w\\{}^'()+,\-]{0,30}\$?$")
_SPACED_CELL = re.compile(r"\s{2,}")


def _spaced_cells(line: str) -> list[str]:
    """A line's cells: split at runs of two or more spaces where it has any (a plain-text table,
    a LaTeX `tabular` as the .tex reader writes it), else at single spaces (a typeset PDF, whose
    columns come out one space apart)."""
    stripped = line.strip()
    parts = _SPACED_CELL.split(stripped) if _SPACED_CELL.search(stripped) else stripped.split()
    return [part.strip() for part in parts]


def _spaced_row(cells: list[str]) -> bool:
    """A table row of values: a symbol, then numbers only ('w_{1} 0.00198 0.09998')."""
    if len(cells) < 2 or not _SPACED_KEY.match(cells[0]):
        return False
    return all(re.search(r"\d", c) and parse_written(c.strip("$")) is not None for c in cells[1:])


def _spaced_rows(body: str, line_of: Any) -> list[tuple[int, int, list[Equation]]]:
    """Tables without pipes as equations: a LaTeX `tabular` (read from the .tex, or laid out
    from the PDF) and a plain-text table give their values as a Markdown pipe table does.

    Two or more consecutive rows of a symbol and numbers, all with as many cells, form a table.
    The line just above names the columns when it splits into as many cells ('Parameter
    Gradient Updated'); a table of two columns needs no names (the symbol's value). Any other
    table (titles of several words in a PDF, where the column a word belongs to is lost) keeps a
    left side no quantity has, so that the values reach a TA rather than the wrong quantity.
    Linear: each line is split once.
    """
    lines = body.split("\n")
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    cells = [_spaced_cells(line) if "|" not in line and "=" not in line else [] for line in lines]
    rows = [_spaced_row(c) for c in cells]
    found: list[tuple[int, int, list[Equation]]] = _transposed(lines, starts, cells, line_of)
    index = 0
    while index < len(lines):
        end = index
        while end < len(lines) and rows[end] and len(cells[end]) == len(cells[index]):
            end += 1
        if end - index < 2:
            index = max(end, index + 1)
            continue
        width = len(cells[index])
        above = cells[index - 1] if index else []
        titles = [c.strip("$") for c in above] if len(above) == width else None
        for k in range(index, end):
            key = cells[k][0].strip("$")
            equations = []
            for column, cell in enumerate(cells[k][1:], start=1):
                if titles is not None:
                    lhs = _table_lhs(key, titles[column], width)
                elif width == 2:
                    lhs = key
                else:
                    lhs = f"column {column} of {key}"  # no quantity's left side: for a TA
                equations.append(Equation([f"{lhs} = {cell.strip('$')}"], 0))
            found.append((line_of(starts[k]), starts[k], equations))
        index = end
    return found


def _number_cell(cell: str) -> bool:
    return bool(re.search(r"\d", cell)) and parse_written(cell.strip("$")) is not None


def _symbol_cell(cell: str) -> bool:
    """A cell naming a quantity by its symbol: 'w_1', '$h_{2}$', 'b1', 'L' (not a word)."""
    if not _SPACED_KEY.match(cell) or _number_cell(cell):
        return False
    return (
        bool(re.search(r"[_\\^]", cell))
        or re.fullmatch(r"[a-z]{1,2}\d{0,2}", normalise_lhs(cell)) is not None
    )


def _transposed(
    lines: list[str], starts: list[int], cells: list[list[str]], line_of: Any
) -> list[tuple[int, int, list[Equation]]]:
    """Tables written across: a row of symbols ('w_1 w_2 w_3', after an optional corner
    label), then rows of numbers, each after an optional label naming what they are
    ('Gradient 0.00198 0.000404 ...'). Rows of numbers without a label are the symbols' values.
    """
    found: list[tuple[int, int, list[Equation]]] = []
    for index, head in enumerate(cells):
        corner = 1 if head and not _symbol_cell(head[0]) else 0
        symbols = [c.strip("$") for c in head[corner:]]
        if len(symbols) < 2 or not all(_symbol_cell(c) for c in head[corner:]):
            continue
        for k in range(index + 1, len(lines)):
            row = cells[k]
            labelled = len(row) == len(symbols) + 1 and not _number_cell(row[0])
            values = row[1:] if labelled else row
            if len(values) != len(symbols) or not all(_number_cell(v) for v in values):
                break
            title = row[0].strip("$") if labelled else ""
            equations = [
                Equation([f"{_table_lhs(key, title, 3 if title else 2)} = {v.strip('$')}"], 0)
                for key, v in zip(symbols, values, strict=True)
            ]
            found.append((line_of(starts[k]), starts[k], equations))
    return found


_VALUE_HEADER = re.compile(r"value|result|answer|computed|number|output|forward|activation", re.I)


def _table_lhs(key: str, title: str, width: int) -> str:
    # a column of values ('Value', 'Forward value', 'Output'): the symbol's own value
    plain = not title or (
        _VALUE_HEADER.search(title) is not None
        and not (
            _START_HEADER.search(title)
            or _GRADIENT_HEADER.search(title)
            or _UPDATED_HEADER.search(title)
        )
    )
    if not _BARE_SYMBOL.match(normalise_lhs(key)):
        return key if width == 2 or plain else f"{title} {key}"
    if _START_HEADER.search(title):  # initial values: no graded quantity
        return f"{title} {key}"
    if _GRADIENT_HEADER.search(title):
        return f"\\frac{{\\partial L}}{{\\partial {key}}}"
    if _UPDATED_HEADER.search(title):
        return f"{key}^{{new}}"
    if plain:
        return key
    return f"{title} {key}"


def _as_rows(rows: list[tuple[int, str]]) -> list[Equation]:
    """Rows carried as one-part equations until `_chains` splits them (keeps one code path)."""
    return [Equation([row], line) for line, row in rows]


# --- reading one quantity -----------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """What a student stated for one quantity: a number, or why a TA must look, or nothing."""

    name: str
    written: Written | None = None
    source: SourceRef | None = None
    where: str = ""
    pending: str | None = None
    excerpt: tuple[str, ...] = ()
    problem: str | None = None  # why the stated text is not a number (an answer-sheet mistake)

    @property
    def missing(self) -> bool:
        return self.written is None and self.pending is None and self.problem is None


def read_quantity(ctx: GradingContext, problem: Problem, name: str) -> Reading:
    """The student's value for quantity `name` of `problem`: answer sheet, then documents."""
    key = f"values:{problem.id}:{name}"
    if key not in ctx.memo:
        ctx.memo[key] = _read(ctx, problem, name)
    reading: Reading = ctx.memo[key]
    return reading


def _owner(problem: Problem, name: str) -> ValuesCheck | None:
    for check in problem.checks:
        if isinstance(check, ValuesCheck) and name in check.quantities:
            return check
    return None


def _read(ctx: GradingContext, problem: Problem, name: str) -> Reading:
    check = _owner(problem, name)
    if check is None:
        return Reading(name)
    section = check.section or problem.id
    sub = ctx.submission
    answer = sub.answers.get(f"{section}.{name}") if sub.answer_sheet_error is None else None
    if answer is not None:
        return _from_sheet(sub.root, name, answer)
    for doc in sub.documents:
        reading = _from_document(doc, problem, check, name)
        if not reading.missing:
            return reading
    return Reading(name)


def _from_sheet(root: Path, name: str, answer: Answer) -> Reading:
    value = answer.value
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = _raw_toml(root, answer) or repr(value)
    written = parse_written(value) if isinstance(value, str) else None
    if written is None:
        return Reading(
            name,
            source=answer.source,
            where=str(answer.source),
            problem=f'expected a number such as "0.0765", got {answer.value!r}',
        )
    return Reading(name, written, answer.source, str(answer.source))


def _raw_toml(root: Path, answer: Answer) -> str | None:
    """A bare TOML number as written on its line (TOML reads 0.50 as 0.5: the digits matter)."""
    line = answer.source.line
    if answer.source.file != ANSWER_SHEET:  # a writeup's line is not a line of the sheet
        return None
    try:
        lines = (root / ANSWER_SHEET).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not line or line > len(lines):
        return None
    key = re.escape(answer.key.rpartition(".")[2])
    match = re.search(rf'(?:^|[{{,.\s])"?{key}"?\s*=\s*([-+0-9.eE_]+)', lines[line - 1])
    return match.group(1).replace("_", "") if match else None


def _from_document(doc: Document, problem: Problem, check: ValuesCheck, name: str) -> Reading:
    found = problem_section(doc, problem.id)
    if found is None and doc.sections:
        return Reading(name)
    start, text = (found[0].start_line, found[1]) if found else (1, doc.text)
    names = spellings(check, name)
    stated = [eq for eq in equations(text, start) if eq.lhs in names]
    if not stated:
        return _maybe_elsewhere(doc, check, name, found, text, start)
    values = [(eq, parse_written(eq.last)) for eq in stated]
    numbers = [(eq, w) for eq, w in values if w is not None]
    if not numbers:
        eq = stated[-1]
        return _doubt(doc, name, eq.line, found, f"no number after the last '=' ({eq.last!r})")
    best_eq, best = max(numbers, key=lambda pair: (-pair[1].exponent, pair[0].line))
    if any(agreement(w, float(best.value), truncation=True) is None for _, w in numbers):
        shown = ", ".join(f"{w.text} (line {eq.line})" for eq, w in numbers)
        return _doubt(doc, name, best_eq.line, found, f"stated with different values: {shown}")
    return Reading(name, best, doc.ref(best_eq.line), doc.describe(best_eq.line))


def _maybe_elsewhere(
    doc: Document, check: ValuesCheck, name: str, found_section: Any, text: str, start: int
) -> Reading:
    """Not stated under a known spelling: missing, unless the section names none of the check's
    quantities in a way the grader knows yet states numbers under left sides mentioning this
    one's symbol ('\\nabla_{w_1} L = 0.002'): then the student's notation, not the student,
    is the gap, and a TA looks."""
    symbols = {normalise_lhs(s) for s in check.quantities[name].symbol}
    known = {s for other in check.quantities for s in spellings(check, other)}
    found = equations(text, start)
    if doc.typeset:  # a PDF's left sides are glyphs laid out again: one not known may be this
        for eq in found:
            if eq.lhs not in known and parse_written(eq.last) is not None:
                why = f"typeset in a PDF, {eq.parts[0].strip()!r} may be {name}"
                return _doubt(doc, name, eq.line, found_section, why)
    if any(eq.lhs in known for eq in found):
        return Reading(name)
    for eq in found:
        if parse_written(eq.last) is not None and any(
            re.search(rf"{re.escape(s)}(?![0-9])", eq.lhs) for s in symbols
        ):
            why = f"no left side the grader recognises; is {eq.parts[0].strip()!r} {name}?"
            return _doubt(doc, name, eq.line, found_section, why)
    return Reading(name)


def _doubt(doc: Document, name: str, line: int, found: Any, why: str) -> Reading:
    section = found[0] if found else None
    first, last = (section.start_line, section.end_line) if section else (1, line + 2)
    header = f"{doc.file}, lines {first}-{last}:" if section else f"{doc.file}:"
    excerpt = (header, *doc.excerpt(first, last, focus=line, limit=3))
    return Reading(name, None, doc.ref(line), doc.describe(line), pending=why, excerpt=excerpt)


# --- the judge ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    name: str
    credit: float  # fraction of the quantity's points
    line: str  # for details
    kind: str  # right | carried | wrong | missing | pending
    source: SourceRef | None = None


def _expected(ctx: GradingContext, check: ValuesCheck) -> dict[str, float]:
    if isinstance(check.expected, RefValue):
        assert ctx.reference is not None
        values = ctx.reference.value(check.expected)
    else:
        values = check.expected
    return {name: float(values[name]) for name in check.quantities}


def _carried(
    ctx: GradingContext, problem: Problem, check: ValuesCheck, name: str, written: Written
) -> str | None:
    """'dL_db2 = 0.12' when the value follows from the student's own earlier values."""
    expression = check.quantities[name].carried
    if expression is None:
        return None
    try:
        parsed = parse_expression(expression, _problem_quantities(problem))
    except ExpressionError:
        return None
    inputs: dict[str, float] = {}
    for used in sorted(parsed.free_names):
        reading = read_quantity(ctx, problem, used)
        if reading.written is None:
            return None
        inputs[used] = float(reading.written.value)
    try:
        value = parsed.evaluate(**inputs)
    except ExpressionError:
        return None
    if agreement(written, value, check.truncation) is None:
        return None
    return ", ".join(f"{k} = {read_quantity(ctx, problem, k).written.text}" for k in inputs)  # type: ignore[union-attr]


def _value_before_the_step(problem: Problem, check: ValuesCheck, name: str) -> float | None:
    """An updated value's starting point (its `carried` expression with every input at 0): an
    answer that equals it too shows no update, however right it looks at the digits written."""
    expression = check.quantities[name].carried
    if expression is None:
        return None
    try:
        parsed = parse_expression(expression, _problem_quantities(problem))
        return float(parsed.evaluate(**dict.fromkeys(parsed.free_names, 0.0)))
    except ExpressionError:
        return None


def _inputs_right(ctx: GradingContext, problem: Problem, check: ValuesCheck, name: str) -> bool:
    """Whether the student's own values that an update is computed from (its gradients) are
    all right: then an update that also reads as the starting value is that step, too small to
    show at the digits written, and not a step left out."""
    expression = check.quantities[name].carried
    assert expression is not None
    parsed = parse_expression(expression, _problem_quantities(problem))
    truths = {
        quantity: value
        for other in problem.checks
        if isinstance(other, ValuesCheck)
        for quantity, value in _expected(ctx, other).items()
    }
    for used in parsed.free_names:
        written = read_quantity(ctx, problem, used).written
        if written is None or agreement(written, truths[used], check.truncation) is None:
            return False
    return True


def _problem_quantities(problem: Problem) -> list[str]:
    return [n for c in problem.checks if isinstance(c, ValuesCheck) for n in c.quantities]


def _verdict(
    ctx: GradingContext, problem: Problem, check: ValuesCheck, name: str, truth: float
) -> Verdict:
    reading = read_quantity(ctx, problem, name)
    at = f" ({reading.where})" if reading.where else ""
    if reading.pending is not None:
        lines = "\n".join(f"    {e}" for e in reading.excerpt)
        return Verdict(name, 0.0, f"? {name}{at}: for a TA: {reading.pending}\n{lines}", "pending")
    if reading.problem is not None:
        return Verdict(name, 0.0, f"✗ {name}{at}: {reading.problem}", "wrong", reading.source)
    if reading.written is None:
        section = check.section or problem.id
        return Verdict(
            name,
            0.0,
            f'✗ {name}: not answered (answers.toml: [{section}] {name} = "...")',
            "missing",
        )
    written = reading.written
    said = f"{name} = {written.text}{at}"
    how = agreement(written, truth, check.truncation)
    if how is not None:
        coarse = (
            (written.significant == 0 and truth != 0)
            or written.decimals < check.min_decimals
            or 0 < written.significant < check.min_significant
        )
        if coarse:
            why = (
                f"agrees with {truth:.6g} only to the {written.significant} significant "
                f"digit(s) and {written.decimals} decimal(s) written"
            )
            return Verdict(name, 0.0, f"? {said}: for a TA: {why}", "pending")
        before = _value_before_the_step(problem, check, name)
        # rounding only: a starting value like 0.6 is a hair below itself as a float, which
        # truncation would read as 0.5999
        unchanged = before is not None and agreement(written, before, truncation=False)
        if unchanged and not _inputs_right(ctx, problem, check, name):
            why = f"{written.text} is also the value before the step ({before:.6g}): no step shown"
            return Verdict(name, 0.0, f"? {said}: for a TA: {why}", "pending")
        note = " (truncated)" if how == "truncated" else ""
        return Verdict(name, 1.0, f"✓ {said}{note}", "right", reading.source)
    correct = f"correct: {at_precision(truth, written)} ({truth:.6g})"
    follows = _carried(ctx, problem, check, name, written)
    if follows is not None:
        line = f"~ {said}: follows from your {follows} (error carried forward); {correct}"
        return Verdict(name, check.carried_credit, line, "carried", reading.source)
    unread = _unread_inputs(ctx, problem, check, name)
    if unread:
        why = (
            f"wrong as written ({correct}), but it may follow from your {', '.join(unread)}, "
            "which a TA reads (error carried forward)"
        )
        return Verdict(name, 0.0, f"? {said}: for a TA: {why}", "pending", reading.source)
    return Verdict(name, 0.0, f"✗ {said}: wrong; {correct}", "wrong", reading.source)


def _unread_inputs(
    ctx: GradingContext, problem: Problem, check: ValuesCheck, name: str
) -> list[str]:
    """The student's own values a carried-forward update is computed from that only a TA can
    read (pending): until one does, a wrong update may still earn carried-forward credit, so
    calling it wrong would take points a TA might give."""
    expression = check.quantities[name].carried
    if expression is None:
        return []
    try:
        parsed = parse_expression(expression, _problem_quantities(problem))
    except ExpressionError:
        return []
    return [
        used
        for used in sorted(parsed.free_names)
        if read_quantity(ctx, problem, used).pending is not None
    ]


def judge_values(
    problem: Problem, check: ValuesCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """Each quantity right, carried forward, wrong, missing or pending; credit per quantity."""
    if isinstance(check.expected, RefValue) and ctx.reference is None:
        return needs_reference(check, part, check.points)
    truths = _expected(ctx, check)
    verdicts = [_verdict(ctx, problem, check, n, truths[n]) for n in check.quantities]
    share = check.points / len(verdicts)
    score = sum(v.credit for v in verdicts) * share
    by_kind = {k: [v.name for v in verdicts if v.kind == k] for k in _KINDS}
    summary = f"{len(by_kind['right'])}/{len(verdicts)} right"
    summary += "".join(f"; {_LABELS[k]}: {', '.join(by_kind[k])}" for k in _KINDS[1:] if by_kind[k])
    details = [line for v in verdicts if v.kind != "right" for line in v.line.split("\n")]
    if by_kind["right"]:
        details.append("✓ right: " + ", ".join(by_kind["right"]))
    wrong = [v for v in verdicts if v.kind in ("wrong", "missing")]
    # Quantities are judged one by one, so the decided ones keep their verdicts (their points
    # count now) and only the pending ones' share waits for a TA: a TA can add at most that,
    # and nothing is awarded for it until a TA does.
    pending = len(by_kind["pending"]) * share
    if by_kind["pending"]:
        status = Status.PENDING
        summary = f"for a TA: {summary}"
        if len(by_kind["pending"]) < len(verdicts):
            summary += (
                f" ({score:.6g} of {points_text(check.points)} awarded for the others; the "
                f"unclear are worth up to {pending:.6g} more)"
            )
    elif wrong or score < check.points - 1e-9:  # carried forward at full credit passes
        status = Status.FAILED
    else:
        status = Status.PASSED
    first = next((v.source for v in verdicts if v.kind != "right" and v.source), None)
    return result(
        check,
        part,
        status,
        score,
        check.points,
        summary,
        details=details,
        source=first,
        pending_points=round(pending, 6),
    )


_KINDS = ("right", "wrong", "carried", "missing", "pending")
_LABELS = {
    "wrong": "wrong",
    "carried": "carried forward",
    "missing": "not answered",
    "pending": "unclear",
}
