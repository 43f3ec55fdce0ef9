"""PDF writeups read directly (grader.ingest.pdf): text laid out from glyph positions, every line
mapped to its page, bounded reads and clear messages for what cannot be read.

The PDFs are written at test time by tests/ingest/pdfmake.py (hand-written PDF syntax, so every
glyph's position is known); pypdf is a declared dependency, but these tests skip with a reason
where an environment has not installed it yet.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from grader.ingest.documents import DocumentError, read_document
from grader.ingest.pdf import MAX_PAGES
from grader.ingest.submission import ingest
from grader.ingest.writeup import assemble_class
from grader.results import Status
from tests.ingest.pdfmake import Run, make_pdf, pdf_from_markdown, text_page

pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (scripts/setup installs it)")

ROOT = Path(__file__).resolve().parents[2]

CLASS = """class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(4):
            self.layers.append(nn.Linear(8, 8))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
"""
WRITEUP = f"""Problem 4

(a) The plain layer has 213,504 parameters.

(b) My STMConvLayer is below.

```python
{CLASS}```
"""


def test_a_listing_keeps_its_indentation_and_headers_and_page_numbers_go() -> None:
    pdf = pdf_from_markdown(WRITEUP, lines_per_page=40)
    doc = read_document(pdf, "report.pdf")
    (block,) = doc.blocks
    assert block.text == CLASS.rstrip("\n").replace("\n\n", "\n")  # blank lines are not drawn
    assert "1" not in [line.strip() for line in doc.text.split("\n")]  # the page number
    assert [s.problem for s in doc.sections] == ["4", "4a", "4b"]
    built = assemble_class(list(doc.blocks), "Net")
    assert built is not None and built.syntax_error is None


def test_a_listing_cut_by_a_page_break_is_joined_and_cited_by_page() -> None:
    pdf = pdf_from_markdown(WRITEUP, header="HW 6 -- D. Student", lines_per_page=12)
    doc = read_document(pdf, "report.pdf")  # the page breaks inside the class
    assert "D. Student" not in doc.text  # the header of both pages
    assert not {"1", "2"} & {line.strip() for line in doc.text.split("\n")}
    built = assemble_class(list(doc.blocks), "Net")
    assert built is not None and built.syntax_error is None, built
    assert "return x" in built.source
    first = next(n for n, line in enumerate(doc.text.split("\n"), 1) if "class Net" in line)
    assert doc.describe(first).startswith("report.pdf, page 1, line ")
    last = next(n for n, line in enumerate(doc.text.split("\n"), 1) if "return x" in line)
    assert doc.describe(last).startswith("report.pdf, page 2, line ")
    assert doc.ref(last).file == "report.pdf" and doc.ref(last).page == 2
    assert str(doc.ref(last)) == doc.describe(last)  # JSON, terminal and feedback cite alike


@pytest.mark.parametrize(
    ("sentence", "spaced", "expected"),
    [
        ("My STMConvLayer is short.", ("STMConvLayer",), "My STMConvLayer is short."),
        ("a b c STMConvLayer", ("STMConvLayer",), "a b c STMConvLayer"),
        ("The layer and its forward", ("layer", "and", "forward"), "The layer and its forward"),
    ],
)
def test_letter_spaced_words_are_joined(
    sentence: str, spaced: tuple[str, ...], expected: str
) -> None:
    doc = read_document(pdf_from_markdown(sentence, spaced=spaced), "report.pdf")
    assert doc.text.strip().split("\n")[0] == expected


def _pdf_folder(tmp_path: Path, pdf: bytes) -> Path:
    (tmp_path / "answers.toml").write_text('homework = "hw6"\n[p4a]\nparams_naive = 213504\n')
    (tmp_path / "report.pdf").write_bytes(pdf)
    return tmp_path


def test_a_scanned_page_sends_the_writeup_to_a_ta(tmp_path: Path) -> None:
    from grader.pipeline import GradeOptions, grade

    pdf = make_pdf([text_page(["Problem 2", "The mean is 0."]), []])
    folder = _pdf_folder(tmp_path, pdf)
    sub = ingest(folder)
    assert sub.documents == []
    (unread,) = sub.unread_documents
    assert unread[0] == "report.pdf" and "page(s) 2 have no text layer" in unread[1]
    (graded,) = grade([folder], GradeOptions(select="p2")).submissions
    (mean,) = [c for p in graded.problems if p.id == "p2" for c in p.checks if c.id == "mean"]
    assert mean.status.value == "pending" and "no text layer" in mean.message


def _encrypted() -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(make_pdf([text_page(["Problem 1", "ReLU."])])))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _flate_bomb() -> bytes:
    """A page whose content stream inflates to 512 MiB of zeros from half a MB."""
    packer = zlib.compressobj(1)
    chunk = bytes(2**20)
    body = b"".join(packer.compress(chunk) for _ in range(512)) + packer.flush()
    pdf = make_pdf([text_page(["Problem 1"])], compress=False)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body
    start = pdf.index(b"6 0 obj\n") + len(b"6 0 obj\n")
    end = pdf.index(b"\nendstream", start)
    return pdf[:start] + stream + pdf[end:]  # xref offsets after it are off: readers repair


def _nested() -> bytes:
    """An object bomb: arrays nested 200,000 deep in the page's resources."""
    bomb = b"[" * 200_000 + b"]" * 200_000
    pdf = make_pdf([text_page(["Problem 1"])])
    return pdf.replace(b"/Resources << /Font", b"/Resources << /Bomb " + bomb + b" /Font", 1)


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _page_tree_bomb(depth: int = 9, width: int = 10) -> bytes:
    """An object bomb without a cycle: each node of the page tree lists the next node ten times,
    so the tree is 10 objects but 10**9 pages when flattened."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        kids = b" ".join(b"%d 0 R" % (3 + level) for _ in range(width))
        parent = b" /Parent %d 0 R" % (1 + level) if level else b""
        count = width ** (depth - level)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d%s >>" % (kids, count, parent))
    leaf = 2 + depth
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (leaf, leaf + 2, leaf + 3)
    )
    content = b"BT /F1 11 Tf 72 700 Td (Problem 1: the answer is ReLU.) Tj ET"
    objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _raw_pdf(objects)


def _cycle() -> bytes:
    pdf = make_pdf([text_page(["Problem 1"])])
    return pdf.replace(b"/Kids [5 0 R]", b"/Kids [2 0 R 5 0 R]", 1)


# Each case is read in a subprocess under a wall-clock limit; the reader bounds its own child.
_PROBE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))  # the grader's side is bounded too
resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
from grader.ingest.documents import DocumentError, read_document
raw = open(sys.argv[1], "rb").read()
try:
    doc = read_document(raw, "report.pdf")
    print("read", len(doc.text.split(chr(10))), *doc.notes)
except DocumentError as exc:
    print("refused", exc.message)
"""


