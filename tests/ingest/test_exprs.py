"""Tests for grader.ingest.exprs: the safe evaluator for student formula answers.

The reference closed form here (HW6 p2, Var y_L) is written as plain Python in `_reference`,
independently of the evaluator, so the equivalence tests compare the evaluator with Python
itself rather than with itself.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import random

import numpy as np
import pytest

from grader.ingest import exprs
from grader.ingest.exprs import (
    Expression,
    ExpressionError,
    StepBudget,
    StepBudgetExceeded,
    parse_expression,
)

VARS = ("L", "n")


def _reference(L: int, n: list[int]) -> float:
    """3**-L + sum_i 1/(n_i 3**(L-i)): Var y_L under PyTorch's default init (HW6 p2)."""
    return 3.0**-L + sum(1 / (n[i] * 3.0 ** (L - i)) for i in range(L))


def _points(count: int = 12) -> list[tuple[int, list[int]]]:
    """Random (L, n_0..n_L) with n_L = 1, as in the problem; L = 0 and 1 included."""
    rng = random.Random(20240611)
    points = [(0, [1]), (1, [7, 1])]
    for _ in range(count - len(points)):
        L = rng.randint(2, 9)
        points.append((L, [rng.randint(1, 1000) for _ in range(L)] + [1]))
    return points


POINTS = _points()

EQUIVALENT = [
    "3**-L + sum(1/(n[i] * 3**(L - i)) for i in range(L))",
    "1/3**L + sum(1/(n[i]*3**(L-i)) for i in range(0, L))",
    "(1/3)**L + sum([3**(i-L)/n[i] for i in range(L)])",
    "3**(-L) + sum(3**(i - L) / n[i] for i in range(L))",
    "3**-L * (1 + sum(3**i / n[i] for i in range(L)))",
    "(1 + sum(3**k/n[k] for k in range(L)))/3**L",
    "3**-L + sum(1/(n[L-j]*3**j) for j in range(1, L+1))",
    "3**-L + sum(1/(n[i-1]*3**(L-i+1)) for i in range(1, L+1))",
    "1/3**L + sum(1/(3*n[i]) * (1/3)**(L-i-1) for i in range(L))",
    "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L-1, -1, -1))",
    "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(2*L) if i < L)",
    "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(len(n) - 1))",
    "exp(-L*log(3)) + sum(exp((i-L)*math.log(3))/n[i] for i in range(L))",
    "np.exp(-L*np.log(3)) + np.sum([1/(n[i]*3**(L-i)) for i in range(L)])",
    "math.e**(-L*math.log(3)) + sum(1/(n[i]*sqrt(9)**(L-i)) for i in range(L))",
    "3**-L + sum(prod([1/3 for _ in range(L-i)])/n[i] for i in range(L))",
    "  (3 ** -L\n + sum(1 / (n[i] * 3 ** (L - i)) for i in range(L)))  ",
]


@pytest.mark.parametrize("source", EQUIVALENT)
def test_equivalent_spellings_match_the_reference(source: str) -> None:
    expression = parse_expression(source, VARS)
    for L, n in POINTS:
        got = expression.evaluate(L=L, n=n)
        assert math.isclose(got, _reference(L, n), rel_tol=1e-12), (L, n, got)


def test_a_wrong_answer_is_told_apart() -> None:
    """Negative control: the equivalence check above can fail (drops the i = 0 term)."""
    wrong = parse_expression("3**-L + sum(1/(n[i]*3**(L-i)) for i in range(1, L))", VARS)
    assert any(
        not math.isclose(wrong.evaluate(L=L, n=n), _reference(L, n), rel_tol=1e-6)
        for L, n in POINTS
    )


def test_constant_answer_has_no_free_names() -> None:
    expression = parse_expression("0", VARS)
    assert expression.free_names == frozenset()
    assert expression.evaluate() == 0.0
    assert expression.source == "0"


