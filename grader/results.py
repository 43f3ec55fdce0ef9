"""The one immutable result model. Reports and exports only read it; nothing here renders.

The JSON shape (`GradeReport.model_dump`) is a contract other tools depend on:
{"submissions": [{"student", "homework", "score", "max_score",
  "problems": [{"id", "score", "max_score", "checks": [{"id", "status", "score", "max_score",
  "message", ...}]}]}]}
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the student's code crashed, hung or could not be run
    PENDING = "pending"  # waits for a TA
    SKIPPED = "skipped"  # not gradable here (no reference installed, deselected, unanswered key)


class SourceRef(BaseModel):
    """Where in the student's own files something came from (relative path, 1-based line)."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class Series(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    panel: str = Field(description="Which side of the picture: 'yours' or 'reference'.")
    x: list[float]
    y: list[float | None] = Field(description="None where the value was not finite.")


class Plot(BaseModel):
    """Curves worth looking at rather than reading; exports render them as a PNG."""

    model_config = ConfigDict(frozen=True)

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    status: Status
    score: float
    max_score: float
    message: str = Field(description="One line a student can act on.")
    details: list[str] = Field(default_factory=list, description="Further lines: traces, values.")
    hint: str | None = None
    source: SourceRef | None = None
    title: str = ""
    plot: Plot | None = None


class ProblemResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str = ""
    score: float
    max_score: float
    checks: list[CheckResult]


class SubmissionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    student: str
    homework: str
    score: float
    max_score: float
    problems: list[ProblemResult]
    notes: list[str] = Field(default_factory=list, description="Submission-wide remarks.")
    error: str | None = Field(default=None, description="Why grading this student failed, if so.")


class GradeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    submissions: list[SubmissionResult]
    warnings: list[str] = Field(default_factory=list)


def problem_result(
    problem_id: str, title: str, max_score: float, checks: list[CheckResult]
) -> ProblemResult:
    """Sum check scores, clamped to [0, max]: a deduction never makes a problem negative."""
    raw = sum(c.score for c in checks)
    return ProblemResult(
        id=problem_id,
        title=title,
        score=round(min(max(raw, 0.0), max_score), 6),
        max_score=max_score,
        checks=checks,
    )


def submission_result(
    student: str, homework: str, problems: list[ProblemResult], notes: list[str] | None = None
) -> SubmissionResult:
    return SubmissionResult(
        student=student,
        homework=homework,
        score=round(sum(p.score for p in problems), 6),
        max_score=sum(p.max_score for p in problems),
        problems=problems,
        notes=notes or [],
    )
