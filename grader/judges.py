"""Judges: one function per check kind, turning answers and observations into `CheckResult`s.

Every verdict is computed here, in the grader's process, against the reference and on inputs the
grader drew. A judge never raises for anything a student did: bad answers, crashes and hangs all
become results with a message the student can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.context import GradingContext, needs_reference, result
from grader.exprs import (
    Expression,
    ExpressionError,
    StepBudget,
    StepBudgetExceeded,
    parse_expression,
)
from grader.ingest import Answer
from grader.modules import judge_module
from grader.observe import derive_seed
from grader.quantities import judge_values
from grader.results import CheckResult, SourceRef, Status
from grader.rubric import (
    ChoiceCheck,
    FloatVar,
    FormulaCheck,
    IntListVar,
    IntVar,
    ManualCheck,
    NumberCheck,
    Problem,
    RefValue,
    TableCheck,
    answer_key,
)
from grader.scripts import judge_script
from grader.sources import document_answer, section_excerpt
from grader.tables import StudentTable, grade_table, table_from_sheet

FORMULA_STEPS_PER_SAMPLE = 25_000
"""Evaluation steps a formula answer may take per sampled point, over all the points together.

A tenth of exprs.MAX_STEPS (one evaluation) and hundreds of times what a real answer takes (the
HW6 p2 spellings in the tests, sums over up to 8 layers, take 40 to 100 a point), while an answer
padded with loops to just under MAX_STEPS at every point cost 29 s of grader CPU at 200 points;
the budget stops it after about 3 s.
"""


def expected_value(ctx: GradingContext, expected: Any) -> Any:
    return (
        ctx.reference.value(expected)
        if isinstance(expected, RefValue) and ctx.reference
        else expected
    )


def _answer(ctx: GradingContext, problem: Problem, check: Any) -> Answer | CheckResult:
    """The student's answer: answers.toml first, then a notebook, then a writeup.

    An answer read from a document with doubt becomes a pending TA item showing its excerpt;
    one read with confidence is recorded in `ctx.memo` so `judge` can say where it came from.
    """
    key = answer_key(problem, check)
    sub = ctx.submission
    sheet_error = sub.answer_sheet_error
    answer = sub.answers.get(key) if sheet_error is None else None
    if answer is None:
        answer = document_answer(sub, problem, check)
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


def _with_origin(
    outcome: CheckResult, problem: Problem, check: Any, ctx: GradingContext
) -> CheckResult:
    """Say which document an answer was read from, and what was read (issue 3: the report
    names the source used)."""
    if check.kind not in ("number", "choice", "formula"):
        return outcome
    answer = ctx.memo.get(f"answer:{answer_key(problem, check)}")
    if not isinstance(answer, Answer) or outcome.status is Status.PENDING:
        return outcome
    shown = answer.value if not isinstance(answer.value, list) else ", ".join(answer.value)
    line = f"answer read from {answer.where or answer.origin}: {shown}"
    return outcome.model_copy(update={"details": [line, *outcome.details]})


def _reference_missing(ctx: GradingContext, check: Any) -> bool:
    return ctx.reference is None and isinstance(getattr(check, "expected", None), RefValue)


def judge_number(
    problem: Problem, check: NumberCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = _answer(ctx, problem, check)
    if isinstance(answer, CheckResult):
        return answer
    value = parse_number(answer.value)
    if value is None:
        return _wrong(check, part, f"expected a number, got {answer.value!r}", answer)
    if check.share and 1 < value <= 100:
        value /= 100  # a share cannot exceed 1: a bare 93.06 (or '= 93.06\%' in prose) is 93.06%
    if _reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    expected = float(expected_value(ctx, check.expected))
    ok = (
        math.isclose(value, expected, rel_tol=check.rtol, abs_tol=check.atol)
        if (check.rtol or check.atol)
        else value == expected
    )
    if ok:
        return result(
            check,
            part,
            Status.PASSED,
            check.points,
            check.points,
            f"{_fmt(value)} is correct",
            source=answer.source,
        )
    return _wrong(check, part, f"{_fmt(value)} is not correct (expected {_fmt(expected)})", answer)


def _wrong(check: Any, part: str | None, message: str, answer: Answer) -> CheckResult:
    """No credit for this answer, pointing at where the student wrote it."""
    return result(check, part, Status.FAILED, 0.0, check.points, message, source=answer.source)


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


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def judge_choice(
    problem: Problem, check: ChoiceCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = _answer(ctx, problem, check)
    if isinstance(answer, CheckResult):
        return answer
    if _reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    raw = answer.value
    if isinstance(raw, str):
        raw = [s for s in re.split(r"[,;]", raw) if s.strip()]
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        return _wrong(
            check,
            part,
            f"expected a list of options such as {check.options[:2]}, got {answer.value!r}",
            answer,
        )
    spellings = {_norm(o): o for o in check.options}
    for option, aliases in check.aliases.items():
        spellings.update({_norm(a): option for a in aliases})
    chosen = {spellings.get(_norm(s)) for s in raw}
    unknown = [s for s in raw if _norm(s) not in spellings]
    expected = set(expected_value(ctx, check.expected))
    verdicts = []
    right = 0
    for option in check.options:
        correct = (option in chosen) == (option in expected)
        right += correct
        said = "chosen" if option in chosen else "not chosen"
        verdicts.append(f"{option} {said} {'✓' if correct else '✗'}")
    score = check.points * right / len(check.options)
    status = Status.PASSED if right == len(check.options) else Status.FAILED
    message = f"{right}/{len(check.options)} options classified correctly: " + ", ".join(verdicts)
    details = (
        [
            f"unrecognised option(s): {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(check.options)}"
        ]
        if unknown
        else []
    )
    return result(
        check, part, status, score, check.points, message, details=details, source=answer.source
    )


def sample_points(check: FormulaCheck, seed: int) -> list[dict[str, Any]]:
    """Random points plus the corners of the domain (smallest and largest values)."""
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    for corner in ("low", "high"):
        points.append(_point(check, rng, corner))
    while len(points) < check.samples:
        points.append(_point(check, rng, None))
    return points


def _point(check: FormulaCheck, rng: np.random.Generator, corner: str | None) -> dict[str, Any]:
    point: dict[str, Any] = {}
    scalars = {k: v for k, v in check.variables.items() if not isinstance(v, IntListVar)}
    for name, scalar in scalars.items():
        if isinstance(scalar, IntVar):
            point[name] = (
                getattr(scalar, corner)
                if corner
                else int(rng.integers(scalar.low, scalar.high + 1))
            )
        elif isinstance(scalar, FloatVar):
            point[name] = (
                getattr(scalar, corner) if corner else float(rng.uniform(scalar.low, scalar.high))
            )
    for name, var in check.variables.items():
        if isinstance(var, IntListVar):
            length = int(point[var.length])
            if corner:
                point[name] = [getattr(var, corner)] * length
            else:
                point[name] = [int(v) for v in rng.integers(var.low, var.high + 1, size=length)]
    return point


def judge_formula(
    problem: Problem, check: FormulaCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = _answer(ctx, problem, check)
    if isinstance(answer, CheckResult):
        return answer
    if not isinstance(answer.value, str | int | float) or isinstance(answer.value, bool):
        return _wrong(check, part, 'expected an expression in quotes, e.g. "1/n[0]"', answer)
    try:
        expression = parse_expression(str(answer.value), list(check.variables), check.functions)
    except ExpressionError as exc:
        return _wrong(check, part, f"cannot read your expression: {exc.message}", answer)
    misuse = _call_misuse(expression, check)
    if misuse is not None:
        return _wrong(check, part, misuse, answer)
    if ctx.reference is None:
        return needs_reference(check, part, check.points)
    disagreement = _disagreement(expression, str(answer.value), problem, check, ctx)
    if disagreement is not None:
        return _wrong(check, part, disagreement, answer)
    return result(
        check,
        part,
        Status.PASSED,
        check.points,
        check.points,
        f"agrees with the reference at {check.samples} sampled points",
        source=answer.source,
    )


def _call_misuse(expression: Expression, check: FormulaCheck) -> str | None:
    """Why the functions the answer calls do not answer the question, or None.

    Values alone cannot tell a simplification from a restatement (relu(relu(z)), and
    max(max(z, 0), 0) for the same thing) or "tanh in terms of sigmoid" from tanh written with
    e**z: the rubric's call limits and required calls can.
    """
    calls = dict(expression.calls)
    for name, count in calls.items():
        if count > check.max_calls.get(name, count):
            return (
                f"your expression calls {name} {count} times; simplify it (at most "
                f"{check.max_calls[name]})"
            )
    total = sum(calls.values())
    if check.max_total_calls is not None and total > check.max_total_calls:
        made = ", ".join(f"{name}: {count}" for name, count in calls.items())
        return (
            f"your expression makes {total} function calls ({made}); simplify it (at most "
            f"{check.max_total_calls} in all)"
        )
    for name in check.must_call:
        if name not in calls:
            asked = f"; the question asks for {check.title}" if check.title else ""
            return f"your expression never calls {name}{asked}: write it using {name}(...)"
    return None


def _disagreement(
    expression: Any, text: str, problem: Problem, check: FormulaCheck, ctx: GradingContext
) -> str | None:
    """Where the expression first leaves the reference, or None where it agrees everywhere.

    The points are the same for the whole run, so an answer written the same way by many
    students (a class writes "0" for a mean forty times) is evaluated once.
    """
    assert ctx.reference is not None
    seed = derive_seed(ctx.run_seed, "formula", problem.id, check.id)
    key = f"formula-answer:{seed}:{check.model_dump_json()}:{text}"
    if key in ctx.reference.memo:
        found: str | None = ctx.reference.memo[key]
        return found
    found = None
    budget = StepBudget(check.samples * FORMULA_STEPS_PER_SAMPLE)
    for point, want in _reference_samples(problem, check, ctx):
        try:
            got = expression.evaluate(budget, **point)
        except StepBudgetExceeded as exc:
            found = exc.message
            break
        except ExpressionError as exc:
            found = f"your expression fails at {_show(point)}: {exc.message}"
            break
        if not (math.isfinite(got) and abs(got - want) <= check.atol + check.rtol * abs(want)):
            found = (
                f"differs from the correct value at {_show(point)}: "
                f"yours {got:.6g}, expected {want:.6g}"
            )
            break
    ctx.reference.memo[key] = found
    return found


def _reference_samples(
    problem: Problem, check: FormulaCheck, ctx: GradingContext
) -> list[tuple[dict[str, Any], float]]:
    """The sampled points and the reference's values there: the same for every student of a
    run (the seed is the run's), so computed once per run."""
    assert ctx.reference is not None
    seed = derive_seed(ctx.run_seed, "formula", problem.id, check.id)
    key = f"formula:{seed}:{check.model_dump_json()}"  # the check's domain decides the points
    if key not in ctx.reference.memo:
        reference = ctx.reference.attribute(check.expected.ref)
        ctx.reference.memo[key] = [
            (point, float(reference(**point, **check.expected.args)))
            for point in sample_points(check, seed)
        ]
    samples: list[tuple[dict[str, Any], float]] = ctx.reference.memo[key]
    return samples


def _show(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


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


def judge_table(
    problem: Problem, check: TableCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """A table answer (grader.tables): from the answer sheet's array of rows, or as
    grader.sources found it in a writeup; every wrong cell is named."""
    answer = _answer(ctx, problem, check)
    if isinstance(answer, CheckResult):
        return answer
    table = answer.value
    if not isinstance(table, StudentTable):
        table = table_from_sheet(answer.value, check)
        if isinstance(table, str):
            return _wrong(check, part, f"cannot read your table: {table}", answer)
    if _reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    outcome = grade_table(check, part, table, expected_value(ctx, check.expected), answer.source)
    if answer.origin is None:
        return outcome
    read = f"table read from {answer.where or answer.origin} ({len(table.rows)} rows)"
    return outcome.model_copy(update={"details": [read, *outcome.details]})


Judge = Callable[[Problem, Any, str | None, GradingContext], CheckResult]

JUDGES: dict[str, Judge] = {
    "number": judge_number,
    "choice": judge_choice,
    "formula": judge_formula,
    "module": judge_module,
    "script": judge_script,
    "manual": judge_manual,
    "values": judge_values,
    "table": judge_table,
}


def judge(problem: Problem, check: Any, part: str | None, ctx: GradingContext) -> CheckResult:
    return _with_origin(JUDGES[check.kind](problem, check, part, ctx), problem, check, ctx)
