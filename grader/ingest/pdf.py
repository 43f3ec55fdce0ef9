"""Read typeset PDF writeups directly: text laid out from glyph positions, as the Markdown path
reads it, every line mapped to its page.

Why positions and not plain extraction: plain extraction loses a listing's indentation (a
`for` body cannot be told from the line after it) and reads letter-spaced code as
`S T M C o n v L a y e r`. Here the text runs of each page are taken with their positions
(pypdf's text visitor) and laid out again: runs on one baseline form a line; a gap wider than a
space between two runs is a space, a narrower one joins them (letter spacing); a line in a
monospace font (a listing) gets its indentation back from its x offset; lines at the top or
bottom of the page that repeat on other pages (headers, footers) or are page numbers are
dropped. A listing cut by a page break is joined by the writeup reader's own page-break logic.

Why pypdf: BSD-licensed, pure Python, no mandatory dependencies, maintained; universities that
redistribute the grader can ship it (PyMuPDF is AGPL; pdfminer.six, MIT, pulls in more).

Bounds and safety: a PDF is untrusted input and parsers have had pathological cases (object
bombs, decompression bombs, reference cycles). It is parsed in a child process under an address
space limit, a CPU limit and a wall-clock timeout, reading at most `MAX_PAGES` pages of a file of
at most `MAX_PDF_BYTES`; an encrypted PDF, a broken one or one that exceeds a bound ends in a
`PdfError` with a message for the report. Nothing in the PDF is executed.

A page with no text layer (a scan, a photo of handwriting) cannot be read: the caller sends the
whole writeup to a TA (`PdfText.textless_pages`), never a zero. A scan run through OCR has a
text layer, but not one the student typed: the child tells such a page by how it is drawn (an
opaque image over most of the page, and most of the text drawn invisibly, render mode 3 or 7,
or under that image), and `grader.ingest.ocr` tells whether its text reads as text or as noise.
A typeset page has neither the image nor the invisible text, so it is never taken for a scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
import sys
from dataclasses import dataclass

from grader.ingest.ocr import OcrQuality, ocr_quality

__all__ = ["MAX_PAGES", "MAX_PDF_BYTES", "PDF_SUFFIX", "PdfError", "PdfText", "read_pdf"]

PDF_SUFFIX = ".pdf"
MAX_PDF_BYTES = 32 * 2**20
MAX_PAGES = 150
"""Pages read; a homework writeup has tens. The rest is not read (and said so)."""
MAX_RUNS = 400_000
"""Text runs read over all pages (a page of dense text has a few thousand)."""
CHILD_MEMORY = 1536 * 2**20
CHILD_CPU_SECONDS = 40
CHILD_WALL_SECONDS = 60
MIN_PAGE_CHARS = 15
"""A page with fewer characters of text than this has no usable text layer."""
MAX_IMAGES_PER_PAGE = 4
MAX_IMAGE_SIDE = 1800
"""Pixels: a scanned A4 page stays legible at about 150 dpi."""
MAX_IMAGE_BYTES = 12 * 2**20
"""PNG bytes kept over all pages without text: the rest are named, not kept."""


class PdfError(ValueError):
    """The PDF cannot be read; `message` says why, for the report."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PdfText:
    """The laid-out text; `origins[i]` is ("report.pdf, page 3", line on that page) of line i+1.

    `page_images` are the PNGs of the pages without a text layer and of the scanned pages,
    (page, png) in page order, so that a TA sees a scanned or handwritten page without opening
    the PDF; `notes` say which could not be extracted.

    A scanned page with an OCR text layer (text drawn invisibly, or hidden under an image of the
    whole page) is in `noisy_pages` when its text reads as noise (`grader.ingest.ocr`: the
    writeup is a TA's, as with a page without text), else in `ocr_pages` (read, and said so).
    """

    text: str
    origins: tuple[tuple[str, int], ...]
    pages: int
    textless_pages: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    page_images: tuple[tuple[int, bytes], ...] = ()
    noisy_pages: tuple[tuple[int, OcrQuality], ...] = ()
    ocr_pages: tuple[tuple[int, OcrQuality], ...] = ()


