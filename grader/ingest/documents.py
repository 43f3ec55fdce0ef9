"""Writeups and notebooks as the grader holds them, and the sources generated from them.

Why a module of its own: `grader.ingest.submission` reads these files (it needs the types for
`Submission`)
and `grader.judges.sources` builds modules and answers from them (it needs `Submission`); keeping
the
plain data here lets both import it without a cycle. Nothing here runs student code.

Line numbers. A writeup line is a line of the file as the student's editor shows it. A notebook
has no such lines: its cells are laid out in one flattened text (`grader.ingest.notebook`), and
`Document.describe` turns a line of that text into "analysis.ipynb, cell 3, line 2".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from grader.ingest.notebook import NotebookDocument, NotebookError, read_notebook
from grader.ingest.pdf import PDF_SUFFIX, PdfError, read_pdf
from grader.ingest.tex import TEX_SUFFIX, read_tex
from grader.ingest.writeup import (
    CodeBlock,
    Section,
    extract_code_blocks,
    find_sections,
    split_lines,
)
from grader.results import PageImage, SourceRef

WRITEUP_SUFFIXES = frozenset({".md", ".txt", ".markdown", TEX_SUFFIX, PDF_SUFFIX})
NOTEBOOK_SUFFIX = ".ipynb"
# .txt files that are never answers: a student's dependency list, a licence.
NOT_WRITEUPS = ("requirements", "license", "licence", "cmakelists")
MAX_WRITEUP_BYTES = 2 * 2**20

WRITEUP = "writeup"
NOTEBOOK = "notebook"
PRECEDENCE = (NOTEBOOK, WRITEUP)  # notebooks answer before writeups (issue 3)


@dataclass(frozen=True)
class Document:
    """One writeup or notebook: its text (flattened for notebooks) and its code blocks."""

    file: str  # relative to the submission root
    kind: str  # WRITEUP | NOTEBOOK
    text: str
    blocks: tuple[CodeBlock, ...]
    sections: tuple[Section, ...] = ()
    notebook: NotebookDocument | None = None
    # A writeup laid out from other files (a .tex and what it \input's): the (file, line) of
    # the student's own files each line of `text` came from; None when `text` is the file.
    origins: tuple[tuple[str, int], ...] | None = None
    notes: tuple[str, ...] = ()  # what the reader could not read, for the report
    # Text extracted from a typeset PDF: its math is glyphs laid out in two dimensions (stacked
    # fractions, limits above sums), which text cannot carry unambiguously.
    typeset: bool = False
    # Text an OCR program read from scanned pages (a clean OCR layer; a noisy one is not read):
    # what it says may be misread, so only a passing verdict stands on it (`grader.judges.kinds`)
    # and its code is not assembled. `page_images` show those pages to a TA.
    ocr_pages: tuple[int, ...] = ()
    page_images: tuple[PageImage, ...] = ()

    def origin(self, line: int) -> tuple[str, int]:
        """The student's file and line a line of `text` came from."""
        if self.origins is not None and 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return self.file, line

    def lines_of(self, first: int, last: int) -> str:
        """'lines 12-30' (or 'report.tex:12 to parts/p4.tex:3') for a span of `text`."""
        (file_a, a), (file_b, b) = self.origin(first), self.origin(last)
        if file_a == file_b == self.file:
            return f"lines {a}-{b}"
        if ", page " in file_a and ", page " in file_b:
            page_a, page_b = file_a.rsplit(" ", 1)[-1], file_b.rsplit(" ", 1)[-1]
            if page_a == page_b:
                return f"page {page_a}, lines {a}-{b}"
            return f"page {page_a} line {a} to page {page_b} line {b}"
        return f"{file_a}:{a} to {file_b}:{b}"

    def describe(self, line: int | None) -> str:
        """Where a line of `text` is, as the student looks it up ('writeup.md:12')."""
        if not line:
            return self.file
        if self.notebook is not None:
            return self.notebook.describe(line)
        file, line = self.origin(line)
        return f"{file}, line {line}" if ", page " in file else f"{file}:{line}"

    def ref(self, line: int | None) -> SourceRef:
        """A `SourceRef` for a line of `text`.

        Notebook lines are lines of the flattened text, which mean nothing to a student: the
        reference names the notebook only, and messages carry `describe`'s "cell N, line M".
        """
        if self.notebook is not None or not line:
            return SourceRef(file=self.file)
        file, line = self.origin(line)
        if file.startswith(f"{self.file}, page "):  # a PDF: its page and the line on that page
            return SourceRef(file=self.file, page=int(file.rsplit(" ", 1)[-1]), line=line)
        return SourceRef(file=file, line=line)

    def excerpt(self, start: int, end: int, focus: int | None = None, limit: int = 5) -> list[str]:
        """Up to `limit` non-blank lines of start..end (around `focus`), numbered, for a TA."""
        lines = split_lines(self.text)
        numbered = [
            (n, lines[n - 1].rstrip())
            for n in range(max(start, 1), min(end, len(lines)) + 1)
            if lines[n - 1].strip()
            and (self.notebook is None or self.notebook.locate(n) is not None)  # not a fence
        ]
        if focus is not None and numbered:
            at = min(range(len(numbered)), key=lambda i: abs(numbered[i][0] - focus))
            first = max(0, min(at - limit // 2, len(numbered) - limit))
            numbered = numbered[first : first + limit]
        else:
            numbered = numbered[:limit]
        return [f"{self._label(n)}| {_shorten(text)}" for n, text in numbered]

    def _label(self, line: int) -> str:
        if self.notebook is not None:
            where = self.notebook.locate(line)
            return f"cell {where[0]}, line {where[1]}" if where else "    "
        file, line = self.origin(line)
        if file.startswith(f"{self.file}, page "):
            return f"p{file.rsplit(' ', 1)[-1]}:{line:<3}"
        return f"{line:>4}" if file == self.file else f"{file}:{line}"


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class GeneratedSource:
    """A module or script assembled from a document's code, written into the sandbox's copy.

    `path` is where the sandbox finds it (never in the student's folder); `line_map[i]` is the
    line of `origin` that generated line i+1 came from (0: a line the grader added, such as a
    default `import torch`). `notes` are the assembler's repairs and doubts, for the report.
    """

    path: str
    source: str
    line_map: tuple[int, ...]
    origin: Document
    symbol: str  # the class asked for, or the script file name
    name: str = ""  # the class actually found (a near-miss name), "" for scripts
    notes: tuple[str, ...] = ()
    syntax_error: str | None = None

    def origin_line(self, line: int | None) -> int:
        if line is not None and 1 <= line <= len(self.line_map):
            return self.line_map[line - 1]
        return 0

    def span(self) -> str:
        """'writeup.md lines 100-118' (or the cells) the source was taken from."""
        used = [n for n in self.line_map if n]
        if not used:
            return self.origin.file
        first, last = min(used), max(used)
        if self.origin.notebook is not None:
            a, b = self.origin.notebook.locate(first), self.origin.notebook.locate(last)
            cells = sorted({c[0] for c in (a, b) if c})
            label = "cell" if len(cells) == 1 else "cells"
            return f"{self.origin.file} {label} {'-'.join(map(str, cells))}"
        return f"{self.origin.file} {self.origin.lines_of(first, last)}"


def is_writeup(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1].lower()
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return suffix in WRITEUP_SUFFIXES and not name.startswith(NOT_WRITEUPS)


def read_document(
    raw: bytes, rel: str, fetch: Callable[[str], bytes | None] | None = None
) -> Document:
    """A writeup or notebook from its bytes. Raises `DocumentError` when it cannot be read.

    `fetch` gives a .tex writeup the other files of the submission it `\\input`s (by path
    relative to the submission root; None for a file that is not there): only those are read.
    """
    if rel.lower().endswith(NOTEBOOK_SUFFIX):
        try:
            nb = read_notebook(raw, rel)
        except NotebookError as exc:
            raise DocumentError(exc.message) from None
        return Document(rel, NOTEBOOK, nb.text, nb.code_blocks, tuple(find_sections(nb.text)), nb)
    if rel.lower().endswith(PDF_SUFFIX):
        return _pdf_document(raw, rel)
    if len(raw) > MAX_WRITEUP_BYTES:
        raise DocumentError(f"{rel} is too large to read as a writeup")
    if rel.lower().endswith(TEX_SUFFIX):
        tex = read_tex(raw, rel, fetch or (lambda _path: None))
        notes = tuple(f"{file}:{line}: {message}" for file, line, message in tex.notes)
        return Document(
            rel,
            WRITEUP,
            tex.text,
            tuple(extract_code_blocks(tex.text)),
            tuple(find_sections(tex.text)),
            origins=tex.origins,
            notes=notes,
        )
    text = raw.decode("utf-8-sig", errors="replace")
    return Document(
        rel, WRITEUP, text, tuple(extract_code_blocks(text)), tuple(find_sections(text))
    )


def _pdf_document(raw: bytes, rel: str) -> Document:
    """A PDF writeup; one with pages that have no text layer (scanned, handwritten) is refused
    whole, so that every answer in it goes to a TA rather than a part being graded alone."""
    try:
        pdf = read_pdf(raw, rel)
    except PdfError as exc:
        raise DocumentError(exc.message) from None
    if pdf.textless_pages:
        pages = ", ".join(map(str, pdf.textless_pages[:10]))
        raise DocumentError(
            f"{rel}: page(s) {pages} have no text layer (scanned or handwritten): "
            "the writeup is for a TA to read",
            images=_page_images(rel, pdf.page_images),
            notes=pdf.notes,
        )
    if pdf.noisy_pages:
        number, quality = pdf.noisy_pages[0]
        pages = ", ".join(str(n) for n, _ in pdf.noisy_pages[:10])
        raise DocumentError(
            f"{rel}: page(s) {pages} are scanned, and the text an OCR program read from them "
            f"is not reliable (page {number}: {quality.describe()}): the writeup is for a TA "
            "to read",
            images=_page_images(rel, pdf.page_images),
            notes=pdf.notes,
        )
    ocr = tuple(n for n, _ in pdf.ocr_pages)
    notes = pdf.notes
    if ocr:
        notes += (
            f"{rel}: page(s) {', '.join(map(str, ocr[:10]))} are scanned; their text was read "
            "by OCR, so an answer read there that does not pass goes to a TA, and code there "
            "is not run",
        )
    return Document(
        rel,
        WRITEUP,
        pdf.text,
        () if ocr else tuple(extract_code_blocks(pdf.text)),
        tuple(find_sections(pdf.text)),
        origins=pdf.origins,
        notes=notes,
        typeset=True,
        ocr_pages=ocr,
        page_images=_page_images(rel, pdf.page_images) if ocr else (),
    )


def _page_images(rel: str, images: tuple[tuple[int, bytes], ...]) -> tuple[PageImage, ...]:
    """Each image of a page without text, named after the PDF and the page (a second image
    of one page gets `-2`), so that a TA finds `report-page-3.png` beside the feedback."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", rel.rsplit("/", 1)[-1].rsplit(".", 1)[0])[:40]
    seen: dict[int, int] = {}
    out = []
    for page, png in images:
        seen[page] = seen.get(page, 0) + 1
        extra = f"-{seen[page]}" if seen[page] > 1 else ""
        out.append(PageImage(file=rel, page=page, name=f"{stem}-page-{page}{extra}.png", png=png))
    return tuple(out)


class DocumentError(ValueError):
    """A writeup or notebook that cannot be read; `message` says why, for the student.

    A PDF refused for its scanned pages carries their `images` (for the TA it goes to) and the
    reader's `notes` (pages whose image could not be kept)."""

    def __init__(
        self,
        message: str,
        images: tuple[PageImage, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.images = images
        self.notes = notes
