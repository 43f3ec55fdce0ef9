"""The one immutable result model. Reports and exports only read it; nothing here renders.

The JSON shape (`GradeReport.model_dump`) is a contract other tools depend on:
{"submissions": [{"student", "homework", "score", "max_score",
  "problems": [{"id", "score", "max_score", "checks": [{"id", "status", "score", "max_score",
  "message", "pending_points", ...}]}]}]}
Additions keep old readers working: a check's `source` may carry a PDF `page`; a submission's
`page_images` names the scanned pages a TA reads (their PNGs are written by --out, not held here).

A pending check's `score` counts what is already decided: 0 for every kind but `values`, which
judges each quantity on its own and awards the decided ones at once. Its `pending_points` is the
most a TA can still add. Totals count `score` only: nothing pending is awarded automatically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the student's code crashed, hung or could not be run
    PENDING = "pending"  # waits for a TA
    SKIPPED = "skipped"  # not gradable here (no reference installed, deselected, unanswered key)


# What a check that was never judged says, as the pipeline writes it (`pipeline._not_run`; a
# test holds the two together). Exports read them to tell a partial or unfinished result from a
# whole one: the JSON contract has no other field for it.
DESELECTED_MESSAGE = "not run (deselected)"
INTERRUPTED_MESSAGE = "not run (interrupted: run again with --resume)"


# How a check begins that only the course staff's run can decide (a students' copy has no
# reference solution): `judges.context.needs_reference`, the module judge and the custom-check
# fixture all say it. The terminal reads it to count those points apart from the ones lost.
STAFF_MESSAGE = "checked by the course staff"


class Completeness(StrEnum):
    COMPLETE = "complete"  # every check of the homework was judged
    PARTIAL = "partial"  # a -k selection left checks out: the total is not the homework's
    UNFINISHED = "unfinished"  # the run was interrupted before every check was judged


class SourceRef(BaseModel):
    """Where in the student's own files something came from (relative path, 1-based line).

    A typeset PDF has no file lines a student can look up: its answers are cited by `page` and
    the line on that page ("report.pdf, page 3, line 12"), the way the writeup reader shows them.
    """

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None = None
    page: int | None = Field(default=None, description="The PDF page `line` is on (1-based).")

    def __str__(self) -> str:
        if self.page:
            at = f"{self.file}, page {self.page}"
            return f"{at}, line {self.line}" if self.line else at
        return f"{self.file}:{self.line}" if self.line else self.file


class PageImage(BaseModel):
    """A page of a writeup the grader could not read (scanned, handwritten), as an image for a
    TA: the page goes to a TA whole, and the feedback shows it rather than a zero.

    `png` is not part of the JSON (a results file holds no images): `--out` writes it beside
    the student's feedback as `name`, and the feedback links it.
    """

    model_config = ConfigDict(frozen=True)

    file: str
    page: int
    name: str = Field(description="The PNG's file name beside the feedback: report-page-2.png.")
    png: bytes = Field(default=b"", exclude=True, repr=False)


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


@dataclass(frozen=True)
class CheckText:
    """What a check says to whoever reads it, in the one order every output uses: the message,
    where it points in the student's files, the hint, then the details (which can run to a
    traceback, so they come last and nothing a student can act on is buried under them).

    Plain text, no markup: the terminal, the Markdown feedback, JUnit and Gradescope each
    escape it for their own format, but none of them chooses its own parts or order.
    """

    message: str
    location: str | None
    hint: str | None
    details: tuple[str, ...]

    def lines(self) -> list[str]:
        """Every part as a line of its own, labelled where a bare line would be ambiguous."""
        lines = [self.message]
        if self.location:
            lines.append(f"at {self.location}")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        lines.extend(self.details)
        return lines


class ReviewMark(BaseModel):
    """What course staff decided about a check (`grader.review`, from the class's reviews.toml).

    `applied`: the check's status, score and message are the TA's; the automatic verdict is
    kept here, so an overridden automatic verdict is always visible as one. `reopened`: the
    decision no longer fits what is graded now (the student's files or the excerpt changed, the
    points no longer fit): the check stands as judged automatically and waits for a TA again.
    """

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="'decision' (a pending item graded) or 'override'.")
    state: str = Field(description="'applied', or 'reopened' when it no longer fits.")
    points: float | None = None
    comment: str = Field(default="", description="The TA's words to the student.")
    by: str = ""
    at: str = ""
    automatic_status: Status
    automatic_score: float
    automatic_message: str = ""
    automatic_pending: float = 0.0
    reason: str = Field(default="", description="Why a decision was reopened.")

    @property
    def applied(self) -> bool:
        return self.state == "applied"

    @property
    def overridden(self) -> bool:
        """An automatic verdict (not a pending item) that a TA replaced."""
        return self.applied and self.kind == "override"


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
    visibility: Literal["public", "public_without_answer", "hidden"] = Field(
        default="public",
        description="The rubric's visibility of the check: student-facing outputs (feedback, "
        "Gradescope) leave hidden checks out.",
    )
    pending_points: float = Field(
        default=0.0,
        description="Points a TA may still award, never in `score`: all of a pending check's "
        "points but its score unless the judge says less (a values check whose other "
        "quantities are already decided); 0 for any other status.",
    )

    review: ReviewMark | None = Field(
        default=None, description="Course staff's decision on this check, if any."
    )

    @model_validator(mode="before")
    @classmethod
    def _pending_by_default(cls, data: Any) -> Any:
        """A pending check whose judge names no share leaves all it has not awarded to a TA.

        Every judge but `values` decides a check as a whole (score 0 while pending), so this
        keeps them right without each having to say so; `values` awards its decided quantities
        and names the pending ones' share itself.
        """
        pending = isinstance(data, dict) and data.get("status") in (Status.PENDING, "pending")
        if pending and "pending_points" not in data:
            left = float(data.get("max_score", 0.0)) - float(data.get("score", 0.0))
            data = {**data, "pending_points": round(max(left, 0.0), 6)}
        return data

    @model_validator(mode="after")
    def _pending_fits(self) -> CheckResult:
        """Pending points belong to pending checks and, with the score, fit in the maximum: a
        TA's review can add them, never more than the check is worth."""
        if self.pending_points < 0:
            raise ValueError("pending_points must not be negative")
        if self.pending_points and self.status is not Status.PENDING:
            raise ValueError(f"a {self.status.value} check has no points pending for a TA")
        if self.pending_points > max(self.max_score - self.score, 0.0) + 1e-5:  # rounding
            raise ValueError("score + pending_points exceed max_score")
        return self

    def text(self) -> CheckText:
        """The one text of this result that every report and export renders."""
        return CheckText(
            message=self.message,
            location=str(self.source) if self.source else None,
            hint=self.hint or None,
            details=tuple(self.details),
        )

    @property
    def not_run(self) -> bool:
        """Never judged in this run (deselected by -k or cut off by Ctrl-C): no verdict at all,
        unlike a check skipped because, say, the reference is not installed."""
        return self.status is Status.SKIPPED and self.message in (
            DESELECTED_MESSAGE,
            INTERRUPTED_MESSAGE,
        )

    @property
    def for_staff(self) -> bool:
        """Skipped because only the course staff's run (with the reference) can decide it: in a
        students' copy these points are neither earned nor lost."""
        return self.status is Status.SKIPPED and self.message.startswith(STAFF_MESSAGE)

    @property
    def partly_decided(self) -> bool:
        """Pending, but with part of its points already decided (awarded or lost): the score
        counts, and only `pending_points` wait for a TA."""
        return self.status is Status.PENDING and self.pending_points < self.max_score - 1e-9


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
    page_images: list[PageImage] = Field(
        default_factory=list,
        description="Writeup pages without a text layer, for a TA (images beside the feedback).",
    )

    def not_run(self) -> list[CheckResult]:
        """Checks this result holds no verdict for: deselected by -k, or cut off by Ctrl-C."""
        return [c for p in self.problems for c in p.checks if c.not_run]

    @property
    def completeness(self) -> Completeness:
        """Whether `score` is this student's whole homework: only when every check was judged.
        An interrupted run outranks a selection: finishing it needs --resume, not a new -k."""
        messages = {c.message for c in self.not_run()}
        if INTERRUPTED_MESSAGE in messages:
            return Completeness.UNFINISHED
        if DESELECTED_MESSAGE in messages:
            return Completeness.PARTIAL
        return Completeness.COMPLETE

    def problem_complete(self, problem_id: str) -> bool:
        """Whether every check of this problem was judged, so its score is the problem's."""
        problem = next(p for p in self.problems if p.id == problem_id)
        return not any(c.not_run for c in problem.checks)


class GradeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    submissions: list[SubmissionResult]
    warnings: list[str] = Field(default_factory=list)


def points_text(value: float) -> str:
    """`1 point`, `0.5 points`, `6 points`: never `1 points`."""
    return f"{value:g} point" + ("" if f"{value:g}" == "1" else "s")


def said_once(checks: Sequence[CheckResult]) -> list[list[CheckResult]]:
    """A problem's checks grouped by what they say: checks with the same status and the same
    text (message, place, hint, details) form one group, in the order of its first check.

    One cause often decides several aspects at once (a class that could not be rebuilt from a
    writeup leaves every aspect of a module check pending with one excerpt): every report says
    it once, under all the checks it decides, instead of once per check.
    """
    groups: dict[tuple[Status, CheckText], list[CheckResult]] = {}
    for check in checks:
        groups.setdefault((check.status, check.text()), []).append(check)
    return list(groups.values())


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
    student: str,
    homework: str,
    problems: list[ProblemResult],
    notes: list[str] | None = None,
    page_images: list[PageImage] | None = None,
) -> SubmissionResult:
    return SubmissionResult(
        student=student,
        homework=homework,
        score=round(sum(p.score for p in problems), 6),
        max_score=sum(p.max_score for p in problems),
        problems=problems,
        notes=notes or [],
        page_images=page_images or [],
    )
