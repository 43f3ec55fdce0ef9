"""Each thing is said once: aspects with one cause share one excerpt in the terminal and the
feedback; `1 point`, never `1 points`; and a class of writeups is read, not run."""

from __future__ import annotations

import io

from rich.console import Console

from grader.report.exports import feedback_markdown
from grader.report.live import LiveProgress
from grader.report.terminal import render_submission
from grader.results import (
    CheckResult,
    SourceRef,
    Status,
    points_text,
    problem_result,
    said_once,
    submission_result,
)

EXCERPT = [f"writeup.md:{n}: class STM(nn.Module) line {n}" for n in range(1, 9)]
CAUSE = "for a TA: the class STM could not be rebuilt from writeup.md"


def _aspect(name: str, message: str = CAUSE) -> CheckResult:
    return CheckResult(
        id=f"stm.{name}",
        status=Status.PENDING,
        score=0.0,
        max_score=1.0,
        message=message,
        source=SourceRef(file="writeup.md", line=12),
        details=EXCERPT,
    )


def _student():
    aspects = [_aspect(n) for n in ("instantiate", "shape", "backward")]
    other = _aspect("count", message="for a TA: no count stated")
    problem = problem_result("p4b", "STM", 4.0, [*aspects, other])
    return submission_result("ann", "hw6", [problem])


def _terminal(renderable: object) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_checks_that_say_the_same_are_grouped_in_order() -> None:
    groups = said_once(_student().problems[0].checks)
    assert [[c.id for c in g] for g in groups] == [
        ["stm.instantiate", "stm.shape", "stm.backward"],
        ["stm.count"],
    ]


def test_the_terminal_shows_a_shared_excerpt_once_under_every_aspect() -> None:
    text = _terminal(render_submission(_student()))
    assert text.count(CAUSE) == 1
    assert text.count(EXCERPT[0]) == 2  # under the three aspects, and under stm.count
    assert "stm.instantiate [0/1], stm.shape [0/1], stm.backward [0/1]" in text


def test_the_feedback_shows_a_shared_excerpt_once() -> None:
    feedback = feedback_markdown(_student())
    body = feedback.split("## p4b", 1)[1]
    assert body.count(CAUSE) == 1
    assert body.count(EXCERPT[0]) == 2
    assert "**stm.instantiate** · up to 1 point; **stm.shape** · up to 1 point" in body
    assert "1 points" not in feedback


def test_one_point_is_one_point() -> None:
    assert [points_text(v) for v in (1, 1.0, 0.5, 2)] == [
        "1 point",
        "1 point",
        "0.5 points",
        "2 points",
    ]


def _bar_text(progress: LiveProgress) -> str:
    return _terminal(progress.bar.make_tasks_table(progress.bar.tasks))


def test_a_class_without_code_to_run_is_read_not_run() -> None:
    progress = LiveProgress(Console(file=io.StringIO(), force_terminal=True, width=200))
    progress.students(3)
    progress.planned(0)
    progress.judging("ann")
    text = _bar_text(progress)
    assert "reading" in text and "0/3 students" in text
    assert "grading" not in text and "0/0" not in text
    progress.planned(4)  # another homework in the batch runs code
    progress.judging("ben")
    text = _bar_text(progress)
    assert "grading" in text and "judging ben" in text
