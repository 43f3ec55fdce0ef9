"""What the answer kinds (number, choice, formula, table) share: finding the student's answer.

The answer sheet first, then a notebook, then a writeup (read by the reader the judge passes
in); an answer read with doubt is a pending TA item showing its excerpt, and one read from a
document is named in the feedback (`with_origin`).
"""

from __future__ import annotations

from typing import Any

from grader.ingest.submission import Answer
from grader.judges.context import GradingContext, result
from grader.judges.readers import DocumentReader, document_answer
from grader.results import CheckResult, SourceRef, Status
from grader.rubric import (
    AnswerCheck,
    Problem,
    RefValue,
    answer_key,
)


def expected_value(ctx: GradingContext, expected: Any) -> Any:
    return (
        ctx.reference.value(expected)
        if isinstance(expected, RefValue) and ctx.reference
        else expected
    )


def student_answer(
    ctx: GradingContext, problem: Problem, check: AnswerCheck, read: DocumentReader
) -> Answer | CheckResult:
    """The student's answer: answers.toml first, then a notebook, then a writeup.

    An answer read from a document with doubt becomes a pending TA item showing its excerpt;
    one read with confidence is recorded in `ctx.memo` so `judge` can say where it came from.
    """
    key = answer_key(problem, check)
    sub = ctx.submission
    sheet_error = sub.answer_sheet_error
    answer = sub.answers.get(key) if sheet_error is None else None
    if answer is None:
        answer = document_answer(sub, problem, check, read)
    if answer is None and sheet_error is not None:
        return result(
            check,
            None,
            Status.ERROR,
            0.0,
            check.points,
            f"answers.toml could not be read: {sheet_error.reason}",
            source=SourceRef(file=sheet_error.path.name, line=sheet_error.line),
        )
    if answer is None:
        section, _, name = key.rpartition(".")
        return result(
            check,
            None,
            Status.FAILED,
            0.0,
            check.points,
            f"not answered: add `{name} = ...` under [{section}] in answers.toml",
        )
    if answer.pending_reason is not None:
        return result(
            check,
            None,
            Status.PENDING,
            0.0,
            check.points,
            f"for a TA: {answer.pending_reason}",
            details=list(answer.excerpt),
            source=answer.source,
        )
    if answer.origin is not None:
        ctx.memo[f"answer:{key}"] = answer
    return answer


def with_origin(
    outcome: CheckResult, problem: Problem, check: AnswerCheck, ctx: GradingContext
) -> CheckResult:
    """Say which document an answer was read from, and what was read (issue 3: the report
    names the source used)."""
    answer = ctx.memo.get(f"answer:{answer_key(problem, check)}")
    if not isinstance(answer, Answer) or outcome.status is Status.PENDING:
        return outcome
    shown = answer.value if not isinstance(answer.value, list) else ", ".join(answer.value)
    line = f"answer read from {answer.where or answer.origin}: {shown}"
    return outcome.model_copy(update={"details": [line, *outcome.details]})


def reference_missing(ctx: GradingContext, check: AnswerCheck) -> bool:
    return ctx.reference is None and isinstance(getattr(check, "expected", None), RefValue)


def for_a_ta(check: AnswerCheck, part: str | None, answer: Answer, reason: str) -> CheckResult:
    """Pending: the answer can be read more than one way, or not with confidence."""
    where = answer.where or answer.source.file or "the answer sheet"
    shown = answer.value if isinstance(answer.value, str) else repr(answer.value)
    return result(
        check,
        part,
        Status.PENDING,
        0.0,
        check.points,
        f"for a TA: {reason}",
        details=[f"{where}: {shown}"],
        source=answer.source,
    )


def wrong(check: AnswerCheck, part: str | None, message: str, answer: Answer) -> CheckResult:
    """No credit for this answer, pointing at where the student wrote it."""
    return result(check, part, Status.FAILED, 0.0, check.points, message, source=answer.source)
