"""Scanned pages with an OCR text layer (grader.ingest.pdf finds them, grader.ingest.ocr scores
their text): noise goes to a TA whole with the page images, never a zero; a clean layer is read,
and only a passing verdict stands on it.

The scanned PDFs are written by tests/ingest/pdfmake.py (`Scan`): a picture over the page and
the OCR text drawn invisibly (render mode 3) or beneath it, as OCR programs write them. The
noise below is what OCR makes of handwritten answers: fragments of words, capitals in
mid-sentence, symbols where strokes were (samples modelled on OCR output of handwriting).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.ingest.documents import read_document
from grader.ingest.ocr import ocr_quality
from grader.ingest.submission import ingest
from grader.results import Status
from tests.ingest.pdfmake import Scan, make_pdf, text_page

pytest.importorskip("pypdf", reason="pypdf is not installed (scripts/setup installs it)")

ROOT = Path(__file__).resolve().parents[2]

NOISE = [
    """Pobl 2 @) Ine vadaue 4 wey Pr = Ay ZL - f yo hy BE) ye Coe ee -
|} 0 = OS W=- 7 (x =e) ye VM
wk = Zz ah ey 6 Cadi (Ge) = Sey) a
Pn Dot fey Nee HE Ge ea. (k+bh) ~ i | mes Ae
Q4 b) Jrorameler = 3x32 x bt + le ~~ Ahh _ ,
= W%, 41S (Saf , The varione SS Ty tn""",
    """ee ees Hl Vewnal nee wht Lop Od ere
oy Cv Coney Avy sou, re Sst ae = | 6 ( tAW)
Ve Wy. eile : Gen, = pe ee a
Fig rr 4 2. Ob wees weg Le Ge Bol ot
Uh ae SS Gaus Brg Pye Vo mee bo OS Fe Sy
i, | nih lf Ie ie Aaa ee ore""",
    """Probl. 3 ()) Vor (y,) = Zn, Var(w) Veo (x)
