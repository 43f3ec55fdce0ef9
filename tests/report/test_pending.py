"""Points waiting for a TA are shown as waiting: never as a 0, never in red, and counted in the
header; and one point is `1 point`."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from grader.report.exports import write_exports
from grader.report.terminal import render_problem_stats, render_submission, render_summary
from grader.results import (
    CheckResult,
    GradeReport,
    ProblemResult,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)


def _check(cid: str, status: Status, score: float, max_score: float) -> CheckResult:
    return CheckResult(id=cid, status=status, score=score, max_score=max_score, message="m")


def ann(p3_score: float = 0.0) -> SubmissionResult:
    """24 of 30 decided, p3's 6 points waiting for a TA."""
    p1 = problem_result("p1", "", 24.0, [_check("a", Status.PASSED, 24.0, 24.0)])
    p3 = problem_result("p3", "Derivation", 6.0, [_check("proof", Status.PENDING, 0.0, 6.0)])
    return submission_result("ann", "hw6", [p1, p3])


def _text(renderable: object, width: int = 120) -> str:
    console = Console(record=True, width=width)
    console.print(renderable)
    return console.export_text()


def test_a_panel_header_counts_the_pending_points() -> None:
    text = _text(render_submission(ann()))
    assert "ann  hw6  24/30 (+6 pending)" in text
    assert "p3 Derivation  0/6 (+6 pending)" in text


def test_a_problem_waiting_for_a_ta_is_yellow_not_red() -> None:
    console = Console(record=True, width=120, color_system="truecolor", force_terminal=True)
    console.print(render_submission(ann()))
    html = console.export_html(inline_styles=True)
    line = next(part for part in html.split("\n") if "0/6 (+6 pending)" in part)
    yellow = "#808000"  # rich's standard yellow in the exported HTML
    assert yellow in line and "#800000" not in line  # not red


def test_the_class_summary_does_not_write_pending_points_as_zero() -> None:
    text = _text(render_summary([ann()]))
    row = next(line for line in text.splitlines() if "ann" in line)
    assert row.split()[:3] == ["ann", "24", "…"]  # p3 read 0, as if the student earned nothing
    partly = ann().model_copy(update={"problems": [ann().problems[0], _partly_pending()]})
    row = next(line for line in _text(render_summary([partly])).splitlines() if "ann" in line)
    assert row.split()[:3] == ["ann", "24", "2…"]


def test_the_class_summary_of_ten_problems_fits_80_columns() -> None:
    problems = [
        problem_result(f"p{i}", "", 4.0, [_check("c", Status.PENDING, 0.0, 4.0)]) for i in range(10)
    ]
    sub = submission_result("student-name", "hw6", problems)
    text = _text(render_summary([sub]), width=80)
    row = next(line for line in text.splitlines() if "student-name" in line)
    assert row.split() == ["student-name", *["…"] * 10, "0/40", "10", "(40)", "0"]


def _partly_pending() -> ProblemResult:
    return problem_result(
        "p3",
        "",
        6.0,
        [_check("a", Status.PASSED, 2.0, 2.0), _check("proof", Status.PENDING, 0.0, 4.0)],
    )


def _full(name: str, score: float) -> SubmissionResult:
    return submission_result(
        name, "hw6", [problem_result("p1", "", 2.0, [_check("a", Status.PASSED, score, 2.0)])]
    )


def test_the_histogram_tells_all_zero_from_all_full() -> None:
    zero = _text(render_problem_stats([_full("a", 0.0), _full("b", 0.0)]))
    full = _text(render_problem_stats([_full("a", 2.0), _full("b", 2.0)]))
    row = [next(line for line in t.splitlines() if "p1" in line) for t in (zero, full)]
    assert row[0] != row[1].replace("100%", "  0%").replace("2.00/2", "0.00/2")
    assert "█····" in row[0] and "····█" in row[1]


