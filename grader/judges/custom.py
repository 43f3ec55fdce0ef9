"""The `custom` check kind: an instructor's plain pytest function in `<homework>_checks.py`.

pytest collects and runs these functions itself (with the fixtures `submission`, `reference` and
`observation` that `grader.judges.items.GraderPlugin` provides); this module turns the outcome of
one call into the check's result: passing earns the points, an assertion's message is the
feedback, and `pytest.skip("pending: why")` hands the check to a TA.
"""

from __future__ import annotations

import pytest

from grader.results import CheckResult, Status
from grader.rubric import CustomCheck


def custom_result(
    check: CustomCheck, report: pytest.TestReport, call: pytest.CallInfo[None]
) -> CheckResult:
    """The result of one call of a custom check's function, from pytest's report of it."""
    if report.passed:
        status, score, message = Status.PASSED, check.points, check.title or "passed"
    elif report.skipped:  # `pytest.skip("pending: ...")` hands the check to a TA
        message = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else "skipped"
        message = message.removeprefix("Skipped: ")
        pending = message.startswith("pending")
        status, score = (Status.PENDING if pending else Status.SKIPPED), 0.0
    else:
        status, score = Status.FAILED, 0.0
        message = _assertion_message(call)
    return CheckResult(
        id=check.id,
        status=status,
        score=score,
        max_score=check.points,
        message=message,
        title=check.title,
    )


def _assertion_message(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip().splitlines()
    return text[0] if text else call.excinfo.typename
