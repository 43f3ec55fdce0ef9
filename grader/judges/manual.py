"""The `manual` check kind: pending for a TA, with the student's own section of their writeup."""

from __future__ import annotations

from grader.judges.context import GradingContext, result
from grader.judges.readers import section_excerpt
from grader.results import CheckResult, Status
from grader.rubric import (
    ManualCheck,
    Problem,
)


def judge_manual(
    problem: Problem, check: ManualCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """Pending for a TA, showing what the student wrote for the problem when a writeup or
    notebook has a section for it (the TA grades the text, not a file hunt)."""
    shown = section_excerpt(ctx.submission, problem)
    details, source = shown if shown is not None else ([], None)
    return result(
        check,
        part,
        Status.PENDING,
        0.0,
        check.points,
        "graded by a TA",  # the rubric's prompt is for the TA and may hold the solution
        details=details,
        source=source,
    )