@pytest.mark.parametrize(
    ("source", "free"),
    [
        ("3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))", {"L", "n"}),
        ("1/3**L", {"L"}),
        ("sum(n for n in range(3))", set()),  # the loop variable shadows the variable n
        ("pi + e", set()),
    ],
)
def test_free_names(source: str, free: set[str]) -> None:
    assert parse_expression(source, VARS).free_names == frozenset(free)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("__import__('os')", "'__import__' is not allowed"),
        ("().__class__", "'__class__' is not allowed"),
        ("open('x')", "calling 'open' is not allowed"),
        ("lambda: 1", "lambda functions are not allowed"),
        ("[x for x in ().__class__.__mro__]", "'__mro__' is not allowed"),
        ("n.__len__()", "'__len__' is not allowed"),
        ("'a'*10**9", "strings are not allowed"),
        ("('*100000 + '1' + ')'*100000", "too long (200001 characters"),
        ("L.real", "attribute access is not allowed"),
        ("math.system", "'math.system' is not allowed"),
        ("os.system('ls')", "attribute access is not allowed"),
        ("eval('1')", "calling 'eval' is not allowed"),
        ("getattr(n, 'x')", "calling 'getattr' is not allowed"),
        ("(lambda: 1)()", "calling this is not allowed"),
        ("f'{L}'", "f-strings are not allowed"),
        ("(y := 1)", "walrus operator"),
        ("max(*n)", "starred '*' arguments are not allowed"),
        ("{1: 2}", "dict literals are not allowed"),
        ("{1}", "set literals are not allowed"),
        ("L if L else 1", "conditional expressions"),
        ("L > 1", "comparisons are allowed only in a comprehension's 'if'"),
        ("sum(1 for i in range(3) if (i > 0) + 1)", "comparisons are allowed only"),
        ("not L", "'not' is allowed only"),
        ("L and 1", "'and'/'or' are allowed only"),
        ("L, 1", "tuples ('a, b') are not allowed"),
        ("n[0:2]", "no slices"),
        ("True", "'True' is not allowed"),
        ("None", "'None' is not allowed"),
        ("1j", "complex numbers are not allowed"),
        ("1e400", "number literal is too large"),
        ("1" * 51, "more than 50 digits"),
        ("~L", "'~' is not allowed"),
        ("L & 1", "'&' is not allowed"),
        ("L @ L", "'@' is not allowed"),
        ("sum(1 for i in range(3) for j in range(2))", "exactly one 'for'"),
        ("sum(1 for i, j in range(3))", "loop variable must be a single name"),
        ("sum(1 for sum in range(3))", "'sum' cannot be used as a loop variable"),
        ("sum(n, start=1)", "keyword arguments are not allowed"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument(s), got 2"),
        ("range()", "range() takes 1 to 3 argument(s), got 0"),
        ("sum", "'sum' is a function; call it"),
        ("math.sqrt", "'math.sqrt' is a function; call it"),
        ("math", "'math' can only be used as in math.sqrt"),
        ("2L", "write products explicitly"),
        ("y = 3**L", "without 'name ='"),
        ("3**L +", "cannot parse the expression"),
        ("3**-L\n + 1", "cannot parse the expression"),  # as in Python: needs parentheses
        ("", "the answer is empty"),
        ("   ", "the answer is empty"),
        ("1 +\x00 2", "cannot parse"),
        ("-" * 150 + "L", "nested too deeply (more than 100)"),
        ("max(" + ",".join(["n[0]"] * 398) + ")", "too large (more than 1000 parts)"),
    ],
)
def test_forbidden_constructs_are_rejected_at_parse_time(source: str, fragment: str) -> None:
    if source.startswith("('*100000"):
        source = "(" * 100_000 + "1" + ")" * 100_000
    with pytest.raises(ExpressionError) as info:
        parse_expression(source, VARS)
    assert fragment in info.value.message
    assert str(info.value) == info.value.message


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("9**9**9**9", "number too large (overflow)"),
        ("10**10**10", "number too large (overflow)"),
        ("exp(1000)", "number too large (overflow)"),
        ("sum(1 for i in range(10**12))", "range() is too long (1000000000000 elements"),
        ("len(range(10**12))", "range() is too long"),
        ("sum(sum(1 for j in range(1000)) for i in range(1000))", "too many iterations"),
        ("1/(L-L)", "division by zero at column 1: `1/(L-L)`"),
        ("L % 0", "division by zero"),
        ("L // 0", "division by zero"),
        ("0**-1", "division by zero"),
        ("log(1, 1)", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("log(0)", "math domain error"),
        ("(-8)**(1/3)", "negative number raised to a fractional power"),
        ("n[L+1]", "index 4 is out of range for 'n' of length 4"),
        ("n[-5]", "index -5 is out of range for 'n' of length 4"),
        ("n[1.5]", "the index must be a whole number, got 1.5"),
        ("n[n[0] / 2]", "the index must be a whole number, got 0.5"),
        ("[1, 2][5]", "index 5 is out of range for '[1, 2]' of length 2"),
        ("L[0]", "only lists can be indexed"),
        ("n + 1", "the left side of '+' must be a number, but this is a list"),
        ("-n", "must be a number, but this is a list"),
        ("sqrt(n)", "the argument of sqrt must be a number"),
        ("sum(L)", "can only loop over range(...) or a list"),
        ("sum([n for i in range(2)])", "sum() needs a sequence of numbers"),
        ("min([])", "min() of an empty sequence"),
        ("range(1.5)", "range() needs whole numbers, got 1.5"),
        ("sum(range(1, 5, 0))", "range() step must not be zero"),
        ("n", "the answer is a list, not a single number"),
        ("[n[i] for i in range(L)]", "the answer is a list, not a single number"),
    ],
)
def test_evaluation_errors(source: str, fragment: str) -> None:
    expression = parse_expression(source, VARS)
    with pytest.raises(ExpressionError) as info:
        expression.evaluate(L=3, n=[1, 2, 3, 4])
    assert fragment in info.value.message