# The child: pypdf's visitor gives each text-showing operation with its matrices and font.
_CHILD = r"""
import io, json, resource, sys
MEMORY, CPU = int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))  # the limits come first: set here,
resource.setrlimit(resource.RLIMIT_CPU, (CPU, CPU))  # not in a preexec_fn (unsafe with threads)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
try:
    import pypdf
except ImportError:
    print(json.dumps({"error": "reading PDF writeups needs the pypdf package (scripts/setup)"}))
    sys.exit(0)
MAX_PAGES, MAX_RUNS = int(sys.argv[1]), int(sys.argv[2])
MIN_CHARS, MAX_IMAGES, MAX_SIDE = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
image_bytes = [int(sys.argv[8])]  # what is left of the budget for page images, in bytes
raw = sys.stdin.buffer.read()

def page_images(page, number):
    # The images of a page without text, as PNGs no wider or taller than MAX_SIDE pixels.
    import base64
    out = []
    try:
        found = list(page.images)[:MAX_IMAGES]
    except Exception as exc:  # noqa: BLE001  (the page is still for a TA, without its image)
        return [{"error": f"{type(exc).__name__}: {exc}"[:200]}]
    for image in found:
        try:
            picture = image.image
            picture.thumbnail((MAX_SIDE, MAX_SIDE))
            if picture.mode not in ("1", "L", "RGB", "RGBA"):
                picture = picture.convert("RGB")
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG", optimize=True)
            data = buffer.getvalue()
        except Exception as exc:  # noqa: BLE001  (a broken image: said, the rest go on)
            out.append({"error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        if len(data) > image_bytes[0]:
            out.append({"error": "the page images are larger than the grader keeps"})
            break
        image_bytes[0] -= len(data)
        out.append({"png": base64.b64encode(data).decode("ascii")})
    return out

try:
    reader = pypdf.PdfReader(io.BytesIO(raw), strict=False)
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as exc:  # noqa: BLE001  (the parent reports it)
            ok = 0
        if not ok:
            print(json.dumps({"error": "the PDF is encrypted (password protected)"}))
            sys.exit(0)
    count = len(reader.pages)
    pages, total = [], 0
    for number in range(min(count, MAX_PAGES)):
        page = reader.pages[number]
        box = page.mediabox
        runs = []
        def visit(text, cm, tm, font, size):
            if not text or not text.strip():
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = abs(tm[0] * cm[0]) or abs(tm[3] * cm[3]) or 1.0
            name = str((font or {}).get("/BaseFont", "")) if hasattr(font, "get") else ""
            em = 0.0
            try:  # the font's own advance (median of /Widths, in ems): exact for monospace
                widths = [float(w) for w in font.get_object().get("/Widths", []) if float(w) > 0]
                em = sorted(widths)[len(widths) // 2] / 1000 if widths else 0.0
            except Exception:  # noqa: BLE001  (a font without usable widths: estimated later)
                em = 0.0
            runs.append([round(x, 2), round(y, 2), round(size * scale, 2), name, text, em])
        resources = page.get("/Resources") or {}
        def resolve(value):
            value = value.get_object() if hasattr(value, "get_object") else value
            return value if hasattr(value, "items") else {}
        try:
            xobjects = (resources.get("/XObject") or {}) if hasattr(resources, "get") else {}
            xobjects = xobjects.get_object() if hasattr(xobjects, "get_object") else xobjects
            pictures = {}  # name -> whether the image is opaque (no soft mask, no mask)
            found = list(xobjects.items())[:64]
            for key, value in found:
                value = value.get_object()
                if str(value.get("/Subtype", "")) == "/Image":
                    pictures[str(key)] = "/SMask" not in value and "/Mask" not in value
                elif str(value.get("/Subtype", "")) == "/Form" and len(found) < 128:
                    inner = resolve(resolve(value.get("/Resources")).get("/XObject"))
                    found.extend(list(inner.items())[:64])  # a scan drawn by a form
        except Exception:  # noqa: BLE001  (broken resources: no image is known)
            xobjects, pictures = {}, {}
        area = abs(float(box.width) * float(box.height)) or 1.0
        # What OCR leaves on a scanned page: text drawn invisibly (render mode 3 or 7), or
        # under a picture that covers it, over an image of the whole page.
        seen = {"mode": [0], "hidden": 0, "shown": 0, "cover": 0.0}
        def operator(op, args, cm, tm):
            try:
                observe(op, args, cm)
            except Exception:  # noqa: BLE001  (an operand of an odd type: not a scan's sign)
                pass
        def observe(op, args, cm):
            if op == b"q":
                seen["mode"].append(seen["mode"][-1])
            elif op == b"Q" and len(seen["mode"]) > 1:
                seen["mode"].pop()
            elif op == b"Tr" and args:
                try:
                    seen["mode"][-1] = int(args[0])
                except (TypeError, ValueError):
                    pass
            elif op in (b"Tj", b"TJ", b"'", b'"') and args:
                shown = args[-1] if op != b"TJ" else args[0]
                parts = shown if isinstance(shown, list) else [shown]
                chars = sum(len(str(t).strip()) for t in parts if isinstance(t, (str, bytes)))
                seen["hidden" if seen["mode"][-1] in (3, 7) else "shown"] += chars
            elif op == b"Do" and args and str(args[0]) in pictures:
                share = abs(cm[0] * cm[3] - cm[1] * cm[2]) / area
                if share >= 0.5 and pictures[str(args[0])]:  # it hides what lies under it
                    seen["hidden"], seen["shown"] = seen["hidden"] + seen["shown"], 0
                seen["cover"] = min(1.0, seen["cover"] + share)
        page.extract_text(visitor_text=visit, visitor_operand_before=operator)
        total += len(runs)
        images = bool(xobjects)
        chars = seen["hidden"] + seen["shown"]
        scanned = seen["cover"] >= 0.6 and chars > 0 and seen["hidden"] >= 0.5 * chars
        scans = []
        if (sum(len(r[4].strip()) for r in runs) < MIN_CHARS and images) or scanned:
            scans = page_images(page, number + 1)
        pages.append({"runs": runs, "height": float(box.height), "left": float(box.left),
                      "bottom": float(box.bottom), "images": images, "scans": scans,
                      "scanned": scanned})
        if total > MAX_RUNS:
            break
    print(json.dumps({"count": count, "pages": pages}))
except Exception as exc:  # noqa: BLE001  (any parser failure is the PDF's, reported as such)
    print(json.dumps({"error": f"the PDF could not be read ({type(exc).__name__}: {exc})"[:300]}))
"""


