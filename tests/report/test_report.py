"""Tests for grader.report.terminal: what the terminal shows of a check."""

from __future__ import annotations

from rich.console import Console

from grader.report.terminal import MAX_DETAILS, _check_lines, render_class, render_summary
from grader.results import CheckResult, GradeReport, ProblemResult, Status, SubmissionResult


def _check(n_details: int) -> CheckResult:
    details = [f"✗ dL_dw{i} = 0.5: wrong" for i in range(1, n_details + 1)]
    return CheckResult(
        id="gradients", status=Status.FAILED, score=0, max_score=6, message="m", details=details
    )


def test_every_detail_fits_up_to_the_limit() -> None:
    text = _check_lines(_check(MAX_DETAILS)).plain
    assert f"dL_dw{MAX_DETAILS} " in text and "more line" not in text


def test_details_past_the_limit_are_counted_not_dropped_silently() -> None:
    text = _check_lines(_check(MAX_DETAILS + 3)).plain
    assert f"dL_dw{MAX_DETAILS} " in text and f"dL_dw{MAX_DETAILS + 1} " not in text
    assert "… 3 more line(s): see --json or --out feedback/" in text


def _student(name: str, homework: str, problems: list[str]) -> SubmissionResult:
    return SubmissionResult(
        student=name,
        homework=homework,
        score=1.0,
        max_score=2.0,
        problems=[
            ProblemResult(id=p, title="", score=0.5, max_score=1.0, checks=[]) for p in problems
        ],
    )


def test_a_batch_of_several_homeworks_gets_a_summary_per_homework() -> None:
    report = GradeReport(
        submissions=[
            _student("alice", "hw6", ["p4a", "p5"]),
            _student("grace", "hw2", ["q2", "q6"]),
            _student("ada", "hw1", ["p1", "p5a"]),
        ]
    )
    console = Console(record=True, width=100)
    render_class(report, console)
    text = console.export_text()
    for homework in ("hw1", "hw2", "hw6"):
        assert f"Class summary: {homework}" in text and f"Per problem: {homework}" in text
    hw2 = text[text.index("Class summary: hw2") : text.index("Per problem: hw2")]
    assert "q6" in hw2 and "p5" not in hw2  # each table has its own homework's problems only


def test_a_partly_graded_check_shows_its_score_and_what_a_ta_may_add() -> None:
    partly = CheckResult(
        id="gradients",
        status=Status.PENDING,
        score=1,
        max_score=6,
        message="for a TA: 2/12 right",
        pending_points=1,
    )
    assert "gradients [1/6, up to 1 more for a TA]" in _check_lines(partly).plain
    whole = CheckResult(id="plots", status=Status.PENDING, score=0, max_score=3, message="by a TA")
    assert "plots [0/3]  by a TA" in _check_lines(whole).plain
    problem = ProblemResult(id="q2", score=1, max_score=9, checks=[partly, whole])
    sub = SubmissionResult(student="ann", homework="hw2", score=1, max_score=9, problems=[problem])
    console = Console(record=True, width=100)
    console.print(render_summary([sub]))
    row = next(line for line in console.export_text().splitlines() if "ann" in line)
    assert "2 (4)" in row  # two checks wait; a TA can add up to 1 + 3 points
