"""The `number` check kind: a number, exact or within tolerance, judged as it was written."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from grader.ingest.submission import Answer
from grader.judges.answers import (
    expected_value,
    for_a_ta,
    reference_missing,
    student_answer,
    with_origin,
    wrong,
)
from grader.judges.context import GradingContext, needs_reference, result
from grader.judges.readers import read_number
from grader.judges.tabular import Count, parse_count
from grader.reference import SaltedAnswer
from grader.results import CheckResult, Status
from grader.rubric import (
    NumberCheck,
    Problem,
)


def _judge_number(
    problem: Problem, check: NumberCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = student_answer(ctx, problem, check, read_number)
    if isinstance(answer, CheckResult):
        return answer
    value = parse_number(answer.value)
    count = _written_count(answer.value, check) if value is None or _rounded(answer.value) else None
    if value is None and count is not None and count.decimals is None:
        value = count.value * count.unit
    if value is None and count is None:
        return wrong(check, part, f"expected a number, got {answer.value!r}", answer)
    if reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    raw = expected_value(ctx, check.expected)
    if isinstance(raw, SaltedAnswer):  # a students' bundle: the answer is confirmed, not shown
        shown = value if value is not None else count.value * count.unit  # type: ignore[union-attr]
        return _judge_salted(check, part, answer, shown, raw)
    expected = float(raw)
    if count is not None and count.decimals is not None and value != expected:
        return _judge_rounded(check, part, answer, count, expected)
    assert value is not None
    if check.share and 1 < value <= 100:
        value /= 100  # a share cannot exceed 1: a bare 93.06 (or '= 93.06\%' in prose) is 93.06%
    decided = _right_or_elsewhere(
        check, part, answer, value, lambda number: _number_ok(number, expected, check)
    )
    if decided is not None:
        return decided
    dotted = _dots_as_thousands(answer.value, check)
    if dotted is not None and dotted == expected:
        return for_a_ta(
            check,
            part,
            answer,
            f"{answer.value!r} reads as {_fmt(value)}, or as {_fmt(dotted)} with '.' separating "
            "thousands: which one the student meant is for a TA to say",
        )
    return wrong(check, part, f"{_fmt(value)} is not correct (expected {_fmt(expected)})", answer)


def _judge_salted(
    check: NumberCheck, part: str | None, answer: Answer, value: float, salted: SaltedAnswer
) -> CheckResult:
    """An exact answer confirmed by its salted hash: the staff's verdict and, when right, the
    staff's message; when wrong, no expected value to show."""
    if check.share and 1 < value <= 100:
        value /= 100
    decided = _right_or_elsewhere(check, part, answer, value, salted.matches)
    if decided is not None:
        return decided
    return wrong(check, part, f"{_fmt(value)} is not correct ({SALTED_NOTE})", answer)


def _right_or_elsewhere(
    check: NumberCheck,
    part: str | None,
    answer: Answer,
    value: float,
    right: Callable[[float], bool],
) -> CheckResult | None:
    """Full points when the value read is right; a TA when it is not but another result the
    section states is (which one answers the check is a reading, not arithmetic); None (go on
    judging) otherwise. Shared by the staff's run and a bundle's salted confirmation."""
    if right(value):
        return result(
            check,
            part,
            Status.PASSED,
            check.points,
            check.points,
            f"{_fmt(value)} is correct",
            source=answer.source,
        )
    if any(right(other) for other in answer.others):
        return for_a_ta(
            check,
            part,
            answer,
            f"{_fmt(value)}, read as the {check.writeup.pick if check.writeup else ''} result "
            "of the section, is not correct, but the section states other results too: which "
            f"one answers {check.title or 'this check'} is for a TA to say",
        )
    return None


#: What a wrong answer to a confirmable number says in a students' bundle instead of its value.
SALTED_NOTE = "confirmed against a salted hash: the expected value is shown after grading"


def _number_ok(value: float, expected: float, check: NumberCheck) -> bool:
    if check.rtol or check.atol:
        return math.isclose(value, expected, rel_tol=check.rtol, abs_tol=check.atol)
    return value == expected


def _exact_count(check: NumberCheck) -> bool:
    """A count judged exactly (no tolerance): where '78.6K' or '2.1e5' is a rounded answer."""
    return not (check.rtol or check.atol or check.share)


