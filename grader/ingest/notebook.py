"""Read Jupyter notebooks (.ipynb, nbformat 4, also 3) as text and code blocks, without nbformat.

Why a reader of our own: a notebook is untrusted JSON, and all the grader needs from it is the
cell sources in order. The `json` module does that with bounded work and no extra dependency;
nothing in the notebook is executed or imported here (code runs only in the sandbox, after
assembly by `grader.ingest.writeup.assemble_class` / `assemble_script`).

Line numbers. A notebook has no file lines a student can look up, so the cells are laid out in
one *flattened text* (`NotebookDocument.text`): markdown cells as they are, each code cell inside
a ```python fence, cells separated by a blank line. Every code line therefore has a unique
number in that text (a running count), `find_sections` / the answer extractors of
`grader.ingest.writeup` work on the text unchanged, and `NotebookDocument.locate(line)` turns any
such
number back into what the student sees: "cell 3, line 2" (`describe`).
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from dataclasses import dataclass

from grader.ingest.budget import check as check_budget
from grader.ingest.writeup import CodeBlock

__all__ = [
    "Cell",
    "NotebookDocument",
    "NotebookError",
    "notebook_code_blocks",
    "read_notebook",
]

MAX_NOTEBOOK_BYTES = 64 * 2**20
"""Bigger files are refused (outputs with images make notebooks large; sources are small)."""
MAX_JSON_VALUES = 2_000_000
"""Upper bound on the JSON values (and keys) a notebook may hold, counted before parsing as its
`{`, `[`, `,` and `:` bytes (every value but the first in a container follows a comma, every key
precedes a colon). Parsed, a value costs up to ~100 bytes of Python objects whatever its size in
the file, so this bounds the parse at a few hundred MB: a 64 MiB file of `{},` would otherwise
cost 1.7 GB. Real notebooks hold about one such byte in 15 (outputs are long strings)."""
MAX_CELLS = 5000
MAX_SOURCE_CHARS = 2_000_000
"""Characters of cell sources read in total; the rest of the notebook is ignored."""

# IPython syntax that is not Python: line magics, shell escapes, help. Commented out (so the
# line numbers stay put) and noted.
_MAGIC = re.compile(r"^(\s*)([%!]|\?\?|\?(?=\w))")


class NotebookError(ValueError):
    """The file is not a notebook we can read; `message` says why, for the student."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Cell:
    """One cell. `number` is its 1-based position from the top, counting every cell (what a
    student counts in Jupyter); `first_line`/`last_line` are its source lines in the flattened
    text (0/0 for an empty cell)."""

    number: int
    kind: str  # "code" | "markdown" | "raw"
    source: str
    first_line: int
    last_line: int
    execution_count: int | None = None


@dataclass(frozen=True)
class NotebookDocument:
    file_name: str
    text: str
    cells: tuple[Cell, ...]
    code_blocks: tuple[CodeBlock, ...]
    notes: tuple[str, ...] = ()

    def locate(self, line: int) -> tuple[int, int] | None:
        """(cell number, line within the cell) of a line of `text`, or None (fence/blank).

        A binary search over the cells (laid out in order): callers ask for every line of a
        section, which a scan of all cells per line made quadratic."""
        cells = self._with_lines
        index = bisect.bisect_right(cells, line, key=lambda c: c.first_line) - 1
        if index >= 0 and line <= cells[index].last_line:
            cell = cells[index]
            return cell.number, line - cell.first_line + 1
        return None

    @functools.cached_property
    def _with_lines(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.first_line]

    def describe(self, line: int) -> str:
        """'analysis.ipynb, cell 3, line 2' for a line of `text` (or the file name alone)."""
        where = self.locate(line)
        if where is None:
            return self.file_name
        return f"{self.file_name}, cell {where[0]}, line {where[1]}"


def _source(cell: dict[str, object], key: str, number: int) -> str:
    value = cell.get(key, "")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    raise NotebookError(f"cell {number}: its source is not text")