def test_unknown_name_lists_the_allowed_ones() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("m + 1", ["n", "L"])
    assert info.value.message == "unknown name 'm'; this answer may use: L, n at column 1: `m`"
    assert info.value.column == 1


def test_unknown_name_without_variables() -> None:
    with pytest.raises(ExpressionError, match="this answer may use: no variables"):
        parse_expression("L", [])


def test_loop_variable_is_not_visible_outside_its_comprehension() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'i'"):
        parse_expression("sum(1 for i in range(3)) + i", VARS)


def test_negative_indices_count_from_the_end() -> None:
    expression = parse_expression("n[-1] * 10 + n[-len(n)]", VARS)
    assert expression.evaluate(L=3, n=[5, 6, 7, 8]) == 85.0


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("sum(i for i in range(10) if i % 2 == 0 and not i > 6)", 12.0),
        ("sum(1 for i in range(10) if 2 <= i < 5)", 3.0),
        ("sum(1 for i in range(10) if i < 2 or i >= 8 if i != 9)", 3.0),
        ("sum(i for i in range(10) if i % 3)", 27.0),
        ("sum(sum(j for j in range(i)) for i in range(5))", 10.0),  # nested, inner uses i
        ("max(n) - min(n) + max(1, 2, L) + min(4, L)", 9.0),
        ("math.prod(n) + prod([2, 3])", 30.0),
        ("sum(n, 100) + abs(-L) + len(n)", 117.0),
        ("math.fsum(n) + np.sum(n) + np.prod(n) + np.abs(-1)", 45.0),
        ("7 // 2 + 7 % 4 + 2**-1 + +L", 9.5),
        ("pi - math.pi + np.pi - numpy.pi + e - math.e", 0.0),
        ("log(8, 2) + sqrt(16) + exp(0)", 8.0),
        ("range(5)[-1] + [L, 2*L][1]", 10.0),
        ("1_000 + 0x10 + 1e2 + .5", 1116.5),
    ],
)
def test_whitelisted_constructs_evaluate_like_python(source: str, value: float) -> None:
    assert parse_expression(source, VARS).evaluate(L=3, n=[1, 2, 3, 4]) == value


def test_nan_and_inf_results_are_returned_not_raised() -> None:
    assert parse_expression("1e300 * 1e300 * L", VARS).evaluate(L=1) == math.inf
    assert math.isnan(parse_expression("1e300 * 1e300 * (L - L)", VARS).evaluate(L=1))
    assert math.isnan(parse_expression("n[0] + 1", VARS).evaluate(n=[math.nan]))


def test_numpy_inputs_are_accepted() -> None:
    expression = parse_expression(EQUIVALENT[0], VARS)
    n = np.array([3, 5, 1], dtype=np.int64)
    assert math.isclose(expression.evaluate(L=np.int64(2), n=n), _reference(2, [3, 5, 1]))
    assert isinstance(expression.evaluate(L=2, n=n), float)


