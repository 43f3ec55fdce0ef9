"""Custom checks on a script's run (`script_run`), with partial credit (`Partial`) and hand-off
to a TA (`Pending`): tests/data/custom-script holds a homework, its checks file and students
whose verdicts a careful TA would give (slow: each student's script runs in the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status

DATA = Path(__file__).resolve().parents[1] / "data" / "custom-script"

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def report() -> GradeReport:
    students = sorted(p for p in (DATA / "students").iterdir() if p.is_dir())
    return grade(students, GradeOptions(homework="demo7", rubrics_dir=DATA / "rubrics", jobs=2))


def check(report: GradeReport, student: str, check_id: str) -> CheckResult:
    (sub,) = [s for s in report.submissions if s.student == student]
    return next(c for p in sub.problems for c in p.checks if c.id == check_id)


@pytest.mark.parametrize(
    ("student", "check_id", "status", "score"),
    [
        ("right", "run.runs", Status.PASSED, 1),
        ("right", "gradient", Status.PASSED, 2),
        ("right", "figure", Status.PASSED, 1),
        # the derivative in a misses its factor x: b and u are right, two thirds of 2 points
        ("wrong-gradient", "gradient", Status.FAILED, 4 / 3),
        ("wrong-gradient", "figure", Status.PASSED, 1),
        # theta renamed params (a fallback name), nothing plotted: the plot is for a TA
        ("no-figure", "gradient", Status.PASSED, 2),
        ("no-figure", "figure", Status.PENDING, 0),
        # crashed before theta was drawn: the function exists and is still judged
        ("crash", "run.runs", Status.ERROR, 0),
        ("crash", "gradient", Status.PASSED, 2),
        ("crash", "figure", Status.PENDING, 0),
    ],
)
def test_custom_checks_judge_the_run(
    report: GradeReport, student: str, check_id: str, status: Status, score: float
) -> None:
    found = check(report, student, check_id)
    assert (found.status, found.score) == (status, pytest.approx(score)), found.message


def test_partial_and_pending_say_why(report: GradeReport) -> None:
    assert check(report, "wrong-gradient", "gradient").message == "right for b, u only"
    pending = check(report, "no-figure", "figure")
    assert pending.message == "pending: no figure was left open or saved: a TA looks at the plot"
    assert pending.pending_points == 1
