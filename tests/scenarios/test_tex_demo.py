"""The demo classes' LaTeX students: one per homework hands in `report.tex` and the
`report.pdf` pdflatex compiled from it (committed, so the demo works without LaTeX).

What is checked, for each of them:
- the committed PDF is the .tex's (rebuilt with pdflatex where it is installed, and read to the
  same laid-out text);
- the .tex alone, the PDF alone and a plain text conversion of the PDF (what the seeds are) get
  the same verdicts, or pending for a TA where typesetting lost what the source kept (a formula
  set in two dimensions, a table's columns): never a different verdict, never a lower score;
- the .tex's verdicts are the ones the class README states (some right, some wrong);
- an answer read from the PDF cites its page.

Students whose homework runs their code (a module, a script) are graded in the real sandbox
(marked `sandbox`); dl/hw2's are values, a formula and a table, and are graded here directly.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.ingest.documents import read_document
from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, Status, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "submissions"

# homework -> (student, -k selection of the checks the writeup answers)
TEX_STUDENTS = {
    "dl/hw2": ("judy", "q2 or q4 or q6"),
    "mfdnn/hw2": ("gil", "p7"),
    "mfdnn/hw3": ("kai", "p1 or p2 or p5a or p5c"),
    "mfdnn/hw4": ("fern", "p7"),
    "mfdnn/hw6": ("gwen", "p1 or p2 or p4a or p4b"),
}
RUNS_CODE = {"mfdnn/hw2", "mfdnn/hw3", "mfdnn/hw4", "mfdnn/hw6"}

# The .tex's verdicts, as submissions/<course>/<hw>/README.md states them.
EXPECTED = {
    "judy": {
        "forward": Status.PASSED,
        "gradients": Status.FAILED,  # dL/db2 from o1's path only
        "updates": Status.PASSED,  # b2_new follows from her own dL/db2: carried, full credit
        "sigma": Status.PASSED,
        "table": Status.FAILED,  # the first FC layer's count without its biases
        "total": Status.PASSED,
        "fc_share": Status.PASSED,
    },
    "gil": {
        "run.runs": Status.PASSED,
        "step": Status.PASSED,
        "sampling": Status.FAILED,  # np.random.randint(1, N)
        "fit": Status.PASSED,
        "figure": Status.PASSED,
    },
    "kai": {
        "run.runs": Status.PASSED,
        "fit": Status.PASSED,
        "figure": Status.PASSED,
        "params": Status.PASSED,
        "relu_relu": Status.PASSED,  # \mathrm{relu}(z) boxed: relu(z), one call
        "tanh": Status.FAILED,  # 2\sigma(z) - 1 is tanh(z/2): tanh(z) = 2\sigma(2z) - 1
    },
    "fern": {
        "c3.param_count": Status.PASSED,
        "c3.equivalence": Status.PASSED,
        "c3.backward": Status.PASSED,
        "params_c3": Status.PASSED,
        "reduction": Status.FAILED,  # 2,400 - 1,516 = 884: the full layer's biases forgotten
    },
    "gwen": {
        "equivalent": Status.PASSED,
        "mean": Status.PASSED,
        "variance": Status.FAILED,  # the 3^{-L} of the input's variance left out
        "params_naive": Status.PASSED,  # stated before an intermediate '= 2456'
        "params_stm": Status.PASSED,
        "stm.equivalence": Status.PASSED,
        "stm.backward": Status.PASSED,
    },
}


def _folder(homework: str) -> Path:
    return DEMO / homework / TEX_STUDENTS[homework][0]


def test_every_demo_homework_has_a_tex_student_with_its_pdf() -> None:
    homeworks = {
        f"{course.name}/{hw.name}"
        for course in DEMO.iterdir()
        if course.is_dir()
        for hw in course.iterdir()
        if hw.is_dir()
    }
    assert homeworks == set(TEX_STUDENTS)
    for homework in TEX_STUDENTS:
        folder = _folder(homework)
        assert sorted(p.name for p in folder.iterdir()) == ["report.pdf", "report.tex"]
        assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
        readme = (folder.parent / "README.md").read_text(encoding="utf-8")
        assert f"| {folder.name} |" in readme, f"{homework}'s README does not list {folder.name}"


def test_a_pdf_beside_its_own_tex_is_not_read_twice() -> None:
    from grader.ingest.submission import ingest

    sub = ingest(_folder("dl/hw2"))
    assert [d.file for d in sub.documents] == ["report.tex"]
    assert any("report.pdf not read: report.tex beside it is read" in n for n in sub.notes)


@pytest.mark.slow
@pytest.mark.parametrize("homework", sorted(TEX_STUDENTS))
def test_the_committed_pdf_is_compiled_from_its_tex(tmp_path: Path, homework: str) -> None:
    """Rebuilt with pdflatex (skipped without it): the committed PDF reads to the same text, so
    an edit to the .tex without rebuilding the PDF fails here. To rebuild:
    `pdflatex -no-shell-escape report.tex` in a copy of the folder, then copy report.pdf back."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (texlive-latex-base)")
    folder = _folder(homework)
    shutil.copy(folder / "report.tex", tmp_path)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "report"],
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    rebuilt = read_document((tmp_path / "report.pdf").read_bytes(), "report.pdf")
    committed = read_document((folder / "report.pdf").read_bytes(), "report.pdf")
    assert committed.text == rebuilt.text


