"""What a judge may read about one student, and the small helpers every judge uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.ingest.submission import Submission
from grader.reference import Reference
from grader.results import STAFF_MESSAGE, CheckResult, SourceRef, Status
from grader.rubric import Check, Rubric
from grader.sandbox.observe import Observer

# What an aspect judge returns: status, message, details, hint, and where to point the student.
Verdict = tuple[Status, str, list[str], str | None, SourceRef | None]


@dataclass
class GradingContext:
    """Everything a judge may read about one student."""

    submission: Submission
    rubric: Rubric
    reference: Reference | None
    observer: Observer
    run_seed: int = 0
    memo: dict[str, Any] = field(default_factory=dict)


def result(
    check: Check,
    part: str | None,
    status: Status,
    score: float,
    max_score: float,
    message: str,
    **extra: Any,
) -> CheckResult:
    return CheckResult(
        id=check.part_id(part),
        status=status,
        score=round(score, 6),
        max_score=max_score,
        message=message,
        title=check.title,
        **extra,
    )


def needs_reference(check: Check, part: str | None, max_score: float) -> CheckResult:
    return result(
        check,
        part,
        Status.SKIPPED,
        0.0,
        max_score,
        f"{STAFF_MESSAGE} (the reference solution is not installed here)",
    )
