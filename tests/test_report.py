"""Tests for grader.report: what the terminal shows of a check."""

from __future__ import annotations

from grader.report import MAX_DETAILS, _check_lines
from grader.results import CheckResult, Status


def _check(n_details: int) -> CheckResult:
    details = [f"✗ dL_dw{i} = 0.5: wrong" for i in range(1, n_details + 1)]
    return CheckResult(
        id="gradients", status=Status.FAILED, score=0, max_score=6, message="m", details=details
    )


def test_every_detail_fits_up_to_the_limit() -> None:
    text = _check_lines(_check(MAX_DETAILS)).plain
    assert f"dL_dw{MAX_DETAILS} " in text and "more line" not in text


def test_details_past_the_limit_are_counted_not_dropped_silently() -> None:
    text = _check_lines(_check(MAX_DETAILS + 3)).plain
    assert f"dL_dw{MAX_DETAILS} " in text and f"dL_dw{MAX_DETAILS + 1} " not in text
    assert "… 3 more line(s): see --json or --out feedback/" in text