def _plain_text(pdf: bytes) -> str:
    """The PDF converted to text the way the seeds were (plain extraction, page after page)."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (scripts/setup)")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _checks(sub: SubmissionResult) -> dict[str, CheckResult]:
    return {c.id: c for p in sub.problems for c in p.checks if not c.not_run}


def _graded_three_ways(tmp_path: Path, homework: str) -> dict[str, dict[str, CheckResult]]:
    student, select = TEX_STUDENTS[homework]
    folder = _folder(homework)
    forms = {"tex": "report.tex", "pdf": "report.pdf"}
    paths = []
    for form, name in forms.items():
        copy = tmp_path / form / student
        copy.mkdir(parents=True)
        shutil.copy(folder / name, copy)
        paths.append(copy)
    text = tmp_path / "text" / student
    text.mkdir(parents=True)
    (text / "writeup.txt").write_text(_plain_text((folder / "report.pdf").read_bytes()))
    paths.append(text)
    report = grade(paths, GradeOptions(homework=homework, select=select, jobs=1))
    by_form = {}
    for sub in report.submissions:
        assert sub.error is None, sub.error
        by_form[sub.student.split("/")[0]] = _checks(sub)
    assert set(by_form) == {"tex", "pdf", "text"}
    return by_form


def _assert_same_or_for_a_ta(by_form: dict[str, dict[str, CheckResult]], student: str) -> None:
    tex = by_form["tex"]
    for name, expected in EXPECTED[student].items():
        assert tex[name].status is expected, (name, tex[name].message, tex[name].details)
    for form in ("pdf", "text"):
        for name, ours in by_form[form].items():
            source = tex[name]
            allowed = (source.status, Status.PENDING)
            if ours.max_score == 0:  # a name check: no class read from the text, nothing to name
                allowed += (Status.SKIPPED,)
            assert ours.status in allowed, (form, name, ours, source)
            if ours.status is source.status and ours.status is not Status.PENDING:
                assert ours.score == source.score, (form, name, ours, source)
    for name, ours in by_form["pdf"].items():
        if ours.source is not None and ours.source.file == "report.pdf" and ours.source.line:
            assert ours.source.page, (name, ours.source)  # a PDF line is cited with its page


def test_judy_tex_pdf_and_text_get_the_same_verdicts(tmp_path: Path) -> None:
    by_form = _graded_three_ways(tmp_path, "dl/hw2")
    _assert_same_or_for_a_ta(by_form, "judy")
    # what the PDF keeps is graded from it, cited by page and line
    pdf = by_form["pdf"]
    assert pdf["gradients"].status is Status.FAILED
    assert "dL_db2 = 0.0780 (report.pdf, page 1, line " in "\n".join(pdf["gradients"].details)
    assert pdf["updates"].status is Status.PASSED  # b^{new}_{1} as TeX stacks it is b1_new


@pytest.mark.sandbox
@pytest.mark.parametrize("homework", sorted(RUNS_CODE))
def test_code_in_tex_pdf_and_text_gets_the_same_verdicts(tmp_path: Path, homework: str) -> None:
    student = TEX_STUDENTS[homework][0]
    by_form = _graded_three_ways(tmp_path, homework)
    _assert_same_or_for_a_ta(by_form, student)
    # the listing comes back from the PDF (indentation from x offsets, across a page break,
    # straight quotes): its code is run and judged as the .tex's
    code = [c for c in by_form["pdf"].values() if c.id.startswith(("run", "c3", "stm"))]
    assert code and all(c.status is by_form["tex"][c.id].status for c in code), code