def _cells(data: object) -> list[dict[str, object]]:
    if not isinstance(data, dict):
        raise NotebookError("not a notebook: the JSON top level is not an object")
    major = data.get("nbformat")
    if (isinstance(major, int) and major >= 4) or "cells" in data:
        cells = data.get("cells")
        if not isinstance(cells, list):
            raise NotebookError("not a notebook: no list of cells")
        return [c for c in cells if isinstance(c, dict)]
    if major == 3:  # nbformat 3: cells live in worksheets, code sources under "input"
        sheets = data.get("worksheets")
        if not isinstance(sheets, list):
            raise NotebookError("not a notebook: nbformat 3 without worksheets")
        out: list[dict[str, object]] = []
        for sheet in sheets:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                for cell in sheet["cells"]:
                    if isinstance(cell, dict):
                        converted = dict(cell)
                        if cell.get("cell_type") == "code":
                            converted["source"] = cell.get("input", "")
                        elif cell.get("cell_type") == "heading":
                            converted["cell_type"] = "markdown"
                        out.append(converted)
        return out
    raise NotebookError(f"unsupported notebook format (nbformat {major!r}); save it as version 4")


def read_notebook(raw: bytes, file_name: str) -> NotebookDocument:
    """Parse a notebook into its flattened text, cells and code blocks (kind "cell").

    Raises `NotebookError` (a ValueError) for anything that is not a readable notebook: too
    large, not UTF-8, invalid JSON (with the JSON error's line and column), no cells, a cell
    source that is not text.
    """
    if not isinstance(raw, bytes | bytearray):
        raise NotebookError("the notebook must be given as bytes")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(
            f"{file_name} is too large to read ({len(raw) // 2**20} MiB; clear the outputs)"
        )
    values = sum(raw.count(mark) for mark in (b"{", b"[", b",", b":"))
    if values > MAX_JSON_VALUES:
        raise NotebookError(
            f"{file_name} holds too many JSON values to read ({values:,}; clear the outputs)"
        )
    try:
        text = bytes(raw).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{file_name} is not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{file_name} is not valid notebook JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    except RecursionError:
        raise NotebookError(f"{file_name} is nested too deeply to read") from None
    return _layout(_cells(data)[:MAX_CELLS], file_name)


def _layout(cells: list[dict[str, object]], file_name: str) -> NotebookDocument:
    lines: list[str] = []
    laid_out: list[Cell] = []
    blocks: list[CodeBlock] = []
    notes: list[str] = []
    budget = MAX_SOURCE_CHARS
    for number, cell in enumerate(cells, start=1):
        check_budget()
        kind = cell.get("cell_type")
        kind = kind if kind in ("code", "markdown", "raw") else "raw"
        source = _source(cell, "source", number)[: max(budget, 0)]
        budget -= len(source)
        source_lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if source_lines and source_lines[-1] == "":
            source_lines.pop()
        if lines:
            lines.append("")
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", source)), default=0))
        if kind == "code":
            lines.append(f"{fence}python")
        first = len(lines) + 1 if source_lines else 0
        code: list[tuple[int, str]] = []
        for offset, line in enumerate(source_lines):
            if kind == "code":
                magic = _MAGIC.match(line)
                if magic:
                    notes.append(
                        f"cell {number}, line {offset + 1}: IPython syntax "
                        f"{line.strip()[:40]!r} commented out"
                    )
                    line = f"{magic.group(1)}# {line.lstrip()}"
                code.append((len(lines) + 1, line.replace("\t", "    ")))
            lines.append(line)
        last = len(lines) if source_lines else 0
        if kind != "code" and len(re.findall(r"^[^\S\n]*(?:`{3,}|~{3,})", source, flags=re.M)) % 2:
            lines.append("```")  # close a fence the cell left open, so it cannot swallow others
        if kind == "code":
            lines.append(fence)
            if code:
                blocks.append(CodeBlock(tuple(code), "cell", "python", f"cell {number}"))
        count = cell.get("execution_count")
        laid_out.append(
            Cell(
                number,
                kind,
                source,
                first,
                last,
                count if isinstance(count, int) and not isinstance(count, bool) else None,
            )
        )
    return NotebookDocument(
        file_name, "\n".join(lines), tuple(laid_out), tuple(blocks), tuple(notes)
    )


def notebook_code_blocks(raw: bytes, file_name: str) -> list[CodeBlock]:
    """The code cells of a notebook, in order, as `CodeBlock`s of kind "cell".

    Each block's line numbers are lines of the flattened text (unique across the notebook);
    use `read_notebook(raw, file_name).describe(line)` to show "cell N, line M". Raises
    `NotebookError` as `read_notebook` does.
    """
    return list(read_notebook(raw, file_name).code_blocks)