def _extract(raw: bytes) -> dict[str, object]:
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-s",
                "-P",
                "-c",
                _CHILD,
                str(MAX_PAGES),
                str(MAX_RUNS),
                str(CHILD_MEMORY),
                str(CHILD_CPU_SECONDS),
                str(MIN_PAGE_CHARS),
                str(MAX_IMAGES_PER_PAGE),
                str(MAX_IMAGE_SIDE),
                str(MAX_IMAGE_BYTES),
            ],
            input=raw,
            capture_output=True,
            timeout=CHILD_WALL_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PdfError(f"reading the PDF took longer than {CHILD_WALL_SECONDS} s") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise PdfError("reading the PDF exceeded the memory or time allowed")
    try:
        data = json.loads(done.stdout.decode("utf-8", errors="replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise PdfError("the PDF reader gave no result") from None
    if not isinstance(data, dict):
        raise PdfError("the PDF reader gave no result")
    if "error" in data:
        raise PdfError(str(data["error"]))
    return data


# --- layout -------------------------------------------------------------------------------------
_MONO = re.compile(
    r"courier|mono|cm\w{0,3}tt|typewriter|consol|menlo|sfmono|inconsolata|code", re.I
)
_PAGE_NUMBER = re.compile(
    r"^\s*(?:page\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?\s*(?:(?:/|of)\s*\d{1,4})?\s*$", re.I
)
_CODE_START = re.compile(
    r"^(?:def|class|return|for|while|if|elif|else|try|except|finally|with|import|from|self\.|"
    r"super\(|[A-Za-z_][\w.]*\s*(?:=|\(|\+=|-=))"
)


_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
"""Quotes in a listing: LaTeX's typewriter font (OT1) names its straight quote `quoteright`,
so extraction gives `’rx’` for the `'rx'` the student typed; code has no curly quotes."""


@dataclass
class _Run:
    x: float
    y: float
    size: float
    mono: bool
    text: str
    script: str = ""  # "^" raised (an exponent), "_" lowered (an index), "" on the baseline
    em: float = 0.0  # the font's median advance in ems (0: unknown)
    bold: bool = False

    @property
    def advance(self) -> float:
        """One character's advance in points: the font's own, else an estimate."""
        return self.size * (self.em or (0.6 if self.mono else 0.5))

    def width(self) -> float:
        return len(self.text.lstrip(" ")) * self.advance


def _advance(char: str) -> float:
    """A glyph's advance in a proportional text font, in ems (Helvetica/Times-like averages)."""
    if char in "iljtfrI.,:;'|!()[]{}` ":
        return 0.3
    if char in "mwMW":
        return 0.87
    return 0.68 if char.isupper() else 0.55


_BOLD = re.compile(r"bold|cmbx|black|heavy|semibold|demi", re.I)
_LABEL = re.compile(
    r"^\s*(?:(?:problem|question|exercise|task|prob\.|q)\s*\#?\s*\d{1,3}(?!\d)"
    r"(?:\s*\(?[a-h]\)?)?|\(?[a-h]\)|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)\))[.:)]?\s*$",
    re.I,
)


def _bold_label(line: _Line) -> str:
    """A line's text, a bold label at its start marked as the .tex reader marks `\\textbf`:
    `**Problem 4 (a)** The plain layer has ...` (a `description` item, `\\textbf{(a)}` run into
    its paragraph). Plain, the label was no heading: a heading at the start of a long line is
    one only when marked, as in Markdown."""
    text = line.text()
    runs = line.runs
    count = next((k for k, run in enumerate(runs) if not run.bold), len(runs))
    if count == 0 or count == len(runs) or any(r.script for r in runs[:count]):
        return text
    label = _Line(line.y, runs[:count]).text()
    if not _LABEL.match(label) or not text.startswith(label):
        return text
    return f"**{label.strip()}** {text[len(label) :].strip()}"


_HYPHEN_END = re.compile(r"[A-Za-z]{2}-$")
_HYPHEN_REST = re.compile(r"([a-z]+[.,;:)]*)(?:\s+|$)")
_SECTION_NUMBER = re.compile(
    r"^\d{1,2}(?:\.\d{1,2}){0,2}\s+"
    r"(?=(?:problem|question|exercise|task|part|prob\.|q\s?\d|\(?[a-h]\)|\(?[ivx]{1,4}\))(?!\w))",
    re.I,
)
"""The number LaTeX gives a numbered section before a problem or part heading the student
titled: the student's own number (`Problem 4`, `Part a`) is the one that counts."""
_PROBLEM_HEADING = re.compile(
    r"^\s*(?:problem|question|exercise|task|prob\.|q)\s*\#?\s*\d{1,3}(?!\d)", re.I
)


def _body(
    lines: list[_Line], height: float, number: int, pages: int, edge: dict[str, int]
) -> list[_Line]:
    """The page's lines without its header, footer and page number: lines at the top or bottom
    edge that are page numbers or repeat on other pages, and a last line that is the page's own
    number (LaTeX's footer sits higher than the edge).

    A heading is never a header: with narrow margins and one problem per page, `Problem 4` on
    one page and `Problem 5` on the next sit where a header would, and repeat once their
    numbers are masked (as a header's page number is). A line set larger than the page's text,
    or one that starts like a problem heading, is kept unless it repeats word for word.
    """
    sizes = sorted(r.size for line in lines for r in line.runs if not r.script for _ in r.text)
    body_size = sizes[len(sizes) // 2] if sizes else 10.0

    def header(line: _Line) -> bool:
        text = line.text()
        if not (line.y > 0.92 * height or line.y < 0.08 * height):
            return False
        heading = line.runs[0].size >= 1.07 * body_size or _PROBLEM_HEADING.match(text)
        if heading:
            return pages > 1 and edge.get(text.strip().lower(), 0) > 1
        return bool(_PAGE_NUMBER.match(text)) or (pages > 1 and edge.get(_normal(text), 0) > 1)

    kept = [line for line in lines if not header(line)]
    if kept and kept[-1].y < 0.25 * height and kept[-1].text().strip() == str(number):
        kept.pop()
    return kept


def _margin(lines: list[_Line]) -> float:
    """The page's left text margin: where its leftmost line starts (prose or listing)."""
    return min((line.x for line in lines), default=0.0)


def _prose_margin(lines: list[_Line]) -> float | None:
    """Where the page's prose lines start: the leftmost x shared by two or more of them (a
    centred title or a lone caption is no margin); None on a page without such prose."""
    counts: dict[float, int] = {}
    for line in lines:
        if not line.mono:
            counts[round(line.x)] = counts.get(round(line.x), 0) + 1
    shared = [x for x, n in counts.items() if n >= 2]
    return float(min(shared)) if shared else None


def _code_lefts(pages: list[list[_Line]]) -> list[float]:
    """Per page, the x at which a listing line has no indentation.

    Why not the page's own leftmost line: a listing cut by a page break continues on a page of
    its own, whose leftmost line may be `def forward` (four columns in); measured from it, the
    method lost its indentation and the class its forward. The listings' start is one x for
    the whole document (the leftmost listing line anywhere), moved on each page by as much as
    that page's prose margin differs from the usual one (two-sided layouts).
    """
    margins = [_prose_margin(lines) for lines in pages]
    known = sorted(m for m in margins if m is not None)
    usual = known[len(known) // 2] if known else 0.0
    shifts = [m - usual if m is not None else 0.0 for m in margins]
    starts = [
        line.x - shift
        for lines, shift in zip(pages, shifts, strict=True)
        for line in lines
        if line.mono
    ]
    start = min(starts, default=usual)
    return [start + shift for shift in shifts]


def _columns(pages: list[list[_Line]]) -> dict[float, float]:
    """Per monospace font size on a page, the column width that puts every listing line's x
    offset on a whole column.

    Why not the glyph advance: listings places code on its own grid (0.6 em of the font's quad,
    wider than cmtt's glyphs), so offsets divided by the advance drift off whole columns and a
    `for` body can round to a different indentation than its neighbour. The width searched for
    lies within 0.45-0.7 of the font size; of the widths that fit, the one nearest the font's
    own advance is taken (any consistent width keeps Python's levels consistent).
    """
    groups: dict[float, list[float]] = {}
    advances: dict[float, float] = {}
    for lines, left in zip(pages, _code_lefts(pages), strict=True):
        for line in lines:
            if line.mono and line.x - left > 1.0:
                size = round(line.runs[0].size, 1)
                groups.setdefault(size, []).append(round(line.x - left, 2))
                advances[size] = line.runs[0].advance
    found: dict[float, float] = {}
    for size, members in groups.items():
        offsets = sorted(set(members))
        advance = advances[size]
        best: tuple[float, float, float] | None = None
        for offset in offsets[:8]:
            for count in range(1, 41):
                width = offset / count
                if not 0.45 * size <= width <= 0.7 * size:
                    continue
                misfit = max(abs(o / width - round(o / width)) for o in offsets)
                key = (round(misfit, 2), abs(width - advance), width)
                if best is None or key < best:
                    best = key
        if best is not None and best[0] <= 0.12:
            found[size] = best[2]
    return found


def _letter_spaced(runs: list[_Run], gaps: list[float]) -> dict[int, bool]:
    """For runs inside letter-spaced text (`S T M C o n v`: four or more runs of one glyph in a
    row), whether a space goes before run k: only where the step from the previous glyph is
    clearly wider than its advance plus the letter spacing (a word boundary), never between
    the letters of a word."""
    decided: dict[int, bool] = {}
    k = 0
    while k < len(runs):
        j = k
        while j < len(runs) and len(runs[j].text.strip()) == 1 and not runs[j].mono:
            if runs[j].script:  # `w_{7} w_{8}`: symbols with indices, not letter spacing
                break
            j += 1
        if j - k >= 4:
            extra = {
                i: runs[i].x - runs[i - 1].x - _advance(runs[i - 1].text.strip()) * runs[i].size
                for i in range(k + 1, j)
            }
            spacing = sorted(extra.values())[len(extra) // 2]
            for i, value in extra.items():
                decided[i] = value > spacing + 0.2 * runs[i].size
        k = max(j, k + 1)
    return decided


@dataclass
class _Line:
    y: float
    runs: list[_Run]

    @property
    def x(self) -> float:
        return self.runs[0].x

    @property
    def mono(self) -> bool:
        """Mostly monospace characters: a listing line (a comment in another font stays in)."""
        chars = sum(len(r.text.strip()) for r in self.runs)
        return sum(len(r.text.strip()) for r in self.runs if r.mono) >= 0.7 * max(chars, 1)

    def text(self) -> str:
        gaps = [0.0] + [
            b.x - (a.x + a.width()) for a, b in zip(self.runs, self.runs[1:], strict=False)
        ]
        spaced = _letter_spaced(self.runs, gaps)
        out = ""
        for k, run in enumerate(self.runs):
            if run.script:
                if k and self.runs[k - 1].script == run.script and out.endswith("}"):
                    out = out[:-1] + run.text.strip() + "}"  # one exponent in several runs
                else:
                    out = out.rstrip(" ") + f"{run.script}{{{run.text.strip()}}}"
                continue
            if k:
                previous, gap = self.runs[k - 1], gaps[k]
                space = previous.size * (0.6 if previous.mono else 0.25)
                if k in spaced:  # pypdf's own space before a glyph is letter spacing too
                    out = out.rstrip(" ") + (" " if spaced[k] else "") + run.text.lstrip(" ")
                    continue
                elif previous.mono and gap > 0.4 * space:
                    out += " " * max(1, round(gap / space))
                elif gap > space and not out.endswith(" ") and not run.text.startswith(" "):
                    out += " "
            out += run.text if k else run.text.lstrip(" ")
        return _join_spaced(out.rstrip(), 3 if self.mono else 4)


_SPACED = {n: re.compile(rf"(?<![\w.])(?:\w ){{{n - 1},}}\w(?![\w.])") for n in (3, 4)}


def _join_spaced(text: str, least: int) -> str:
    """Letter-spaced words as extraction gives them ('S T M C o n v L a y e r', one glyph at a
    time with a space between) joined: `least` or more single characters separated by single
    spaces. In code no valid statement has three single-character names in a row."""
    return _SPACED[least].sub(lambda m: m.group(0).replace(" ", ""), text)


def _lines(runs: list[_Run]) -> list[_Line]:
    """Runs grouped by baseline, top to bottom, each line's runs left to right.

    Smaller runs raised or lowered against a line of text (exponents, indices: `10^5`,
    `n_{l-1}` as typeset) join that line as `^{..}` / `_{..}`, so `2.1 × 10^{5}` is not read
    as 2.1 × 105. Stacked fractions are not rebuilt: formula answers read from a PDF go to a TA
    unless written as LaTeX source (`grader.judges.readers.read_formula`).
    """
    sizes = sorted(r.size for r in runs for _ in range(max(1, len(r.text.strip()))))
    body_size = sizes[len(sizes) // 2] if sizes else 10.0
    normal = [r for r in runs if r.size >= 0.8 * body_size]
    small = [r for r in runs if r.size < 0.8 * body_size]
    lines: list[_Line] = []
    for run in sorted(normal, key=lambda r: (-r.y, r.x)):
        if lines and abs(lines[-1].y - run.y) <= 0.35 * max(run.size, 1.0):
            lines[-1].runs.append(run)
        else:
            lines.append(_Line(run.y, [run]))
    for run in small:
        near = [
            line
            for line in lines
            if -0.5 * line.runs[0].size <= run.y - line.y <= 0.7 * line.runs[0].size
            and line.runs[0].x - run.size <= run.x
        ]
        if not near:
            lines.append(_Line(run.y, [run]))  # a footnote, a caption: a line of its own
            continue
        line = min(near, key=lambda candidate: abs(candidate.y - run.y))
        offset = run.y - line.y
        if offset > 0.12 * line.runs[0].size:
            run.script = "^"
        elif offset < -0.08 * line.runs[0].size:
            run.script = "_"
        line.runs.append(run)
    lines.sort(key=lambda line: -line.y)
    for line in lines:
        line.runs.sort(key=lambda r: r.x)
        _index_first(line.runs)
    return lines


def _index_first(runs: list[_Run]) -> None:
    """A superscript and a subscript stacked on one base (`b^{new}_{1}` as TeX sets `b_1^{new}`)
    read index first, as they are written: in x order the exponent may come first, and
    `b^{new}_{1}` is a name no reader knows (its answer was read as missing)."""
    for k in range(len(runs) - 1):
        up, down = runs[k], runs[k + 1]
        if up.script == "^" and down.script == "_" and down.x < up.x + up.width() - 0.5:
            runs[k], runs[k + 1] = down, up


def _normal(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def _layout(data: dict[str, object], rel: str) -> PdfText:
    pages = data.get("pages")
    assert isinstance(pages, list)
    count = int(data.get("count", len(pages)))  # type: ignore[call-overload]
    per_page: list[list[_Line]] = []
    textless: list[int] = []
    scanned: list[tuple[int, OcrQuality]] = []  # OCR text over a page's image, read as text
    noisy: list[tuple[int, OcrQuality]] = []  # OCR text over a page's image, read as noise
    heights: list[float] = []
    for number, page in enumerate(pages, 1):
        runs = [
            _Run(
                float(x),
                float(y),
                float(size) or 10.0,
                bool(_MONO.search(font)),
                str(text).replace("\n", " ").rstrip(),
                em=float(em),
                bold=bool(_BOLD.search(font)),
            )
            for x, y, size, font, text, em in page["runs"]
        ]
        lines = _lines(runs)
        per_page.append(lines)
        heights.append(float(page["height"]) + float(page["bottom"]))
        if sum(len(r.text.strip()) for r in runs) < MIN_PAGE_CHARS:
            textless.append(number)
        elif page.get("scanned"):
            quality = ocr_quality("\n".join(line.text() for line in lines))
            (scanned if quality.is_text else noisy).append((number, quality))
    # headers and footers: top/bottom lines repeated on other pages, or page numbers
    edge: dict[str, int] = {}
    for lines, height in zip(per_page, heights, strict=True):
        for line in lines:
            if line.y > 0.92 * height or line.y < 0.08 * height:
                for key in {_normal(line.text()), line.text().strip().lower()}:
                    edge[key] = edge.get(key, 0) + 1
    bodies = [
        _body(lines, height, number, len(per_page), edge)
        for number, (lines, height) in enumerate(zip(per_page, heights, strict=True), 1)
    ]
    columns = _columns(bodies)
    code_lefts = _code_lefts(bodies)
    out: list[str] = []
    origins: list[tuple[str, int]] = []
    for number, body in enumerate(bodies, 1):
        label = f"{rel}, page {number}"
        left = _margin(body)
        code_left = code_lefts[number - 1]
        sizes = sorted(  # by characters, not runs: a page of few lines has as many headings
            r.size for line in body for r in line.runs if not r.script for _ in r.text.strip()
        )
        body_size = sizes[len(sizes) // 2] if sizes else 10.0
        after_heading = False
        prose = False  # the line before is prose of this page (a hyphenated word may go on)
        previous_y: float | None = None
        in_code = False
        for k, line in enumerate(body, 1):
            text = line.text().translate(_STRAIGHT) if line.mono else _bold_label(line)
            size = line.runs[0].size
            if in_code and not line.mono:
                out.append("```")
                origins.append((label, k - 1))
                in_code = False
            heading = size >= 1.07 * body_size and not line.mono  # set larger: a heading
            if heading:  # `\\section{Problem 4}` numbered by LaTeX: '2 Problem 4', '2.1 Part a'
                text = _SECTION_NUMBER.sub("", text)
            gap = previous_y is not None and previous_y - line.y > 2.2 * size and not line.mono
            if (gap or heading or after_heading) and out and out[-1]:
                out.append("")  # a paragraph break; headings stand alone, as typeset
                origins.append((label, k))
            after_heading = heading
            if line.mono and not in_code:  # a listing (monospace lines) is fenced
                out.append("```python")
                origins.append((label, k))
                in_code = True
            joined = (
                _HYPHEN_END.search(out[-1]) and _HYPHEN_REST.match(text)
                if prose and not (line.mono or heading or gap)
                else None
            )
            if joined:  # 'parame-' / 'ters.': TeX's hyphenation, the word read whole
                out[-1] = out[-1][:-1] + joined.group(1)
                text = text[joined.end() :]
            prose = not (line.mono or heading)
            indent = 0
            if line.mono or _CODE_START.match(text):
                column = columns.get(round(size, 1), line.runs[0].advance)
                origin = code_left if line.mono else left
                indent = max(0, round((line.x - origin) / column)) if line.x > origin else 0
            out.append(" " * indent + text)
            origins.append((label, k))
            previous_y = line.y
        if in_code:
            out.append("```")
            origins.append((label, len(body)))
        out.append("")
        origins.append((label, len(body) + 1))
    notes = []
    if count > len(pages):
        notes.append(f"{rel}: only the first {len(pages)} of its {count} pages are read")
    unread = sorted([*textless, *(n for n, _ in noisy)])
    images, missing = _scans(pages, sorted([*unread, *(n for n, _ in scanned)]), rel)
    return PdfText(
        "\n".join(out),
        tuple(origins),
        count,
        tuple(textless),
        tuple(notes + missing),
        images,
        tuple(noisy),
        tuple(scanned),
    )


def _scans(
    pages: list[dict[str, object]], textless: list[int], rel: str
) -> tuple[tuple[tuple[int, bytes], ...], list[str]]:
    """The PNGs the child extracted from pages without text, and a note for each page whose
    image could not be kept (a TA then opens the PDF at that page)."""
    images: list[tuple[int, bytes]] = []
    missing: list[str] = []
    for number in textless:
        scans = pages[number - 1].get("scans") or []
        assert isinstance(scans, list)
        kept = 0
        for scan in scans:
            try:
                images.append((number, base64.b64decode(str(scan["png"]), validate=True)))
                kept += 1
            except (KeyError, TypeError, ValueError, binascii.Error):
                continue
        if not kept:
            why = next((str(s["error"]) for s in scans if isinstance(s, dict) and "error" in s), "")
            missing.append(
                f"{rel}, page {number}: no image of the page could be extracted"
                + (f" ({why})" if why else "")
                + "; open the PDF at that page"
            )
    return tuple(images), missing


def read_pdf(raw: bytes, rel: str) -> PdfText:
    """The laid-out text of a PDF writeup. Raises `PdfError` when it cannot be read."""
    if len(raw) > MAX_PDF_BYTES:
        raise PdfError(f"{rel} is larger than {MAX_PDF_BYTES // 2**20} MiB: not read")
    if not raw.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in raw[:1024]:
        raise PdfError(f"{rel} is not a PDF file")
    return _layout(_extract(raw), rel)
