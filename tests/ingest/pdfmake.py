"""Write small PDFs by hand (PDF 1.4 syntax, the standard Helvetica and Courier fonts), so tests
know exactly where every glyph is: no PDF library or LaTeX toolchain is needed to build them.

A page is a list of `Run`s: text placed at (x, y) in points from the bottom left, in a font
("F1" Helvetica, "F2" Courier, "F3" Helvetica-Bold) and size, optionally with character
spacing (`spacing`, the PDF `Tc` operator: what makes plain extractors read
`S T M C o n v L a y e r`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

FONTS = b"/F1 3 0 R /F2 4 0 R /F3 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"


@dataclass(frozen=True)
class Run:
    x: float
    y: float
    text: str
    font: str = "F1"
    size: float = 11.0
    spacing: float = 0.0


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(runs: list[Run]) -> bytes:
    ops = []
    for run in runs:
        ops.append(
            f"BT /{run.font} {run.size:g} Tf {run.spacing:g} Tc {run.x:g} {run.y:g} Td "
            f"({_escape(run.text)}) Tj ET"
        )
    return "\n".join(ops).encode("latin-1")


@dataclass(frozen=True)
class Scan:
    """A page's picture as a scanner or a phone app with OCR writes it: a grey image drawn over
    `cover` of the page, the page's text drawn in render `mode` (3: invisible, as OCR programs
    draw it; 0: visible) before the picture when `under` (hidden beneath it), after it
    otherwise; `masked`: the picture has a soft mask (transparent, hides nothing); `form`: the
    picture and the text are drawn by a form XObject the page draws (as some scanners write)."""

    width: int = 170
    height: int = 220
    cover: float = 1.0
    mode: int = 3
    under: bool = False
    masked: bool = False
    form: bool = False

    def pixels(self) -> bytes:
        """Grey strokes on white: handwriting as far as any text reader can tell."""
        rows = []
        for y in range(self.height):
            ink = y % 18 in (8, 9)
            rows.append(
                bytes(40 if ink and 15 < x < self.width - 15 else 250 for x in range(self.width))
            )
        return b"".join(rows)


def make_pdf(
    pages: list[list[Run]],
    compress: bool = True,
    extra: bytes = b"",
    scans: dict[int, Scan] | None = None,
) -> bytes:
    """A PDF with one page per list of runs (an empty list: a page without a text layer);
    `scans` makes pages (by index) scanned ones, their runs the OCR text over the picture."""
    scans = scans or {}
    objects: list[bytes] = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 Helvetica, 4 Courier, then (page, content) pairs
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>")
    pictures: list[tuple[int, bytes, bytes]] = []  # (page, image, form) after the pages
    base = 5 + 2 * n_pages  # each scan: its image, the image's soft mask, its form
    for i, runs in enumerate(pages):
        content = _content(runs)
        scan = scans.get(i)
        if scan is not None:
            side = scan.cover**0.5
            draw = b"q %g 0 0 %g 0 0 cm /Im1 Do Q" % (612 * side, 792 * side)
            text = b"%d Tr\n" % scan.mode + content
            content = text + b"\n" + draw if scan.under else draw + b"\n" + text
            data = zlib.compress(scan.pixels())
            mask = b""
            if scan.masked:
                mask = b" /SMask %d 0 R" % (base + 3 * len(pictures) + 1)
            form = b""
            if scan.form:
                form = (
                    b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font "
                    b"<< " + FONTS + b" >> /XObject << /Im1 %d 0 R >> >> /Length %d >>\n"
                    b"stream\n"
                    % (base + 3 * len(pictures), len(content))
                    + content
                    + b"\nendstream"
                )
                content = b"q /Fm1 Do Q"
            pictures.append(
                (
                    i,
                    b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                    b"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length %d%s >>\n"
                    b"stream\n"
                    % (scan.width, scan.height, len(data), mask)
                    + data
                    + b"\nendstream",
                    form,
                )
            )
        if compress:
            body = zlib.compress(content)
            stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body)
        else:
            body = content
            stream = b"<< /Length %d >>\nstream\n" % len(body)
        xobject = ""
        if scan is not None:
            image = base + 3 * (len(pictures) - 1)
            name = f"/Fm1 {image + 2}" if scan.form else f"/Im1 {image}"
            xobject = f" /XObject << {name} 0 R >>"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {6 + 2 * i} 0 R "
            f"/Resources << /Font << {FONTS.decode()} >>{xobject} >> >>".encode()
        )
        objects.append(stream + body + b"\nendstream")
    for _, picture, form in pictures:  # each picture, its soft mask (unless `masked`, unused)
        objects.append(picture)
        alpha = zlib.compress(bytes([128]) * 16)
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(alpha)
            + alpha
            + b"\nendstream"
        )
        objects.append(form or b"null")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    out += extra
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def text_page(
    lines: list[str],
    top: float = 740,
    step: float = 14,
    left: float = 72,
    font: str = "F1",
    size: float = 11,
) -> list[Run]:
    """Lines of text from the top of a page, one run each (leading spaces as x offsets)."""
    runs = []
    for k, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        indent = (len(line) - len(stripped)) * size * 0.6
        runs.append(Run(left + indent, top - k * step, stripped, font, size))
    return runs


def _width(char: str) -> float:
    """A glyph's advance in ems: Helvetica's, rounded up (so no two words ever overlap)."""
    if char in "iljtfrI.,:;'|!()[]{}` ":
        return 0.34
    if char in "mwMW@%":
        return 0.95
    return 0.75 if char.isupper() else 0.6


def pdf_from_markdown(
    text: str,
    header: str = "",
    lines_per_page: int = 48,
    spaced: tuple[str, ...] = (),
) -> bytes:
    """A PDF laid out from Markdown-like text as a word processor prints it: code fences'
    contents in Courier with their indentation as x offsets (the fences themselves are not
    printed), other lines in Helvetica; `header` and the page number on every page; the words in
    `spaced` drawn one glyph at a time (letter-spaced, as some typesetting leaves them)."""
    pages: list[list[Run]] = []
    runs: list[Run] = []
    row = 0
    in_code = False

    def new_page() -> None:
        nonlocal runs, row
        if runs or row:
            number = len(pages) + 1
            if header:
                runs.append(Run(72, 760, header, "F1", 9))
            runs.append(Run(300, 30, str(number), "F1", 9))
            pages.append(runs)
        runs, row = [], 0

    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if row >= lines_per_page:
            new_page()
        y = 730 - row * 14
        row += 1
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        if in_code:
            indent = (len(line) - len(stripped)) * 10 * 0.6
            runs.append(Run(72 + indent, y, stripped, "F2", 10))
            continue
        x = 72.0
        for k, word in enumerate(stripped.split(" ")):
            if k:
                x += 11 * 0.4  # a word space
            if word in spaced:  # one glyph at a time, 1 pt apart
                for char in word:
                    runs.append(Run(x, y, char, "F1", 11))
                    x += _width(char) * 11 + 1.0
            elif word:
                runs.append(Run(x, y, word, "F1", 11))
                x += sum(_width(c) for c in word) * 11
    new_page()
    return make_pdf(pages)
