"""Progress by student: the pipeline says who is judged and hands each student's result over as
soon as their checks are judged; the command line prints a line per student when piped.

`-k p5c` selects answer-sheet checks and an instructor's custom check
(`tests/data/hw1-course/hw3_checks.py`),
so no student code runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from grader.cli import main
from grader.pipeline import GradeOptions, grade
from grader.report.live import LiveProgress, student_line
from grader.report.terminal import render
from grader.results import (
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)
from grader.sandbox.runner import SandboxRunner

ROOT = Path(__file__).resolve().parents[2]
# the reconstructed HW3 as a test course (tests/data/hw1-course): -k p5c runs no student code
COURSE = ROOT / "tests" / "data" / "hw1-course"
HW1 = ROOT / "tests" / "data" / "hw1-course-class"


def test_each_student_is_finished_before_the_next_starts_and_as_reported() -> None:
    """Custom checks ran after every student's rubric checks, so nobody finished until the
    end of the homework."""
    events: list[tuple[str, str]] = []
    graded: dict[str, SubmissionResult] = {}
    totals: list[int] = []

    def done(result: SubmissionResult) -> None:
        events.append(("done", result.student))
        graded[result.student] = result

    options = GradeOptions(
        rubrics_dir=COURSE,
        select="p5c",
        runner=SandboxRunner(use_bwrap=False),
        on_students=totals.append,
        on_student=lambda student: events.append(("start", student)),
        on_graded=done,
    )
    report = grade([HW1], options)
    students = sorted(s.student for s in report.submissions)
    assert totals == [len(students)] == [3]
    assert events == [(kind, s) for s in students for kind in ("start", "done")]
    for sub in report.submissions:  # the early result is the final one
        assert graded[sub.student] == sub
    custom = [c for s in report.submissions for p in s.problems for c in p.checks if c.id == "map"]
    assert custom and all(c.status is not Status.SKIPPED for c in custom)


def test_piped_the_command_line_prints_a_line_per_finished_student(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert main([str(HW1), "--rubrics", str(COURSE), "-k", "p5c", "--no-cache", "-q"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split("] ")[1].split()[0] for line in lines] == ["ada", "ben", "cleo"]
    assert lines[0].startswith("[1/3 ") and lines[-1].startswith("[3/3 ")


def _sub(name: str, status: Status) -> SubmissionResult:
    check = CheckResult(id="c", status=status, score=0.0, max_score=2.0, message=f"m {name}")
    ok = CheckResult(id="ok", status=Status.PASSED, score=1.0, max_score=1.0, message="fine")
    return submission_result(name, "hw6", [problem_result("p1", "", 3.0, [ok, check])])


def test_the_line_of_a_student_says_score_pending_and_crashes() -> None:
    line = student_line(_sub("ann", Status.PENDING), 3, 12, 41.2)
    assert line == "[3/12 41s] ann hw6 1/3 (+2 pending)"
    assert student_line(_sub("bo", Status.ERROR), 1, 2, 0).endswith("1/3, 1 check(s) crashed")


def test_the_bar_counts_students_not_sandbox_runs() -> None:
    console = Console(record=True, force_terminal=False)
    progress = LiveProgress(console)
    progress.students(12)
    for _ in range(5):
        progress.observed("ann", failed=False)  # five sandbox runs of one student
    progress.graded(_sub("ann", Status.PASSED))
    task = progress.bar.tasks[0]
    assert (task.completed, task.total) == (1, 12)


def test_the_default_view_of_a_class_shows_only_students_to_look_at() -> None:
    report = GradeReport(
        submissions=[
            _sub("ann", Status.PASSED),
            _sub("bo", Status.FAILED),
            _sub("cy", Status.PASSED),
        ]
    )
    console = Console(record=True, width=120)
    render(report, console)
    text = console.export_text()
    assert text.index("Class summary") < text.index("─ bo ")
    assert "─ ann " not in text and "─ cy " not in text
    assert "✗ c" in text and "✓ ok" not in text  # only what is to be looked at
    assert "2 with nothing to look at not shown" in text and "--full" in text
    full = Console(record=True, width=120)
    render(report, full, full=True)
    every = full.export_text()
    assert all(f"─ {name} " in every for name in ("ann", "bo", "cy"))