def test_iterations_are_counted_across_the_whole_evaluation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exprs, "MAX_ITERATIONS", 10)
    assert parse_expression("sum(n) + sum(n)", VARS).evaluate(n=[1, 2, 3, 4, 5]) == 30.0
    with pytest.raises(ExpressionError, match="more than 10 in total"):
        parse_expression("sum(n) + sum(n) + sum(n)", VARS).evaluate(n=[1, 2, 3, 4, 5])
    with pytest.raises(ExpressionError, match=r"range\(\) is too long .* at most 10"):
        parse_expression("sum(sum(1 for j in range(3)) for i in range(3))", VARS).evaluate()


def test_steps_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exprs, "MAX_STEPS", 1_000)
    ok = parse_expression("sum(i for i in range(100))", VARS)
    assert ok.evaluate() == 4950.0
    slow = parse_expression("sum(i*i + i*i + i*i for i in range(100))", VARS)
    with pytest.raises(ExpressionError, match="takes too long"):
        slow.evaluate()


def test_a_step_budget_bounds_many_evaluations_together() -> None:
    """Each evaluation is far under MAX_STEPS; together they exhaust the answer's budget."""
    expression = parse_expression("sum(i for i in range(L))", VARS)
    budget = StepBudget(1_000)
    assert expression.evaluate(budget, L=10) == 45.0
    per_evaluation = budget.used
    assert 10 < per_evaluation < 100
    with pytest.raises(StepBudgetExceeded, match=r"more than 1,000 steps in all") as info:
        for _ in range(1_000 // per_evaluation + 1):
            expression.evaluate(budget, L=10)
    assert isinstance(info.value, ExpressionError), "still a student-facing error"
    assert budget.used > budget.limit and budget.remaining == 0
    with pytest.raises(StepBudgetExceeded):  # a spent budget refuses at once
        expression.evaluate(budget, L=1)


def test_a_large_budget_leaves_the_per_evaluation_limit_in_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exprs, "MAX_STEPS", 1_000)
    slow = parse_expression("sum(i*i + i*i + i*i for i in range(100))", VARS)
    with pytest.raises(
        ExpressionError, match=r"takes too long to evaluate \(>1000 steps\)"
    ) as info:
        slow.evaluate(StepBudget(10**9))
    assert not isinstance(info.value, StepBudgetExceeded)


def test_a_variable_may_be_named_budget() -> None:
    """The budget is positional-only, so it never shadows a variable of that name."""
    budget = StepBudget(100)
    assert parse_expression("2*budget", ["budget"]).evaluate(budget, budget=3) == 6.0
    assert 0 < budget.used < 10


@pytest.mark.parametrize(
    "source",
    ["[1, 2][0]", "[x for x in [1, 2]][0]", "n[0]", "sum(x for x in [1, 2])", "2*C + 0*[C][0]"],
)
def test_sequences_can_be_refused(source: str) -> None:
    """An answer of arithmetic on numbers (the HW1 parameter map) has no lists, so no loops."""
    with pytest.raises(ExpressionError, match="lists, comprehensions and indexing are not allowed"):
        parse_expression(source, ["C", "n"], sequences=False)
    parse_expression(source, ["C", "n"])  # allowed by default


def test_without_sequences_arithmetic_still_parses() -> None:
    expression = parse_expression("2*d - 2*rowsum_C + e**0 - 1", ["d", "rowsum_C"], sequences=False)
    assert expression.evaluate(d=1.5, rowsum_C=0.25) == pytest.approx(2.5)