7 2 \\ Var (4) = a by Ag i.
e) Tae OnsuIer is 2/3n 1 [ete Cece?
oe bey = O-3'? ue. wt = O-6%% b,"= 0.497
Dios Ys Lr" ~ ed. ma kh oro fa nam [0
Ba 4 Le feaa Sy. ne = 0.c 4 fae =m ai""",
]

CLEAN = [
    "Problem 4",
    "",
    "(a) The plain layer has {naive} parameters, and the split-transform-merge layer",
    "has {stm} parameters. Each of the branches is a small convolution, so the",
    "count is the sum over the branches of the weights and the biases of each one.",
    "This is what the summary of the model prints for both of the layers as well,",
    "and we have checked it by counting the parameters of the modules by hand.",
]


def _clean(naive: str = "213,504", stm: str = "25,856") -> list[str]:
    return [line.format(naive=naive, stm=stm) for line in CLEAN]


@pytest.mark.parametrize("noise", NOISE)
def test_ocr_noise_does_not_read_as_text(noise: str) -> None:
    assert not ocr_quality(noise).is_text, ocr_quality(noise).describe()


def test_too_little_ocr_text_cannot_be_told_from_noise() -> None:
    assert not ocr_quality("The mean is 0 and the variance is L over n.").is_text
    assert ocr_quality(" ".join(_clean())).is_text


def _pages(pdf: Path) -> dict[str, str]:
    from grader.ingest.pdf import read_pdf

    read = read_pdf(pdf.read_bytes(), pdf.name)
    pages: dict[str, list[str]] = {}
    for line, (label, _) in zip(read.text.split("\n"), read.origins, strict=False):
        pages.setdefault(label, []).append(line)
    return {label: "\n".join(lines) for label, lines in pages.items()}


DEMO_PDFS = sorted((ROOT / "submissions").rglob("*.pdf"))


@pytest.mark.parametrize("pdf", DEMO_PDFS, ids=[p.parent.name for p in DEMO_PDFS])
def test_no_typeset_page_is_taken_for_a_scan(pdf: Path) -> None:
    """The demo students' PDFs (pdflatex) have no page picture under their text: no page is a
    scan. Were one scanned back, each page of prose would read as text; a page mostly of code
    (gil's second, 61 words) would not, and would go to a TA: the safe side."""
    from grader.ingest.pdf import read_pdf

    read = read_pdf(pdf.read_bytes(), pdf.name)
    assert read.ocr_pages == read.noisy_pages == read.textless_pages == ()
    assert read.page_images == ()
    for label, text in _pages(pdf).items():
        quality = ocr_quality(text)
        if quality.words >= 80:
            assert quality.is_text, (label, quality.describe())


def test_converted_writeups_read_as_text() -> None:
    """Markdown and plain-text writeups (what students convert their PDFs to), page-sized."""
    texts = [p for p in (ROOT / "submissions").rglob("*.md") if p.name != "README.md"]
    texts += sorted((ROOT / "tests" / "data").rglob("*.md"))[:40]
    scored = 0
    for path in texts:
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        for k in range(0, len(lines), 50):
            quality = ocr_quality("\n".join(lines[k : k + 50]))
            if quality.words >= 60:
                scored += 1
                assert quality.is_text, (path, k, quality.describe())
    assert scored >= 1


@pytest.mark.parametrize(
    ("scan", "lines", "expected"),
    [
        (Scan(), _clean(), "ocr"),  # invisible OCR text over the page picture
        (Scan(mode=0, under=True), _clean(), "ocr"),  # OCR text hidden beneath the picture
        (Scan(), NOISE[0].split("\n"), "noisy"),
        (Scan(), NOISE[1].split("\n"), "noisy"),
        (Scan(form=True), NOISE[2].split("\n"), "noisy"),  # the scan drawn by a form XObject
        (Scan(form=True), _clean(), "ocr"),
        (Scan(), ["Problem 2", "mean = 0"], "noisy"),  # too few words to tell: a TA's
        (Scan(), ["p. 2"], "textless"),  # next to no text: as a page without a text layer
        (Scan(mode=0), NOISE[0].split("\n"), "typeset"),  # visible text over a figure
        (Scan(mode=0, under=True, masked=True), NOISE[0].split("\n"), "typeset"),  # see-through
        (Scan(cover=0.3), NOISE[0].split("\n"), "typeset"),  # a picture on part of the page
    ],
)
def test_a_scanned_page_is_told_by_how_it_is_drawn(
    scan: Scan, lines: list[str], expected: str
) -> None:
    from grader.ingest.pdf import read_pdf

    pdf = read_pdf(make_pdf([text_page(lines)], scans={0: scan}), "report.pdf")
    found = {
        "ocr": [n for n, _ in pdf.ocr_pages],
        "noisy": [n for n, _ in pdf.noisy_pages],
        "textless": list(pdf.textless_pages),
    }
    for kind, pages in found.items():
        assert pages == ([1] if kind == expected else []), (kind, found)
    images = [page for page, _ in pdf.page_images]
    assert images == ([] if expected == "typeset" else [1])


def _folder(tmp_path: Path, pages: list[list[str]], scans: dict[int, Scan]) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "answers.toml").write_text('homework = "hw6"\n')
    pdf = make_pdf([text_page(p, top=700) for p in pages], scans=scans)
    (tmp_path / "report.pdf").write_bytes(pdf)
    return tmp_path


def _p4a(folder: Path) -> dict[str, object]:
    from grader.pipeline import GradeOptions, grade

    (graded,) = grade([folder], GradeOptions(select="p4a")).submissions
    checks = {c.id: c for p in graded.problems if p.id == "p4a" for c in p.checks}
    return {"checks": checks, "graded": graded}


def test_a_noisy_ocr_page_sends_the_writeup_to_a_ta_with_its_image(tmp_path: Path) -> None:
    """Page 1 typeset and right, page 2 a scan whose OCR is noise: the whole writeup is a TA's
    (no answer read from either page), every check pending with its points, the page's image
    beside the feedback."""
    folder = _folder(tmp_path / "nora", [_clean(), NOISE[0].split("\n")], {1: Scan()})
    sub = ingest(folder)
    assert sub.documents == []
    (unread,) = sub.unread_documents
    assert "page(s) 2 are scanned" in unread[1] and "not reliable" in unread[1]
    found = _p4a(folder)
    checks = found["checks"]
    assert isinstance(checks, dict) and checks
    for check in checks.values():
        assert check.status is Status.PENDING and check.score == 0
        assert check.pending_points == check.max_score
    graded = found["graded"]
    assert [(i.page, i.name) for i in graded.page_images] == [(2, "report-page-2.png")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("naive", "expected", "why"),
    [
        ("213,504", Status.PASSED, ""),
        ("213,505", Status.PENDING, "read by OCR from a scanned page (report.pdf, page 1"),
        ("2l3,5O4", Status.PENDING, "for a TA: "),  # OCR's misreading: no number to judge
    ],
)
def test_a_clean_ocr_page_is_read_and_only_a_pass_stands(
    tmp_path: Path, naive: str, expected: Status, why: str
) -> None:
    """A typeset page scanned back: its OCR text is read, said so in the notes, and its image
    kept for a TA; a right answer passes, one that does not (a wrong value, or OCR's misreading
    of the right one) goes to a TA, never a zero."""
    folder = _folder(tmp_path / "omar", [_clean(naive)], {0: Scan()})
    doc = read_document((folder / "report.pdf").read_bytes(), "report.pdf")
    assert doc.ocr_pages == (1,) and doc.blocks == ()
    found = _p4a(folder)
    checks = found["checks"]
    assert isinstance(checks, dict)
    naive_check = checks["params_naive"]
    assert naive_check.status is expected, naive_check.message
    if expected is Status.PENDING:
        assert why in naive_check.message
        if "OCR" not in naive_check.message:  # pending for its reading: the excerpt says OCR
            assert "read by OCR" in naive_check.details[0], naive_check.details
        assert naive_check.score == 0 and naive_check.pending_points == naive_check.max_score
    graded = found["graded"]
    assert any("read by OCR" in note for note in graded.notes)  # type: ignore[attr-defined]
    assert [i.page for i in graded.page_images] == [1]  # type: ignore[attr-defined]


def test_a_typeset_page_beside_a_clean_scan_keeps_its_verdicts(tmp_path: Path) -> None:
    """Only what was read on the scanned page goes to a TA: a wrong answer on a typeset page of
    the same PDF fails as it would without the scan."""
    scanned = ["Problem 5", *_clean()[1:]]
    folder = _folder(tmp_path / "olga", [_clean("213,505"), scanned], {1: Scan()})
    doc = read_document((folder / "report.pdf").read_bytes(), "report.pdf")
    assert doc.ocr_pages == (2,)
    checks = _p4a(folder)["checks"]
    assert isinstance(checks, dict)
    assert checks["params_naive"].status is Status.FAILED


@pytest.mark.parametrize(("h2", "expected"), [("0.99503", Status.PASSED), ("0.91503", "pending")])
def test_values_read_by_ocr_pass_or_go_to_a_ta(tmp_path: Path, h2: str, expected: object) -> None:
    """A group of values read from a clean OCR page: all right passes; one wrong (or misread)
    sends the whole group to a TA with all its points, never a partial score."""
    from grader.pipeline import GradeOptions, grade

    lines = [
        "Question 2",
        "",
        "The forward pass of the network gives the following values, which we have",
        "checked by hand and with the code of the second part of the homework as well.",
        *(f"{k} = {v}" for k, v in [("h1", "0.98661"), ("h2", h2), ("o1", "0.88955")]),
        *(f"{k} = {v}" for k, v in [("o2", "0.80040"), ("L", "0.59324")]),
        "These are the values that the rest of the answer uses in each of the steps.",
    ]
    (tmp_path / "report.pdf").write_bytes(make_pdf([text_page(lines, top=700)], scans={0: Scan()}))
    (sub,) = grade([tmp_path], GradeOptions(select="q2 and forward", homework="dl/hw2")).submissions
    (forward,) = [c for p in sub.problems for c in p.checks if c.id == "forward"]
    assert forward.status is Status(expected), forward.message
    if forward.status is Status.PENDING:
        assert forward.message.startswith("for a TA: read by OCR from a scanned page")
        assert "wrong: h2" in forward.message
        assert forward.score == 0 and forward.pending_points == forward.max_score


@pytest.mark.parametrize("with_py", [False, True], ids=["scan only", "beside a .py file"])
def test_code_that_may_be_in_a_scan_is_for_a_ta(tmp_path: Path, with_py: bool) -> None:
    """A scanned writeup and no .py file: the class and the script may be in the scan, which the
    grader cannot read, so their checks go to a TA (they failed: 'no class STMConvLayer found',
    a zero). Beside a .py file (the control), the code is the file's: not found stays failed."""
    from grader.pipeline import GradeOptions, grade

    (tmp_path / "answers.toml").write_text('homework = "hw6"\n')
    (tmp_path / "report.pdf").write_bytes(
        make_pdf([text_page(NOISE[0].split("\n"))], scans={0: Scan()})
    )
    if with_py:
        (tmp_path / "helpers.py").write_text("def unrelated():\n    return 1\n")
    (sub,) = grade([tmp_path], GradeOptions(select="p4b or p5")).submissions
    checks = [c for p in sub.problems for c in p.checks if not c.not_run and c.max_score > 0]
    assert checks
    expected = Status.FAILED if with_py else Status.PENDING
    assert {c.status for c in checks} == {expected}, [(c.id, c.message) for c in checks]
    if not with_py:
        assert all(c.score == 0 and c.pending_points == c.max_score for c in checks)


OCR_DATA = ROOT / "tests" / "data" / "ocr"  # written by Tesseract: see its README.md


def test_tesseract_scans_are_told_apart() -> None:
    """Real OCR output (Tesseract's PDF: the page image, its text in render mode 3 over it): a
    typeset page scanned back reads as text; the handwriting stand-in's OCR is noise."""
    from grader.ingest.pdf import read_pdf

    typeset = read_pdf((OCR_DATA / "typeset-scan.pdf").read_bytes(), "typeset-scan.pdf")
    assert [n for n, _ in typeset.ocr_pages] == [1] and typeset.noisy_pages == ()
    assert "has 213,504 parameters" in typeset.text
    hand = read_pdf((OCR_DATA / "handwriting-scan.pdf").read_bytes(), "handwriting-scan.pdf")
    assert [n for n, _ in hand.noisy_pages] == [1] and hand.ocr_pages == ()
    for read in (typeset, hand):
        assert [page for page, _ in read.page_images] == [1]


@pytest.mark.parametrize(
    ("scan", "expected"),
    [("typeset-scan.pdf", Status.PASSED), ("handwriting-scan.pdf", Status.PENDING)],
)
def test_tesseract_scans_graded(tmp_path: Path, scan: str, expected: Status) -> None:
    """The typeset scan's counts (right) pass; every answer of the handwritten one is a TA's,
    its page image beside the feedback, none read from the noise ('plain=2, 3')."""
    from grader.pipeline import GradeOptions, grade

    (tmp_path / "answers.toml").write_text('homework = "hw6"\n')
    (tmp_path / "report.pdf").write_bytes((OCR_DATA / scan).read_bytes())
    (sub,) = grade([tmp_path], GradeOptions(select="p4a")).submissions
    checks = [c for p in sub.problems if p.id == "p4a" for c in p.checks]
    assert {c.status for c in checks} == {expected}, [(c.id, c.message) for c in checks]
    assert [(i.page, i.name) for i in sub.page_images] == [(1, "report-page-1.png")]