@pytest.mark.slow  # each case parses in a bounded child process
@pytest.mark.parametrize(
    ("case", "outcome", "says"),
    [
        ("encrypted", "refused", "encrypted"),
        ("flate-bomb", "refused", "could not be read"),
        ("nested", "refused", "no text layer"),  # pypdf cannot parse the page: a TA reads it
        # 10**9 pages from 10 objects: pypdf's own bound, or the child's limits, end it
        pytest.param("page-tree", "", "", marks=pytest.mark.slow),
        ("cycle", "refused", "could not be read"),
        ("pages", "read", f"only the first {MAX_PAGES} of its 2000 pages"),
        ("not-a-pdf", "refused", "not a PDF"),
        ("truncated", "refused", "could not be read"),
    ],
)
def test_pathological_pdfs_end_in_a_clear_message_in_bounded_time(
    tmp_path: Path, case: str, outcome: str, says: str
) -> None:
    if case == "encrypted":
        raw = _encrypted()
    elif case == "flate-bomb":
        raw = _flate_bomb()
    elif case == "nested":
        raw = _nested()
    elif case == "cycle":
        raw = _cycle()
    elif case == "page-tree":
        raw = _page_tree_bomb()
    elif case == "pages":
        raw = make_pdf([[Run(72, 700, f"page {k} text line")] for k in range(2000)])
    elif case == "not-a-pdf":
        raw = b"hello, this is a Word file renamed" * 10
    else:
        raw = make_pdf([text_page(["Problem 1", "ReLU."])])[:300]
    path = tmp_path / "report.pdf"
    path.write_bytes(raw)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    verdict = done.stdout.strip()
    assert verdict.startswith(("read", "refused")), verdict
    if outcome:
        assert verdict.startswith(outcome), verdict
    assert says in verdict


