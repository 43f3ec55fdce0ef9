"""The `formula` check kind: an expression in named variables, compared with the reference at
sampled points (never by its text), evaluated by the safe interpreter of `grader.ingest.exprs`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from grader.ingest.exprs import (
    Expression,
    ExpressionError,
    StepBudget,
    StepBudgetExceeded,
    parse_expression,
)
from grader.ingest.latex import LatexError, latex_to_python
from grader.judges.answers import (
    student_answer,
    with_origin,
    wrong,
)
from grader.judges.context import GradingContext, needs_reference, result
from grader.judges.readers import read_formula
from grader.results import CheckResult, Status
from grader.rubric import (
    FloatVar,
    FormulaCheck,
    IntListVar,
    IntVar,
    Problem,
)
from grader.sandbox.observe import derive_seed

FORMULA_STEPS_PER_SAMPLE = 25_000


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
                point[name] = [getattr(var, corner)] * length + var.then
            else:
                drawn = rng.integers(var.low, var.high + 1, size=length)
                point[name] = [int(v) for v in drawn] + var.then
    return point


def _judge_formula(
    problem: Problem, check: FormulaCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = student_answer(ctx, problem, check, read_formula)
    if isinstance(answer, CheckResult):
        return answer
    if not isinstance(answer.value, str | int | float) or isinstance(answer.value, bool):
        return wrong(check, part, 'expected an expression in quotes, e.g. "1/n[0]"', answer)
    read_as: list[str] = []
    try:
        expression = parse_expression(str(answer.value), list(check.variables), check.functions)
    except ExpressionError as exc:
        translated = _from_latex(str(answer.value), check) if answer.origin is None else None
        if translated is None:
            return wrong(check, part, f"cannot read your expression: {exc.message}", answer)
        expression = translated
        read_as = [f"read as: {translated.source}"]
    misuse = _call_misuse(expression, check)
    if misuse is not None:
        return wrong(check, part, misuse, answer)
    if ctx.reference is None:
        return needs_reference(check, part, check.points)
    disagreement = _disagreement(expression, expression.source, problem, check, ctx)
    if disagreement is not None:
        outcome = wrong(check, part, disagreement, answer)
        return outcome.model_copy(update={"details": [*read_as, *outcome.details]})
    return result(
        check,
        part,
        Status.PASSED,
        check.points,
        check.points,
        f"agrees with the reference at {check.samples} sampled points",
        details=read_as,
        source=answer.source,
    )


def _from_latex(text: str, check: FormulaCheck) -> Expression | None:
    """An answer-sheet formula the Python reader refused, read as students also write them:
    'Var(y_L) = <expression>' (the quantity restated), or LaTeX ('\\frac{1}{3^L} + \\sum_{i=0}^
    {L-1} ...') by the writeups' LaTeX reader, which refuses what it cannot place with confidence.

    Only a single formula: text with a top-level ',' or ';' ('V_L = V_{L-1}/3 + ..., V_0 = 1')
    may hold several, and the LaTeX reader's 'last right-hand side' would pick one of them.
    """
    if _top_level(text, ",;"):
        return None
    variables = list(check.variables)
    sides = _top_level_split(text, "=")
    if len(sides) == 2 and not re.search(r"[-+*/]", sides[0]):
        try:
            return parse_expression(sides[1].strip(), variables, check.functions)
        except ExpressionError:
            pass
    kinds: dict[str, str] = {name: var.kind for name, var in check.variables.items()}
    try:
        return parse_expression(latex_to_python(text, kinds), variables, check.functions)
    except (LatexError, ExpressionError):
        return None


def _top_level_split(text: str, separators: str) -> list[str]:
    """`text` split at `separators` outside brackets; '==', '<=', '>=' and '!=' are not '='."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char in separators and depth == 0:
            pair = text[max(index - 1, 0) : index + 2]
            if char == "=" and re.search(r"==|[<>!]=", pair):
                continue
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _top_level(text: str, separators: str) -> bool:
    return len(_top_level_split(text, separators)) > 1


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
            (point, float(reference(**_drawn(check, point), **check.expected.args)))
            for point in sample_points(check, seed)
        ]
    samples: list[tuple[dict[str, Any], float]] = ctx.reference.memo[key]
    return samples


def _drawn(check: FormulaCheck, point: dict[str, Any]) -> dict[str, Any]:
    """The point without the values a list variable has `then` (the statement's n_L = 1): the
    reference is a function of the drawn values only."""
    drawn = dict(point)
    for name, var in check.variables.items():
        if isinstance(var, IntListVar) and var.then:
            drawn[name] = point[name][: len(point[name]) - len(var.then)]
    return drawn


def _show(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def judge_formula(
    problem: Problem, check: FormulaCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """The verdict, naming the document the answer was read from when it was not the sheet."""
    return with_origin(_judge_formula(problem, check, part, ctx), problem, check, ctx)
