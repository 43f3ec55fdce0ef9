"""A per-student time budget for the grader's own work on a submission's files.

Why: ingest runs in the grader's process, one student after another, so a submission whose
files make a parser slow delays every classmate. The parsers are meant to be linear in their
(capped) input; this budget is the backstop that turns whatever slowness is left into a clear
"not graded: ..." for that one student, never a stalled or crashed batch.

How: a deadline, not a thread or a signal. `student_budget(seconds)` opens a budget for the code
inside the `with`; the parsers' loops call `check()`, which costs one context-variable read and
one clock read, and raises `BudgetExceeded` once the deadline has passed. Outside any budget
`check()` does nothing, so the parsers work unchanged in tests and in judges that open none.
The budget lives in a `ContextVar`: each thread (judging runs in several) sees only its own.

Use (what `grader.ingest.submission.ingest` does, and what a judge stage can do the same way):

    with student_budget(seconds):
        ...  # parse; any parser loop may raise BudgetExceeded
    # except BudgetExceeded as exc: report f"not graded: {exc.reason}" for this student only

`ingest` catches it itself and returns a `Submission` whose `not_graded` says why, with nothing
else read (no answers, classes or documents, so nothing is judged or run); the pipeline turns
such a submission into a result with `error` set (`not_graded_result`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

BUDGET_VAR = "GRADER_INGEST_BUDGET_S"
DEFAULT_INGEST_S = 60.0
"""Seconds of grader CPU one student's files may cost to read. Honest submissions take well
under a second; the parsers are linear, so only a machine far busier than any grading machine
or a parser defect reaches this."""


class BudgetExceeded(Exception):
    """The student's budget ran out (or a cap was hit); `reason` says which, for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Budget:
    """A deadline on `time.monotonic()` and what it was for."""

    deadline: float
    seconds: float
    what: str


_CURRENT: ContextVar[Budget | None] = ContextVar("grader_budget", default=None)


def ingest_seconds() -> float:
    """The ingest budget: `GRADER_INGEST_BUDGET_S` if set to a positive number, else the default."""
    raw = os.environ.get(BUDGET_VAR, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_INGEST_S
    return value if value > 0 else DEFAULT_INGEST_S


@contextlib.contextmanager
def student_budget(seconds: float, what: str = "reading the files") -> Iterator[Budget]:
    """Run the body under a deadline `seconds` from now (nested budgets: the earlier one wins)."""
    outer = _CURRENT.get()
    budget = Budget(time.monotonic() + seconds, seconds, what)
    if outer is not None and outer.deadline < budget.deadline:
        budget = outer
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def check() -> None:
    """Raise `BudgetExceeded` if the current budget's deadline has passed, or the judging budget
    open in this context (`judging_limit`) is spent (cheap: call it in every loop over
    student-controlled input; the judging budget is asked every `JUDGING_EVERY` calls)."""
    budget = _CURRENT.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise BudgetExceeded(f"{budget.what} took longer than {budget.seconds:g} s")
    judging = _JUDGING.get()
    if judging is not None:
        judging.calls += 1
        if judging.calls % JUDGING_EVERY == 0:
            reason = judging.over()
            if reason is not None:
                raise BudgetExceeded(reason)


JUDGING_EVERY = 64


@dataclass
class _Judging:
    over: Callable[[], str | None]
    calls: int = 0


_JUDGING: ContextVar[_Judging | None] = ContextVar("grader_judging", default=None)


@contextlib.contextmanager
def judging_limit(over: Callable[[], str | None]) -> Iterator[None]:
    """Make `check()` also raise once `over()` names a reason: the judging budget
    (`grader.judges.budget`), which lives a layer above and decides what is over."""
    token = _JUDGING.set(_Judging(over))
    try:
        yield
    finally:
        _JUDGING.reset(token)


def not_graded_message(reason: str) -> str:
    """The one wording a student reads for a submission the grader refused to finish."""
    return f"not graded: {reason}; ask the course staff to look at this submission"