def test_read_document_refuses_what_is_not_a_pdf() -> None:
    with pytest.raises(DocumentError, match="not a PDF"):
        read_document(b"PK\x03\x04 a zip", "report.pdf")


def _graded(tmp_path: Path, pages: list[list[Run]], select: str) -> dict[str, object]:
    from grader.pipeline import GradeOptions, grade

    (tmp_path / "report.pdf").write_bytes(make_pdf(pages))
    (sub,) = grade([tmp_path], GradeOptions(select=select, homework="hw6")).submissions
    return {c.id: c for p in sub.problems for c in p.checks}


def test_exponents_are_read_as_exponents_not_digits(tmp_path: Path) -> None:
    """'2.1 × 10⁵' typeset: the raised 5 is an exponent (a rounded count, for a TA), not the
    number 105; exact counts written plainly pass."""
    page = text_page(["Problem 4", "", "(a)"], top=740)
    page += [
        Run(72, 690, "The plain layer has about 2.1 × 10"),
        Run(265, 695, "5", size=7),
        Run(272, 690, "parameters."),
        Run(72, 676, "The STM layer has 78,592 parameters."),
        Run(72, 600, "Text enough to set the body size of this page, in plain words."),
    ]
    checks = _graded(tmp_path, [page], "p4a")
    naive, stm = checks["params_naive"], checks["params_stm"]
    assert naive.status.value == "pending", naive.message  # rounded: a TA's call
    assert stm.status.value == "passed", stm.message
    assert "report.pdf, page 1" in " ".join(stm.details)
    assert stm.source is not None and (stm.source.page, stm.source.line) == (1, 4), stm.source
    assert stm.text().location == "report.pdf, page 1, line 4"  # the 4th line typeset


def test_a_typeset_formula_goes_to_a_ta_with_its_page(tmp_path: Path) -> None:
    """A formula extracted from typeset math is never guessed (a fraction's numerator and
    denominator are separate lines of text): pending, with the page."""
    page = text_page(
        [
            "Problem 2",
            "",
            "E[y_L] = 0",
            "",
            "Var[y_L] = 1 + L/3",
            "",
            "Text enough to set the body size of this page, in plain words.",
        ]
    )
    checks = _graded(tmp_path, [page], "p2")
    for name in ("mean", "variance"):
        assert checks[name].status.value == "pending", checks[name].message
        assert "typeset in a PDF" in checks[name].message
        assert "report.pdf, page 1, line" in checks[name].message


def test_a_typeset_thousands_separator_is_not_read_as_two_numbers(tmp_path: Path) -> None:
    """Math mode puts a space after a comma: '= 213, 504' was read as 213 and failed a right
    answer. It is a TA's call (a separator, or a list of two numbers)."""
    page = text_page(
        [
            "Problem 4",
            "",
            "(a)",
            "(128 × 256 + 128) + (128 × 9 × 128 + 128) + (256 × 128 + 256) = 213, 504",
            "32 × 2456 = 78,592",
            "",
            "Text enough to set the body size of this page, in plain words.",
        ]
    )
    checks = _graded(tmp_path, [page], "p4a")
    naive, stm = checks["params_naive"], checks["params_stm"]
    assert naive.status.value == "pending" and "213, 504" in naive.message, naive.message
    assert stm.status.value == "passed", stm.message


