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

from grader.ingest.exprs import (
    Expression,
    ExpressionError,
    StepBudget,
    StepBudgetExceeded,
    parse_expression,
)
from grader.ingest.latex import LatexError, latex_to_python
from grader.ingest.submission import Answer
from grader.ingest.writeup import read_choice_answer
from grader.judges.context import GradingContext, needs_reference, result
from grader.judges.module import judge_module
from grader.judges.script import judge_script
from grader.judges.sources import document_answer, section_excerpt
from grader.judges.table import Count, StudentTable, grade_table, parse_count, table_from_sheet
from grader.judges.values import judge_values
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
from grader.sandbox.observe import derive_seed

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
    count = _written_count(answer.value, check) if value is None or _rounded(answer.value) else None
    if value is None and count is not None and count.decimals is None:
        value = count.value * count.unit
    if value is None and count is None:
        return _wrong(check, part, f"expected a number, got {answer.value!r}", answer)
    if _reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    expected = float(expected_value(ctx, check.expected))
    if count is not None and count.decimals is not None and value != expected:
        return _judge_rounded(check, part, answer, count, expected)
    assert value is not None
    if check.share and 1 < value <= 100:
        value /= 100  # a share cannot exceed 1: a bare 93.06 (or '= 93.06\%' in prose) is 93.06%
    if _number_ok(value, expected, check):
        return result(
            check,
            part,
            Status.PASSED,
            check.points,
            check.points,
            f"{_fmt(value)} is correct",
            source=answer.source,
        )
    if any(_number_ok(other, expected, check) for other in answer.others):
        return _for_a_ta(
            check,
            part,
            answer,
            f"{_fmt(value)}, read as the {check.writeup.pick if check.writeup else ''} result "
            "of the section, is not correct, but the section states other results too: which "
            f"one answers {check.title or 'this check'} is for a TA to say",
        )
    dotted = _dots_as_thousands(answer.value, check)
    if dotted is not None and dotted == expected:
        return _for_a_ta(
            check,
            part,
            answer,
            f"{answer.value!r} reads as {_fmt(value)}, or as {_fmt(dotted)} with '.' separating "
            "thousands: which one the student meant is for a TA to say",
        )
    return _wrong(check, part, f"{_fmt(value)} is not correct (expected {_fmt(expected)})", answer)


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
        return _wrong(
            check,
            part,
            f"{shown} (about {_fmt(approx)}) is not correct (expected {_fmt(expected)})",
            answer,
        )
    return _for_a_ta(
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
    """'78.592' for a count: 78592 with dots grouping thousands, as many countries write it."""
    if not _exact_count(check) or not isinstance(value, str):
        return None
    text = value.strip()
    if not re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return None
    return float(text.replace(".", ""))


def _for_a_ta(check: Any, part: str | None, answer: Answer, reason: str) -> CheckResult:
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
    raw = [answer.value] if isinstance(answer.value, str) else answer.value
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
    pieces = [p for item in raw for p in re.split(r"[,;]", item) if p.strip()]
    if all(_norm(p) in spellings for p in pieces):
        chosen = {spellings[_norm(p)] for p in pieces}
        unknown: list[str] = []
    else:  # "ReLU and Leaky ReLU", "a and c only", "all except sigmoid", "nn.ReLU()"
        names = {
            o: list(dict.fromkeys([o, o.replace("_", " "), *check.aliases.get(o, [])]))
            for o in check.options
        }
        reading = read_choice_answer(raw, names)
        if reading.chosen is None:
            return _for_a_ta(
                check,
                part,
                answer,
                f"cannot tell which options your answer chooses ({reading.reason}); "
                f"write them as a list such as {check.options[:2]}",
            )
        chosen, unknown = reading.chosen, list(reading.unknown)
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
                point[name] = [getattr(var, corner)] * length + var.then
            else:
                drawn = rng.integers(var.low, var.high + 1, size=length)
                point[name] = [int(v) for v in drawn] + var.then
    return point


def judge_formula(
    problem: Problem, check: FormulaCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = _answer(ctx, problem, check)
    if isinstance(answer, CheckResult):
        return answer
    if not isinstance(answer.value, str | int | float) or isinstance(answer.value, bool):
        return _wrong(check, part, 'expected an expression in quotes, e.g. "1/n[0]"', answer)
    read_as: list[str] = []
    try:
        expression = parse_expression(str(answer.value), list(check.variables), check.functions)
    except ExpressionError as exc:
        translated = _from_latex(str(answer.value), check) if answer.origin is None else None
        if translated is None:
            return _wrong(check, part, f"cannot read your expression: {exc.message}", answer)
        expression = translated
        read_as = [f"read as: {translated.source}"]
    misuse = _call_misuse(expression, check)
    if misuse is not None:
        return _wrong(check, part, misuse, answer)
    if ctx.reference is None:
        return needs_reference(check, part, check.points)
    disagreement = _disagreement(expression, expression.source, problem, check, ctx)
    if disagreement is not None:
        outcome = _wrong(check, part, disagreement, answer)
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
    """A table answer (grader.judges.table): from the answer sheet's array of rows, or as
    grader.judges.sources found it in a writeup; every wrong cell is named."""
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
