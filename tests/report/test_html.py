"""The HTML report's pages as text: what the staff copy shows, what the student copy leaves out,
and hostile text kept as text. (`test_html_browser.py` opens them in a real browser.)"""

from __future__ import annotations

from pathlib import Path

from grader.report.html import WITHHELD, write_site
from grader.report.staff import StaffOnly, spellings
from grader.results import (
    CheckResult,
    GradeReport,
    ReviewMark,
    SourceRef,
    Status,
    problem_result,
    submission_result,
)

PROMPT = "look for the telescoping sum in step 3"


def _report() -> GradeReport:
    count = CheckResult(
        id="count",
        status=Status.FAILED,
        score=0.0,
        max_score=2.0,
        message="1,234 is not correct (expected 213,504)",
        source=SourceRef(file="answers.toml", line=4),
    )
    secret = CheckResult(
        id="secret_zq", status=Status.PASSED, score=1.0, max_score=1.0, message="fine"
    )
    proof = CheckResult(
        id="proof",
        status=Status.FAILED,
        score=4.0,
        max_score=6.0,
        message="graded by a TA: step 3 is missing <script>alert(1)</script>",
        review=ReviewMark(
            kind="decision",
            state="applied",
            points=4.0,
            comment="step 3 is missing <script>alert(1)</script>",
            by="tess",
            automatic_status=Status.PENDING,
            automatic_score=0.0,
        ),
    )
    p1 = problem_result("p1", "", 3.0, [count, secret])
    p3 = problem_result("p3", "", 6.0, [proof])
    return GradeReport(submissions=[submission_result("ann", "c/hw6", [p1, p3])])


def _staff() -> StaffOnly:
    return StaffOnly(
        hidden={("c/hw6", "p1", "secret_zq")},
        prompts={("c/hw6", "p3", "proof"): PROMPT},
        values=spellings(213504.0),
    )


def _site(tmp_path: Path) -> Path:
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n\n[p1]\ncount = 1234\nnext = 1\n')
    write_site(_report(), tmp_path / "out", _staff(), {("ann", "c/hw6"): folder})
    return tmp_path / "out" / "html"


def test_the_staff_page_shows_everything(tmp_path: Path) -> None:
    page = (_site(tmp_path) / "staff" / "ann.html").read_text(encoding="utf-8")
    assert "expected 213,504" in page
    assert "secret_zq" in page
    assert PROMPT in page
    assert "graded by a TA (tess" in page
    # the student's line, highlighted, with its number
    assert '<span class="hl">   4  count = 1234</span>' in page


def test_the_student_copy_leaves_out_what_only_staff_see(tmp_path: Path) -> None:
    page = (_site(tmp_path) / "students" / "ann.html").read_text(encoding="utf-8")
    assert "213,504" not in page and "213504" not in page
    assert WITHHELD in page
    assert "secret_zq" not in page
    assert PROMPT not in page
    assert "tess" not in page
    assert "step 3 is missing" in page  # the TA's comment is for the student


def test_student_text_stays_text(tmp_path: Path) -> None:
    for page in (_site(tmp_path)).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert(1)</script>" not in text, page
        assert text.count("<script>") == 1  # the sorting script, and nothing else


def test_the_class_page_links_every_page_and_counts_pending(tmp_path: Path) -> None:
    index = (_site(tmp_path) / "index.html").read_text(encoding="utf-8")
    assert 'href="staff/ann.html"' in index and 'href="students/ann.html"' in index
    assert '<td data-value="5">5</td>' in index  # 1 + 4: the TA's points are in the total


def test_an_excerpt_never_leaves_the_students_folder(tmp_path: Path) -> None:
    from grader.report.html import source_excerpt

    (tmp_path / "outside.txt").write_text("secret\n")
    folder = tmp_path / "ann"
    folder.mkdir()
    check = CheckResult(
        id="x",
        status=Status.FAILED,
        score=0,
        max_score=1,
        message="m",
        source=SourceRef(file="../outside.txt", line=1),
    )
    assert source_excerpt(folder, check) is None
    (folder / "link.txt").symlink_to(tmp_path / "outside.txt")
    linked = check.model_copy(update={"source": SourceRef(file="link.txt", line=1)})
    assert source_excerpt(folder, linked) is None
    (folder / "mine.txt").write_text("mine\n")
    own = check.model_copy(update={"source": SourceRef(file="mine.txt", line=1)})
    assert source_excerpt(folder, own) == (["mine"], 0)  # the test can fail