def test_letter_spaced_code_in_one_run_is_joined() -> None:
    """Listings place code one glyph at a time; extraction returns 'S T M C o n v L a y e r'."""
    runs = [
        Run(72, 700, "class S T M C o n v L a y e r ( nn . M o d u l e ):", "F2", 10),
        Run(96, 686, "def forward ( self , x ):", "F2", 10),
        Run(120, 672, "return x", "F2", 10),
        Run(72, 600, "Text enough to set the body size of this page, in plain words."),
    ]
    doc = read_document(make_pdf([runs]), "report.pdf")
    built = assemble_class(list(doc.blocks), "STMConvLayer")
    assert built is not None and built.syntax_error is None, doc.text
    assert "class STMConvLayer ( nn . Module ):" in doc.text


@pytest.mark.sandbox
def test_a_pdf_compiled_by_pdflatex_is_never_graded_differently_than_its_text(
    tmp_path: Path,
) -> None:
    """seed-000's .tex compiled by a real LaTeX: every verdict is the converted text's, or
    pending for a TA where typesetting lost what the text kept (math, listings' spacing).
    Needs pdflatex (texlive-latex-base); skipped where it is absent."""
    import shutil

    from grader.pipeline import GradeOptions, grade
    from grader.sandbox.runner import SandboxRunner
    from tests.scenarios.test_writeup_grading import WithoutScripts

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (texlive-latex-base)")
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "tex" / "seed-000-tex" / "report.tex", build)
    done = subprocess.run(
        [
            "pdflatex",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-shell-escape",
            "report.tex",
        ],
        cwd=build,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    folder = tmp_path / "seed-000-pdf"
    folder.mkdir()
    shutil.copy(build / "report.pdf", folder)
    seed = ROOT / "tests" / "data" / "writeups-graded" / "seed-000"
    report = grade(
        [seed, folder],
        GradeOptions(select="p1 or p2 or p4a or p4b", runner=WithoutScripts(SandboxRunner())),
    )
    by_student = {s.student: s for s in report.submissions}
    text, pdf = by_student["seed-000"], by_student["seed-000-pdf"]
    for pa, pb in zip(text.problems, pdf.problems, strict=True):
        for a, b in zip(pa.checks, pb.checks, strict=True):
            assert b.status in (a.status, Status.PENDING, Status.SKIPPED), (a, b)
            if b.status is a.status and a.status is not Status.PENDING:
                assert b.score == a.score
    checks = {c.id: c for p in pdf.problems for c in p.checks}
    assert checks["equivalent"].status is Status.PASSED  # the prose verdict is read
    # the class comes back from listings' glyph-by-glyph layout across a page break, with the
    # student's own mistake (forward indented inside __init__) cited by page and line
    # (its count is read, but with forward broken no output proves it: for a TA)
    assert checks["stm.param_count"].status is Status.PENDING
    assert "78,592 trainable parameters" in checks["stm.param_count"].message
    assert checks["stm.output_shape"].status is Status.ERROR
    assert "`def forward` at report.pdf, page " in checks["stm.output_shape"].message
    # '213,504' typeset in math reads '213, 504': for a TA, never 213
    assert checks["params_naive"].status is Status.PENDING


def _scanned_page(width: int = 850, height: int = 1100) -> tuple[bytes, object]:
    """A one-page PDF holding only an image (a 'scan' of handwriting), as a scanner writes it,
    and the image itself."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(picture)
    for k in range(12):  # strokes, not text: there is no text layer to read
        pen.line([(80, 120 + 70 * k), (760, 150 + 70 * k)], fill=0, width=4)
    out = io.BytesIO()
    picture.save(out, format="PDF", resolution=100.0)
    return out.getvalue(), picture


def _with_scanned_page(text: bytes, scan: bytes) -> bytes:
    writer = pypdf.PdfWriter()
    for raw in (text, scan):
        for page in pypdf.PdfReader(io.BytesIO(raw)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_scanned_page_reaches_the_ta_as_an_image_beside_the_feedback(tmp_path: Path) -> None:
    """The page without text goes to a TA whole: every answer pending (never a zero), the
    page's image written beside the feedback by --out and linked from it, not kept in JSON."""
    import json

    from PIL import Image

    from grader.pipeline import GradeOptions, grade
    from grader.report.exports import export_class

    pytest.importorskip("PIL", reason="Pillow is not installed (matplotlib brings it)")
    scan, picture = _scanned_page()
    pdf = _with_scanned_page(make_pdf([text_page(["Problem 2", "The mean is 0."])]), scan)
    (tmp_path / "dana").mkdir()
    folder = _pdf_folder(tmp_path / "dana", pdf)
    report = grade([folder], GradeOptions(select="p2"))
    (graded,) = report.submissions
    (image,) = graded.page_images
    assert (image.file, image.page, image.name) == ("report.pdf", 2, "report-page-2.png")
    p2 = [c for p in graded.problems if p.id == "p2" for c in p.checks]
    assert p2 and all(c.status is Status.PENDING and c.score == 0 for c in p2)
    assert any("report.pdf, page 2 is scanned or handwritten" in note for note in graded.notes)
    out = tmp_path / "out"
    export_class(report, out)
    png = out / "feedback" / "dana" / "report-page-2.png"
    with Image.open(png) as kept:
        assert kept.format == "PNG" and kept.size == picture.size  # type: ignore[attr-defined]
        ink = sum(kept.convert("L").histogram()[:128])  # the strokes survive (JPEG in the PDF)
        assert abs(ink - sum(picture.histogram()[:128])) < 0.05 * ink  # type: ignore[attr-defined]
    feedback = (out / "feedback" / "dana.md").read_text(encoding="utf-8")
    assert "![page 2](<dana/report-page-2.png>)" in feedback
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (entry,) = saved["submissions"][0]["page_images"]
    assert entry == {"file": "report.pdf", "page": 2, "name": "report-page-2.png"}
    export_class(report.model_validate_json(report.model_dump_json()), out)  # images not in JSON
    assert png.is_file(), "a result read back from results.json keeps its page image"


def test_a_large_scan_is_kept_small_enough_to_read() -> None:
    """A 300 dpi scan is written no larger than MAX_IMAGE_SIDE pixels a side."""
    from PIL import Image

    from grader.ingest.pdf import MAX_IMAGE_SIDE, read_pdf

    pytest.importorskip("PIL", reason="Pillow is not installed (matplotlib brings it)")
    scan, _ = _scanned_page(2550, 3300)
    pdf = read_pdf(scan, "scan.pdf")
    assert pdf.textless_pages == (1,)
    ((page, png),) = pdf.page_images
    with Image.open(io.BytesIO(png)) as kept:
        assert page == 1 and max(kept.size) == MAX_IMAGE_SIDE


def test_a_listing_continued_on_a_page_of_its_own_keeps_its_indentation() -> None:
    """Page 2 holds only the rest of a listing, whose leftmost line is `def forward` (four
    columns in): measured from the page's own leftmost line, the method lost its indentation
    and the class its forward."""
    mono = 10 * 0.6
    first = text_page(["Problem 4", "", "(b) The layer, in words and in code below.", ""])
    first += text_page(["class Net(nn.Module):", "    def __init__(self):"], top=680, font="F2")
    first += text_page(["        super().__init__()"], top=652, font="F2")
    second = [
        Run(72 + 4 * mono, 700, "def forward(self, x):", "F2", 10),
        Run(72 + 8 * mono, 686, "return x", "F2", 10),
    ]
    doc = read_document(make_pdf([first, second]), "report.pdf")
    assert "    def forward(self, x):" in doc.text.split("\n"), doc.text
    assert "        return x" in doc.text.split("\n"), doc.text
    built = assemble_class(list(doc.blocks), "Net")
    assert built is not None and built.syntax_error is None, doc.text


def test_typewriter_quotes_in_a_listing_read_straight() -> None:
    """pdflatex's typewriter font names its quote 'quoteright': `’rx’` is the `'rx'` typed."""
    page = text_page(["Problem 7", "", "Text enough to set the body size of this page, in words."])
    # byte 0x27 is `quoteright` in Courier's StandardEncoding: extraction gives U+2019
    page += text_page(["plt.plot(X, Y, 'rx')"], top=600, font="F2", size=10)
    pdf = make_pdf([page])
    assert "\u2019rx\u2019" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    doc = read_document(pdf, "report.pdf")
    assert "plt.plot(X, Y, 'rx')" in doc.text, doc.text


def test_a_value_under_a_left_side_not_known_in_a_pdf_is_for_a_ta(tmp_path: Path) -> None:
    """In a PDF, left sides are glyphs laid out again: a value the grader cannot name there may
    be the one it misses, so the missing quantity goes to a TA, never 'not answered'."""
    from grader.pipeline import GradeOptions, grade

    lines = ["Question 2", "", "3. SGD step"]
    lines += [f"w_{k}^new = {v}" for k, v in enumerate([0.09998, 0.2, 0.29992, 0.39998], 1)]
    lines += ["b1 updated: B1 new = 0.49998", "", "Text enough to set the body size of this page."]
    (tmp_path / "report.pdf").write_bytes(make_pdf([text_page(lines)]))
    (sub,) = grade([tmp_path], GradeOptions(select="q2", homework="dl/hw2")).submissions
    (updates,) = [c for p in sub.problems for c in p.checks if c.id == "updates"]
    b1 = next(line for line in updates.details if "b1_new" in line)
    assert b1.startswith("?") and "may be b1_new" in b1, updates.details
    assert "not answered" not in b1


@pytest.mark.parametrize(
    ("headings", "size"),
    [(["Problem 4", "Problem 5", "Problem 6"], 11), (["4", "5", "6"], 14.4)],
)
def test_a_problem_heading_at_the_top_of_each_page_is_no_header(
    headings: list[str], size: float
) -> None:
    """Narrow margins, one problem per page: `Problem 4`, `Problem 5` sit where a running header
    would and repeat once numbers are masked (a bare `\\section*{4}` is set large, where a page
    number would be). They are headings; the running header with its page number still goes."""
    body = "The answer to this part, in a sentence long enough to set the size of the text."
    pages = [
        [
            Run(72, 775, f"HW 6 -- D. Student -- page {k}", "F1", 9),
            Run(72, 745, heading, "F1", size),
            *text_page([body, f"result = {k}"], top=720),
        ]
        for k, heading in enumerate(headings, 1)
    ]
    doc = read_document(make_pdf(pages), "report.pdf")
    assert [s.problem for s in doc.sections] == ["4", "5", "6"], doc.text
    assert "D. Student" not in doc.text


def test_a_heading_repeated_word_for_word_at_the_top_is_a_header() -> None:
    """A running header that is a problem's title on every page (fancyhdr's section mark)."""
    body = "The answer to this part, in a sentence long enough to set the size of the text."
    pages = [[Run(72, 775, "Problem 4", "F1", 11), *text_page([body], top=680)] for _ in "ab"]
    pages[0] = [*pages[0], Run(72, 700, "Problem 4", "F1", 14)]
    doc = read_document(make_pdf(pages), "report.pdf")
    assert doc.text.count("Problem 4") == 1, doc.text