def test_the_problem_statistics_leave_pending_problems_out_of_the_mean() -> None:
    text = _text(render_problem_stats([ann(), ann()]))
    row = next(line for line in text.splitlines() if "p3" in line)
    assert "for a TA (2 pending)" in row and "0.00/6" not in row


def test_one_point_is_a_point_in_every_export(tmp_path: Path) -> None:
    one = problem_result(
        "q2",
        "",
        2.0,
        [
            CheckResult(
                id="g",
                status=Status.PENDING,
                score=1.0,
                max_score=2.0,
                message="m",
                pending_points=1.0,
            )
        ],
    )
    small = problem_result("q3", "", 1.0, [_check("h", Status.PENDING, 0.0, 1.0)])
    report = GradeReport(submissions=[submission_result("ann", "hw2", [one, small])])
    written = write_exports(report, tmp_path)
    texts = [p.read_text(encoding="utf-8") for p in written if p.suffix in (".md", ".json", ".xml")]
    assert texts
    assert not any("1 points" in text for text in texts)
    feedback = (tmp_path / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert "(up to 1 point)" in feedback


# --- a students' copy (no reference/): what it can check, not a bare total -------------------


def _self_check() -> SubmissionResult:
    """A perfect self-check of a 30-point homework: 7 points checkable without the reference,
    all earned; 17 only the course staff's run can decide; 6 for a TA."""
    staff = "checked by the course staff (the reference solution is not installed here)"
    p1 = problem_result("p1", "", 3.0, [_check("choice", Status.PASSED, 3.0, 3.0)])
    p2 = problem_result("p2", "", 4.0, [_check("mean", Status.PASSED, 4.0, 4.0)])
    p4b = problem_result(
        "p4b",
        "",
        17.0,
        [
            CheckResult(id="stm.equivalence", status=Status.SKIPPED, score=0.0, max_score=12.0,
                        message=staff),
            CheckResult(id="stm.param_count", status=Status.SKIPPED, score=0.0, max_score=5.0,
                        message=staff),
        ],
    )  # fmt: skip
    p3 = problem_result("p3", "Derivation", 6.0, [_check("proof", Status.PENDING, 0.0, 6.0)])
    return submission_result("ann", "hw6", [p1, p2, p4b, p3])


def test_a_perfect_self_check_says_what_was_checkable_not_7_of_30() -> None:
    text = _text(render_submission(_self_check()), width=200)
    assert (
        "ann  hw6  7 of 7 points checkable here; 17 checked by the course staff; 6 graded by a TA"
        in text
    )
    assert "7/30" not in text
    assert "p4b   0 of 0 points checkable here; 17 checked by the course staff" in text


def test_a_perfect_self_check_is_never_red() -> None:
    console = Console(record=True, width=200, color_system="truecolor", force_terminal=True)
    console.print(render_submission(_self_check()))
    html = console.export_html(inline_styles=True)
    red, green, yellow = "#800000", "#008000", "#808000"  # rich's standard colours in HTML
    total = next(part for part in html.split("\n") if "7 of 7 points checkable here" in part)
    assert yellow in total and red not in total  # only the TA's 6 points are missing
    p4b = next(part for part in html.split("\n") if "0 of 0 points checkable here" in part)
    assert green in p4b and red not in p4b  # nothing lost: only the staff can check the rest


def test_a_self_check_that_lost_points_is_red_and_says_of_what() -> None:
    sub = _self_check()
    lost = problem_result("p2", "", 4.0, [_check("mean", Status.FAILED, 1.0, 4.0)])
    sub = submission_result("ann", "hw6", [sub.problems[0], lost, *sub.problems[2:]])
    text = _text(render_submission(sub), width=200)
    assert "4 of 7 points checkable here; 17 checked by the course staff" in text


def test_a_self_checks_feedback_file_says_what_was_checkable(tmp_path: Path) -> None:
    write_exports(GradeReport(submissions=[_self_check()]), tmp_path)
    text = (tmp_path / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert (
        "**7 of 7 points checkable here; 17 checked by the course staff; 6 graded by a TA**" in text
    )
    assert "Total: 7 / 30" not in text