def _rounded(value: Any) -> bool:
    """'2.1e5' is a number, but written to 2 digits: for an exact count, a rounded answer."""
    return isinstance(value, str) and bool(re.search(r"\d[eE][+-]?\d", value))


def _written_count(value: Any, check: NumberCheck) -> Count | None:
    """A count as students write one beyond plain numbers ('≈ 78,592', '78592 params',
    '32*(1028+148+1280)', '78.6K', '2,13,504'), for a check that asks for an exact count."""
    if not _exact_count(check) or not isinstance(value, str):
        return None
    text = value.strip()[:200]
    if re.fullmatch(r"\d{1,2}(?:,\d{2})+,\d{3}", text):  # Indian grouping: 2,13,504
        return Count(float(text.replace(",", "")))
    count = parse_count(text)
    coarse = re.fullmatch(
        r"(?:~|≈|approx\.?)?\s*(\d+(?:\.(\d+))?)\s*(?:[eE]\+?(\d{1,2})|([kKmM]))", text
    )
    if count is None and coarse:  # '2e5', '1M', '0.08M': one significant digit, still rounded
        unit = 10.0 ** int(coarse[3]) if coarse[3] else {"k": 1e3, "m": 1e6}[coarse[4].lower()]
        count = Count(float(coarse[1]), unit, len(coarse[2] or ""))
    if count is None or not math.isfinite(count.value * count.unit):
        return None
    return count


def _judge_rounded(
    check: NumberCheck, part: str | None, answer: Answer, count: Count, expected: float
) -> CheckResult:
    """An abbreviated count ('78.6K', '2.1e5'): wrong when no rounding of the right count gives
    it; otherwise a TA says whether the rounded figure answers a question asking for a count."""
    shown = f"{answer.value!r}".strip()
    if not float(expected).is_integer() or not (
        count.right(int(expected)) or _coarser_rounding(count, int(expected))
    ):
        approx = count.value * count.unit
        return wrong(
            check,
            part,
            f"{shown} (about {_fmt(approx)}) is not correct (expected {_fmt(expected)})",
            answer,
        )
    return for_a_ta(
        check,
        part,
        answer,
        f"{shown} is the right count rounded; whether a rounded count answers the question "
        "is for a TA to say (write the exact count to be graded automatically)",
    )


def _coarser_rounding(count: Count, truth: int) -> bool:
    """'80K' for 78,592: a trailing zero before any decimal point may be a written digit (79K
    expected) or only a place holder (78,592 to one significant digit is 80,000), so rounding
    to fewer significant digits counts as right there. After a decimal point ('79.0K') every
    digit is written on purpose."""
    if count.decimals or truth <= 0 or not float(count.value).is_integer():
        return False
    mantissa = str(int(count.value))
    least = len(mantissa.rstrip("0")) or 1
    approx = count.value * count.unit
    return any(
        round(truth, -(len(str(truth)) - kept)) == approx for kept in range(least, len(mantissa))
    )


def _dots_as_thousands(value: Any, check: NumberCheck) -> float | None:
    """'78.592' for a count: 78592 with dots grouping thousands, as many countries write it
    (also unquoted on the answer sheet, where TOML reads `params = 4.353` as a float)."""
    if isinstance(value, float) and not isinstance(value, bool):
        value = repr(value)
    if not _exact_count(check) or not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return None
    return float(text.replace(".", ""))


def parse_number(value: Any) -> float | None:
    """Numbers as students write them: 78592, 78592.0, "78,592", "78 592", "93.06%" (0.9306)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            text = value.strip()[:100]
            percent = re.fullmatch(r"(.*?\d)\s*\\?%", text)
            number = float(re.sub(r"(?<=\d)[,_\s](?=\d{3}\b)", "", percent[1] if percent else text))
            return number / 100 if percent else number
    except (ValueError, OverflowError):  # "lots", or a 400-digit integer
        return None
    return None


def _fmt(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


def judge_number(
    problem: Problem, check: NumberCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """The verdict, naming the document the answer was read from when it was not the sheet."""
    return with_origin(_judge_number(problem, check, part, ctx), problem, check, ctx)