@pytest.mark.parametrize(
    "source",
    [
        "(" * 100_000 + "1" + ")" * 100_000,  # CPython: SyntaxError, too many nested parentheses
        "-" * 100_000 + "1",  # CPython 3.11: MemoryError inside the parser
        "1" + "+1" * 100_000,  # CPython 3.11: RecursionError during AST construction
        "[" * 5_000 + "]" * 5_000,
    ],
)
def test_parser_exhaustion_becomes_expression_error(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the length cap, ast.parse itself fails on these; that must stay student-facing."""
    monkeypatch.setattr(exprs, "MAX_SOURCE_LENGTH", 10**7)
    with pytest.raises(ExpressionError) as info:
        parse_expression(source, VARS)
    message = info.value.message
    assert "nested" in message or "too large" in message or "cannot parse" in message


def test_columns_count_characters_of_the_original_source() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("  1 + m", VARS)
    assert info.value.column == 7
    with pytest.raises(ExpressionError) as info:  # 'é' is 2 bytes in UTF-8, 1 character
        parse_expression("é + q", ["é"])
    assert info.value.column == 5
    with pytest.raises(ExpressionError) as info:
        parse_expression("(L +\n  m)", VARS)
    assert info.value.column == 8
    with pytest.raises(ExpressionError) as info:
        parse_expression("xé + @", VARS)
    assert info.value.column == 6


@pytest.mark.parametrize(
    ("source", "python"),
    [
        ("3^L", "3**L"),
        ("2*3^L", "2*3**L"),  # math precedence: the power binds first, not Python's '^' last
        ("1/3^L - 1", "1/3**L - 1"),
        ("3^-L", "3**-L"),
        ("3**\u2212L", "3**-L"),  # minus sign, as word processors write it
        ("L \u2013 1", "L - 1"),  # en dash
        ("2 \u00d7 L", "2 * L"),
        ("2\u00b7L", "2*L"),
        ("2 \u22c5 L", "2 * L"),
        ("L \u00f7 2", "L / 2"),
        ("2*\u03c0", "2*pi"),
        ("L\u00a0+\u202f1", "L + 1"),
    ],
)
def test_operators_as_students_type_them(source: str, python: str) -> None:
    """'^' is a power and typographic operators are Python's, with math precedence kept."""
    values = {"L": 3.0}
    got = parse_expression(source, VARS).evaluate(**values)
    assert got == pytest.approx(parse_expression(python, VARS).evaluate(**values))


def test_columns_point_into_the_original_after_operator_spellings() -> None:
    """'^' becomes '**' and the columns still count characters of what the student wrote."""
    with pytest.raises(ExpressionError) as info:
        parse_expression("3^L + m", VARS)
    assert info.value.column == 7
    with pytest.raises(ExpressionError) as info:
        parse_expression("2\u00d73^L + q", VARS)  # '*' and '**' for '×' and '^'
    assert info.value.column == 9


def test_evaluation_never_calls_eval_or_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    expression = parse_expression(EQUIVALENT[2], VARS)
    assert math.isclose(expression.evaluate(L=2, n=[3, 5, 1]), _reference(2, [3, 5, 1]))


def test_expression_is_immutable() -> None:
    expression = parse_expression("L", VARS)
    assert isinstance(expression, Expression)
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.source = "1"  # type: ignore[misc]
    assert expression == parse_expression("L", VARS)


def test_variables_shadow_the_constants() -> None:
    assert parse_expression("e + 1", ["e"]).evaluate(e=2) == 3.0
    assert parse_expression("e", ["L"]).evaluate() == math.e


def test_non_string_source_is_a_student_error() -> None:
    with pytest.raises(ExpressionError, match="must be a text string, not int"):
        parse_expression(3, VARS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"L": 1}, "missing values for variables: \\['n'\\]"),
        ({"L": 1, "n": [1], "m": 2}, "undeclared variables: \\['m'\\]"),
        ({"L": "3", "n": [1]}, "must be a number or a sequence"),
        ({"L": 1, "n": [[1]]}, "flat sequence of numbers"),
        ({"L": True, "n": [1]}, "must be a number or a sequence"),
    ],
)
def test_caller_mistakes_are_type_errors(values: dict[str, object], error: str) -> None:
    expression = parse_expression("L + n[0]", VARS)
    with pytest.raises(TypeError, match=error):
        expression.evaluate(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variables", "error"),
    [(["sum"], "collides"), (["__x"], "invalid variable name"), (["1a"], "invalid variable")],
)
def test_bad_variable_names_are_caller_errors(variables: list[str], error: str) -> None:
    with pytest.raises(ValueError, match=error) as info:
        parse_expression("1", variables)
    assert not isinstance(info.value, ExpressionError)


def test_variables_may_be_named_self() -> None:
    """evaluate's self is positional-only, so a variable called 'self' cannot collide."""
    assert parse_expression("self + 1", ["self"]).evaluate(self=1) == 2.0
