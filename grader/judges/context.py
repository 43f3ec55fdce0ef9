"""What a judge may read about one student, and the small helpers every judge uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.ingest.submission import Submission
from grader.reference import Reference
from grader.results import CheckResult, SourceRef, Status
from grader.rubric import ModuleCheck, Rubric, ScriptCheck
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


def check_parts(check: Any) -> list[str | None]:
    """The pytest items a check becomes: one per module aspect, else one."""
    if isinstance(check, ModuleCheck):
        parts: list[str | None] = list(check.aspects)
        if check.misnamed_penalty > 0:
            parts.append("name")
        return parts
    if isinstance(check, ScriptCheck):
        return list(check.aspects)
    return [None]


def part_points(check: Any, part: str | None) -> float:
    """Points an item is worth; a misnaming deduction is worth nothing and can only take away."""
    if part is None:
        return float(check.points)
    if part == "name":
        return 0.0
    return float(check.aspects[part])  # module and script checks


def part_id(check: Any, part: str | None) -> str:
    return f"{check.id}.{part}" if part else check.id


def result(
    check: Any,
    part: str | None,
    status: Status,
    score: float,
    max_score: float,
    message: str,
    **extra: Any,
) -> CheckResult:
    return CheckResult(
        id=part_id(check, part),
        status=status,
        score=round(score, 6),
        max_score=max_score,
        message=message,
        title=check.title,
        **extra,
    )


def needs_reference(check: Any, part: str | None, max_score: float) -> CheckResult:
    return result(
        check,
        part,
        Status.SKIPPED,
        0.0,
        max_score,
        "checked by the course staff (the reference solution is not installed here)",
    )
