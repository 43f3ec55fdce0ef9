"""Tests for grader.judges.basic: number, choice, formula and manual checks, in process.

Each test builds a `GradingContext` around an in-memory `Submission` (answers only, no files) and
the real HW6 rubric and reference, or `reference=None` as in a student's self-check, where checks
that need the reference are skipped but answers that cannot be read still fail. Module checks run
student code in the sandbox and are tested elsewhere.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from grader.courses import homework_at
from grader.errors import AnswerSheetError
from grader.ingest.exprs import StepBudget, parse_expression
from grader.ingest.submission import Answer, Submission
from grader.judges.choice import judge_choice
from grader.judges.context import GradingContext
from grader.judges.formula import FORMULA_STEPS_PER_SAMPLE, judge_formula, sample_points
from grader.judges.kinds import judge, plan_probe
from grader.judges.manual import judge_manual
from grader.judges.number import judge_number, parse_number
from grader.reference import Reference, load_reference
from grader.results import CheckResult, SourceRef, Status
from grader.rubric import (
    ChoiceCheck,
    FormulaCheck,
    ManualCheck,
    NumberCheck,
    Problem,
    Rubric,
    load_rubric,
)
from grader.sandbox.observe import Observer

ROOT = Path(__file__).resolve().parents[2]
HW6 = ROOT / "rubrics" / "mfdnn" / "hw6.yaml"
OPTIONS = ("relu", "sigmoid", "leaky_relu")
CORRECT_P1 = {"relu", "leaky_relu"}


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric(HW6)


@pytest.fixture(scope="module")
def reference(rubric: Rubric) -> Reference:
    ref = load_reference(rubric, homework_at(HW6).reference_root)
    assert ref is not None, "reference/hw6 must be installed in the repository"
    return ref


def _context(
    rubric: Rubric,
    reference: Reference | None,
    answers: dict[str, Any],
    sheet_error: AnswerSheetError | None = None,
) -> GradingContext:
    sub = Submission(
        root=Path("student"),
        student="student",
        answers={
            key: Answer(key, value, SourceRef(file="answers.toml", line=line))
            for line, (key, value) in enumerate(answers.items(), start=2)
        },
        answer_sheet_error=sheet_error,
    )
    observer = Observer(runner=None, plan=plan_probe)  # type: ignore[arg-type]  # never runs code here
    return GradingContext(sub, rubric, reference, observer)


def _check(rubric: Rubric, problem_id: str, check_id: str) -> tuple[Problem, Any]:
    problem = rubric.problem(problem_id)
    (check,) = [c for c in problem.checks if c.id == check_id]
    return problem, check


def _run(
    rubric: Rubric,
    reference: Reference | None,
    problem_id: str,
    check_id: str,
    value: Any,
) -> CheckResult:
    problem, check = _check(rubric, problem_id, check_id)
    ctx = _context(rubric, reference, {f"{problem_id}.{check_id}": value})
    return judge(problem, check, None, ctx)


def _assert_result(res: CheckResult, status: Status, score: float, max_score: float) -> None:
    assert res.status is status, res.message
    assert res.score == pytest.approx(score)
    assert res.max_score == max_score


# --- number -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_id", "value"),
    [
        ("params_naive", 213504),
        ("params_naive", 213504.0),
        ("params_naive", "213,504"),
        ("params_naive", "213504"),
        ("params_naive", "213 504"),
        ("params_naive", " 213_504 "),
        ("params_stm", 78592),
        ("params_stm", "78,592"),
        ("params_stm", "7.8592e4"),
        # counts as students write them beyond plain numbers
        ("params_stm", "78592 params"),
        ("params_stm", "approx. 78,592 trainable parameters"),
        ("params_stm", "\u2248 78,592"),
        ("params_stm", "~78592"),
        ("params_stm", "= 78592"),
        ("params_stm", "32*(256*4+4 + 4*4*9+4 + 4*256+256)"),
        ("params_stm", "32 \u00d7 2456"),
        ("params_stm", "32 * 2456 = 78592"),
        ("params_naive", "2,13,504"),  # Indian digit grouping
    ],
)
def test_number_correct(rubric: Rubric, reference: Reference, check_id: str, value: Any) -> None:
    res = _run(rubric, reference, "p4a", check_id, value)
    _assert_result(res, Status.PASSED, 1, 1)
    assert res.message.endswith("is correct")
    assert res.source == SourceRef(file="answers.toml", line=2)


@pytest.mark.parametrize("value", [2456, 70656, "78,593", 78592.5, -78592])
def test_number_wrong(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p4a", "params_stm", value)
    _assert_result(res, Status.FAILED, 0, 1)
    assert "(expected 78,592)" in res.message


@pytest.mark.parametrize("value", [True, False, "lots", [78592], {"a": 1}])
def test_number_not_a_number(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p4a", "params_stm", value)
    _assert_result(res, Status.FAILED, 0, 1)
    assert res.message.startswith("expected a number")


@pytest.mark.parametrize(
    "value",
    [
        "32*(256*4 + 4*4*9 + 4*256 + 256)",  # the expression of a wrong count is wrong
        "78,624 params",
        "\u2248 78,600",
        "2,13,593",
    ],
)
def test_number_wrong_in_student_notation(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p4a", "params_stm", value)
    _assert_result(res, Status.FAILED, 0, 1)
    assert "is not correct" in res.message


@pytest.mark.parametrize(
    "value", ["78.6K", "78.59k", "79K", "0.079M", "0.08M", "7.9e4", "8e4", "80K"]
)
def test_number_rounded_right_count_is_for_a_ta(
    rubric: Rubric, reference: Reference, value: Any
) -> None:
    """The right count rounded: whether that answers 'how many parameters' is a TA's call."""
    res = _run(rubric, reference, "p4a", "params_stm", value)
    _assert_result(res, Status.PENDING, 0, 1)
    assert res.message.startswith("for a TA:") and "rounded" in res.message
    assert res.details == [f"answers.toml: {value}"]


@pytest.mark.parametrize(
    "value", ["78.5K", "79.0K", "80.0K", "7.8e4", "1M", "0.07M", "9e4", "70K", "100K"]
)
def test_number_rounded_wrong_count_fails(rubric: Rubric, reference: Reference, value: Any) -> None:
    """No rounding of 78,592 gives these: wrong, not a TA's call."""
    res = _run(rubric, reference, "p4a", "params_stm", value)
    _assert_result(res, Status.FAILED, 0, 1)
    assert "(expected 78,592)" in res.message


def test_number_dots_grouping_thousands_is_for_a_ta(rubric: Rubric, reference: Reference) -> None:
    """'78.592' is 78,592 where dots group thousands: a TA says which the student meant; a
    number wrong under both readings fails."""
    res = _run(rubric, reference, "p4a", "params_stm", "78.592")
    _assert_result(res, Status.PENDING, 0, 1)
    assert "78,592" in res.message
    res = _run(rubric, reference, "p4a", "params_stm", "78.593")
    _assert_result(res, Status.FAILED, 0, 1)
    res = _run(rubric, reference, "p4a", "params_naive", "213.504")
    _assert_result(res, Status.PENDING, 0, 1)
    # unquoted on the sheet, TOML reads `params_stm = 78.592` as a float: the same question
    res = _run(rubric, reference, "p4a", "params_stm", 78.592)
    _assert_result(res, Status.PENDING, 0, 1)
    res = _run(rubric, reference, "p4a", "params_stm", 78.593)
    _assert_result(res, Status.FAILED, 0, 1)


def test_number_rounding_is_not_read_into_a_tolerance_check(rubric: Rubric) -> None:
    """Only an exact count reads '2.1e5' as rounded; a check with a tolerance judges the value."""
    problem, check = _tolerance_problem(rtol=0.01)
    res = judge_number(problem, check, None, _context(rubric, None, {"px.ratio": "5e-1"}))
    _assert_result(res, Status.PASSED, 2, 2)
    res = judge_number(problem, check, None, _context(rubric, None, {"px.ratio": "0.6"}))
    _assert_result(res, Status.FAILED, 0, 2)


def test_parse_number_rejects_bool_and_keeps_grouping_strict() -> None:
    assert parse_number(True) is None
    assert parse_number("1,000,000") == 1_000_000
    assert parse_number("12,34") is None, "only groups of three digits are thousands"


def _tolerance_problem(**tolerances: float) -> tuple[Problem, NumberCheck]:
    check = NumberCheck(id="ratio", kind="number", points=2, expected=0.5, **tolerances)
    return Problem(id="px", points=2, checks=[check]), check


@pytest.mark.parametrize(
    ("tolerances", "value", "status"),
    [
        ({"rtol": 0.01}, 0.504, Status.PASSED),
        ({"rtol": 0.01}, 0.496, Status.PASSED),
        ({"rtol": 0.01}, 0.506, Status.FAILED),
        ({"atol": 0.1}, 0.59, Status.PASSED),
        ({"atol": 0.1}, 0.61, Status.FAILED),
        ({}, 0.5000001, Status.FAILED),
        ({}, "0.5", Status.PASSED),
    ],
)
def test_number_tolerance(
    rubric: Rubric, tolerances: dict[str, float], value: Any, status: Status
) -> None:
    """A literal expected value needs no reference, so this also holds in a self-check."""
    problem, check = _tolerance_problem(**tolerances)
    ctx = _context(rubric, None, {"px.ratio": value})
    res = judge_number(problem, check, None, ctx)
    _assert_result(res, status, 2 if status is Status.PASSED else 0, 2)


def test_number_without_reference_is_skipped(rubric: Rubric) -> None:
    res = _run(rubric, None, "p4a", "params_stm", 78592)
    _assert_result(res, Status.SKIPPED, 0, 1)
    assert "reference" in res.message


def test_number_that_cannot_be_read_fails_without_reference(rubric: Rubric) -> None:
    res = _run(rubric, None, "p4a", "params_stm", "lots")
    _assert_result(res, Status.FAILED, 0, 1)


# --- choice -----------------------------------------------------------------------------------


def test_reference_p1_answer(reference: Reference, rubric: Rubric) -> None:
    _, check = _check(rubric, "p1", "equivalent")
    assert set(reference.value(check.expected)) == CORRECT_P1


SUBSETS = [list(chosen) for size in range(4) for chosen in itertools.combinations(OPTIONS, size)]


@pytest.mark.parametrize("chosen", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_choice_partial_credit(rubric: Rubric, reference: Reference, chosen: list[str]) -> None:
    right = sum((o in chosen) == (o in CORRECT_P1) for o in OPTIONS)
    res = _run(rubric, reference, "p1", "equivalent", chosen)
    status = Status.PASSED if right == 3 else Status.FAILED
    _assert_result(res, status, 3 * right / 3, 3)
    assert res.message.startswith(f"{right}/3 options classified correctly")
    assert res.details == []


def test_all_eight_subsets_are_tested() -> None:
    assert len({frozenset(s) for s in SUBSETS}) == 8


@pytest.mark.parametrize(
    "value",
    [
        ["ReLU", "LeakyReLU"],
        ["(a)", "(c)"],
        ["a", "c"],
        ["leaky relu", "relu"],
        ["Leaky_ReLU", "RELU"],
        "relu, leaky_relu",
        "(a); (c)",
    ],
)
def test_choice_aliases(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p1", "equivalent", value)
    _assert_result(res, Status.PASSED, 3, 3)


CHOICE_SPELLINGS_OF_THE_RIGHT_ANSWER = [
    "ReLU and Leaky ReLU",
    "(a) and (c)",
    "a and c only",
    "a c",
    "A, C",
    "Both ReLU and leaky-ReLU",
    "ReLU & LeakyReLU",
    "ReLU/LeakyReLU",
    "Only ReLU and Leaky-ReLU",
    "relu or leaky relu",
    "all except sigmoid",
    "all but (b)",
    "everything other than sigmoid",
    "not sigmoid",
    "sigmoid is not",
    "ReLU and LeakyReLU are equivalent, sigmoid is not",
    "relu, leaky relu, but not sigmoid",
    "relu: yes, sigmoid: no, leaky relu: yes",
    "ReLU \u2713 Sigmoid \u2717 LeakyReLU \u2713",
    "ReLU (a) and LeakyReLU (c)",
    "ReLU as well as LeakyReLU",
    "ReLU and LeakyReLU, because sigmoid(0) = 0.5 is not 0",  # the reason is not read
    ["nn.ReLU()", "nn.LeakyReLU()"],
    ["(a) ReLU", "(c) Leaky ReLU"],
]


@pytest.mark.parametrize("value", CHOICE_SPELLINGS_OF_THE_RIGHT_ANSWER, ids=str)
def test_choice_as_students_write_it(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p1", "equivalent", value)
    _assert_result(res, Status.PASSED, 3, 3)
    assert res.details == []


@pytest.mark.parametrize(
    ("value", "chosen"),
    [
        ("all three", {"relu", "sigmoid", "leaky_relu"}),
        ("All of them", {"relu", "sigmoid", "leaky_relu"}),
        ("none", set()),
        ("None of them", set()),
        ("ReLU only", {"relu"}),
        ("only sigmoid", {"sigmoid"}),
        ("all except ReLU", {"sigmoid", "leaky_relu"}),
        ("all but leaky relu", {"relu", "sigmoid"}),
        ("b and c", {"sigmoid", "leaky_relu"}),
        ("a, b and c", {"relu", "sigmoid", "leaky_relu"}),
        ("not relu, not leaky relu", {"sigmoid"}),
        ("relu but not sigmoid", {"relu"}),
        ("ReLU \u2713 Sigmoid \u2713 LeakyReLU \u2717", {"relu", "sigmoid"}),
    ],
)
def test_choice_wrong_answers_as_students_write_them(
    rubric: Rubric, reference: Reference, value: Any, chosen: set[str]
) -> None:
    """Read as written, so partial credit counts what the student actually chose."""
    right = sum((o in chosen) == (o in CORRECT_P1) for o in OPTIONS)
    res = _run(rubric, reference, "p1", "equivalent", value)
    _assert_result(res, Status.FAILED, 3 * right / 3, 3)
    for option in OPTIONS:
        assert f"{option} {'chosen' if option in chosen else 'not chosen'} " in res.message


@pytest.mark.parametrize(
    "value",
    [
        "ReLU, sigmoid(0) != 0 here",  # words beside the options the reader does not know
        "not sigmoid, relu",  # is relu negated too?
        "relu, not relu",
        "none, relu",
        "yes",
        "ReLU is equivalent but sigmoid is not, and neither is leaky ReLU or is it",
    ],
)
def test_choice_that_cannot_be_read_is_for_a_ta(
    rubric: Rubric, reference: Reference, value: Any
) -> None:
    res = _run(rubric, reference, "p1", "equivalent", value)
    _assert_result(res, Status.PENDING, 0, 3)
    assert res.message.startswith("for a TA: cannot tell which options")
    assert res.details and str(value) in res.details[0]


def test_choice_unknown_options_are_reported(rubric: Rubric, reference: Reference) -> None:
    res = _run(rubric, reference, "p1", "equivalent", ["relu", "tanh", "leaky_relu"])
    _assert_result(res, Status.PASSED, 3, 3)
    assert len(res.details) == 1
    assert "'tanh'" in res.details[0]
    assert "relu, sigmoid, leaky_relu" in res.details[0]


def test_choice_unknown_option_alone(rubric: Rubric, reference: Reference) -> None:
    res = _run(rubric, reference, "p1", "equivalent", ["gelu"])
    _assert_result(res, Status.FAILED, 1, 3)  # only sigmoid ("not chosen") is right
    assert "'gelu'" in res.details[0]


@pytest.mark.parametrize("value", [3, True, ["relu", 1], {"relu": True}])
def test_choice_wrong_type(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p1", "equivalent", value)
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("expected a list of options")


def test_choice_without_reference_is_skipped(rubric: Rubric) -> None:
    res = _run(rubric, None, "p1", "equivalent", ["relu"])
    _assert_result(res, Status.SKIPPED, 0, 3)


def test_choice_with_literal_expected_needs_no_reference(rubric: Rubric) -> None:
    check = ChoiceCheck(id="c", kind="choice", points=2, options=["x", "y"], expected=["y"])
    problem = Problem(id="pc", points=2, checks=[check])
    res = judge_choice(problem, check, None, _context(rubric, None, {"pc.c": ["y"]}))
    _assert_result(res, Status.PASSED, 2, 2)


# --- formula ----------------------------------------------------------------------------------

CORRECT_VARIANCE = [
    "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))",
    "(1/3)**L + sum(3**(i-L)/n[i] for i in range(L))",
    "1 / 3**L + sum(1/(n[i] * 3**(L - i)) for i in range(L))",
    "3**-L * (1 + sum(3**i / n[i] for i in range(L)))",
    "3**-L + sum(1/(n[L-j]*3**j) for j in range(1, L+1))",
    # n_L = 1 by the statement (the output width), so an answer may carry it along
    "n[L] * (3**-L + sum(1/(n[i] * 3**(L - i)) for i in range(L)))",
]

WRONG_VARIANCE = {
    "seed 000's scale": "1 + sum(1/(3*n[i]) for i in range(L))",
    "no 3**-L term": "sum(1/(n[i]*3**(L-i)) for i in range(L))",
    "off by one": "3**-L + sum(1/(n[i]*3**(L-i+1)) for i in range(L))",
    "reversed widths": "3**-L + sum(1/(n[L-1-i]*3**(L-i)) for i in range(L))",
    "kaiming variance": "2**-L + sum(1/(n[i]*2**(L-i)) for i in range(L))",
    # the fan-in of layer i+1 taken as n[i+1]: with n[L] = 1 it evaluates, and is wrong
    "widths shifted": "3**-L + sum(1/(n[i+1]*3**(L-i)) for i in range(L))",
}


@pytest.mark.parametrize("expression", CORRECT_VARIANCE)
def test_formula_equivalent_spellings_pass(
    rubric: Rubric, reference: Reference, expression: str
) -> None:
    res = _run(rubric, reference, "p2", "variance", expression)
    _assert_result(res, Status.PASSED, 3, 3)
    assert "sampled points" in res.message


@pytest.mark.parametrize("expression", list(WRONG_VARIANCE.values()), ids=list(WRONG_VARIANCE))
def test_formula_wrong_answers_fail(rubric: Rubric, reference: Reference, expression: str) -> None:
    res = _run(rubric, reference, "p2", "variance", expression)
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("differs from the correct value at L=")
    assert res.source is not None and res.source.line == 2


VARIANCE_IN_STUDENT_NOTATION = [
    "3^(-L) + sum(3^(i-L)/n[i] for i in range(L))",
    "1/3^L + sum(1/(3^(L-i)*n[i]) for i in range(L))",
    "3**\u2212L + sum(1/(n[i] \u00d7 3**(L \u2212 i)) for i in range(L))",
    "3**-L + sum(1/(n[i]\u00b73**(L-i)) for i in range(L))",
    "3**-L + math.fsum([1/(n[i]*3**(L-i)) for i in range(L)])",
    "3**-L + sum(1/(n[l-1]*3**(L-l+1)) for l in range(1, L+1))",
    "Var(y_L) = 3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))",
    "\\frac{1}{3^L} + \\sum_{i=0}^{L-1} \\frac{1}{3^{L-i} n_i}",
    "$3^{-L}+\\sum_{i=0}^{L-1}3^{i-L}/n_i$",
    "3^{-L} + \\sum_{l=1}^{L} \\frac{1}{3^{L-l+1} n_{l-1}}",
    "\\mathrm{Var}(y_L) = \\frac{1}{3^L}\\left(1+\\sum_{i=0}^{L-1}\\frac{3^i}{n_i}\\right)",
]

WRONG_VARIANCE_IN_STUDENT_NOTATION = {
    "caret, no bias term": "3^-L",
    "caret, doubled": "2*3^-L + sum(1/(3^(L-i)*n[i]) for i in range(L))",
    "LaTeX, off by one": "3^{-L} + \\sum_{i=0}^{L-1} \\frac{1}{3^{L-i+1} n_i}",
    "LaTeX, no bias term": "\\sum_{i=0}^{L-1} \\frac{1}{3^{L-i} n_i}",
    "restated, no bias term": "Var(y_L) = sum(1/(n[i]*3**(L-i)) for i in range(L))",
}


@pytest.mark.parametrize("expression", VARIANCE_IN_STUDENT_NOTATION)
def test_formula_in_student_notation_passes(
    rubric: Rubric, reference: Reference, expression: str
) -> None:
    """'^' for powers, typographic operators, the quantity restated, LaTeX on the sheet."""
    res = _run(rubric, reference, "p2", "variance", expression)
    _assert_result(res, Status.PASSED, 3, 3)


@pytest.mark.parametrize(
    "expression",
    list(WRONG_VARIANCE_IN_STUDENT_NOTATION.values()),
    ids=list(WRONG_VARIANCE_IN_STUDENT_NOTATION),
)
def test_formula_wrong_in_student_notation_fails(
    rubric: Rubric, reference: Reference, expression: str
) -> None:
    res = _run(rubric, reference, "p2", "variance", expression)
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("differs from the correct value at L=")


@pytest.mark.parametrize("value", ["$0$", "E[y_L] = 0", "\\mathbb{E}[y_L] = 0"])
def test_formula_mean_restated_or_in_latex(
    rubric: Rubric, reference: Reference, value: Any
) -> None:
    _assert_result(_run(rubric, reference, "p2", "mean", value), Status.PASSED, 1, 1)


def test_formula_several_equations_are_not_read_as_one(
    rubric: Rubric, reference: Reference
) -> None:
    """A recursion with its start ('..., V_0 = 1') is not one formula: the LaTeX reader's last
    right-hand side would be '1'. It stays unreadable, with the Python reader's reason."""
    res = _run(rubric, reference, "p2", "variance", "V_L = V_{L-1}/3 + 1/(3 n_{L-1}), V_0 = 1")
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("cannot read your expression")


@pytest.mark.parametrize("expression", CORRECT_VARIANCE)
def test_formula_step_budget_is_far_above_a_correct_answer(rubric: Rubric, expression: str) -> None:
    """The budget over all sampled points refuses padded answers; a real one, at the real
    points, uses under 1% of it (a tighter budget would fail correct answers)."""
    _, variance = _check(rubric, "p2", "variance")
    points = sample_points(variance, seed=0)
    budget = StepBudget(variance.samples * FORMULA_STEPS_PER_SAMPLE)
    parsed = parse_expression(expression, list(variance.variables), variance.functions)
    for point in points:
        parsed.evaluate(budget, **point)
    assert 0 < budget.used < budget.limit / 100


def test_formula_unrolled_recursion_for_a_fixed_depth(rubric: Rubric, reference: Reference) -> None:
    """Var y_l = Var y_(l-1)/3 + 1/(3 n_(l-1)), unrolled by hand for L = 3 only."""
    _, variance = _check(rubric, "p2", "variance")
    data = variance.model_dump()
    data["variables"]["L"] = {"kind": "int", "low": 3, "high": 3}
    fixed = FormulaCheck.model_validate(data)
    problem = Problem(id="p2", points=3, checks=[fixed])
    unrolled = "((1/3 + 1/(3*n[0]))/3 + 1/(3*n[1]))/3 + 1/(3*n[2])"
    res = judge_formula(
        problem, fixed, None, _context(rubric, reference, {"p2.variance": unrolled})
    )
    _assert_result(res, Status.PASSED, 3, 3)
    # The same hand-unrolled answer is wrong once L varies (the real rubric samples L in 1..8).
    res = _run(rubric, reference, "p2", "variance", unrolled)
    assert res.status is Status.FAILED


@pytest.mark.parametrize("value", ["0", "0.0", 0, 0.0, "0*n[0]", "sum(0 for i in range(L))"])
def test_formula_mean(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p2", "mean", value)
    _assert_result(res, Status.PASSED, 1, 1)


@pytest.mark.parametrize("value", ["1", "1/n[0]", "3**-L"])
def test_formula_mean_wrong(rubric: Rubric, reference: Reference, value: Any) -> None:
    _assert_result(_run(rubric, reference, "p2", "mean", value), Status.FAILED, 0, 1)


MALICIOUS = [
    "__import__('os')",
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__mro__[1].__subclasses__()",
    "open('/etc/passwd')",
    "9**9**9**9",
    "sum(1 for i in range(10**12))",
    "[1]*10**9",
    "lambda: 0",
    "x + 1",
    "",
    "3**-L +",
]


@pytest.mark.parametrize("expression", MALICIOUS)
def test_formula_malicious_or_broken_fails_fast(
    rubric: Rubric, reference: Reference, expression: str
) -> None:
    start = time.perf_counter()
    res = _run(rubric, reference, "p2", "variance", expression)
    elapsed = time.perf_counter() - start
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message, "the student must be told why"
    assert elapsed < 2.0, f"{expression!r} took {elapsed:.1f} s"


def test_formula_unknown_name_is_named(rubric: Rubric, reference: Reference) -> None:
    res = _run(rubric, reference, "p2", "variance", "x + 1")
    assert res.message.startswith("cannot read your expression")
    assert "'x'" in res.message


def test_formula_index_out_of_range_reports_the_point(rubric: Rubric, reference: Reference) -> None:
    res = _run(rubric, reference, "p2", "variance", "1/n[L+1]")  # n[L] = n_L = 1 exists
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("your expression fails at L=")


@pytest.mark.parametrize("value", [True, ["3**-L"], {"a": 1}])
def test_formula_wrong_type(rubric: Rubric, reference: Reference, value: Any) -> None:
    res = _run(rubric, reference, "p2", "variance", value)
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("expected an expression in quotes")


def test_formula_without_reference(rubric: Rubric) -> None:
    """Self-check: a readable answer is skipped (cannot be compared); an unreadable one fails."""
    res = _run(rubric, None, "p2", "variance", CORRECT_VARIANCE[0])
    _assert_result(res, Status.SKIPPED, 0, 3)
    res = _run(rubric, None, "p2", "variance", "__import__('os')")
    _assert_result(res, Status.FAILED, 0, 3)
    assert res.message.startswith("cannot read your expression")


def test_sample_points_cover_the_corners_and_respect_lengths(rubric: Rubric) -> None:
    _, check = _check(rubric, "p2", "variance")
    points = sample_points(check, seed=1)
    assert len(points) == check.samples
    assert points[0] == {"L": 1, "n": [1, 1]}  # the widths, then n_L = 1 (`then`)
    assert points[1] == {"L": 8, "n": [512] * 8 + [1]}
    for point in points:
        assert 1 <= point["L"] <= 8
        assert len(point["n"]) == point["L"] + 1 and point["n"][-1] == 1
        assert all(1 <= w <= 512 for w in point["n"])
    assert sample_points(check, seed=1) == points, "same seed, same points"


# --- unanswered, broken sheet, manual ---------------------------------------------------------


@pytest.mark.parametrize(
    ("problem_id", "check_id"),
    [("p1", "equivalent"), ("p2", "variance"), ("p4a", "params_stm")],
)
@pytest.mark.parametrize("with_reference", [True, False])
def test_unanswered_key_fails(
    rubric: Rubric,
    reference: Reference,
    problem_id: str,
    check_id: str,
    with_reference: bool,
) -> None:
    problem, check = _check(rubric, problem_id, check_id)
    ctx = _context(rubric, reference if with_reference else None, {"homework": "hw6"})
    res = judge(problem, check, None, ctx)
    _assert_result(res, Status.FAILED, 0, check.points)
    assert res.message.startswith("not answered")
    assert f"`{check_id} = ...` under [{problem_id}]" in res.message


def test_broken_sheet_is_an_error_naming_answers_toml(rubric: Rubric, reference: Reference) -> None:
    error = AnswerSheetError(Path("student/answers.toml"), 5, "not valid TOML: Invalid value")
    for problem_id, check_id in [("p1", "equivalent"), ("p2", "mean"), ("p4a", "params_naive")]:
        problem, check = _check(rubric, problem_id, check_id)
        ctx = _context(rubric, reference, {}, sheet_error=error)
        res = judge(problem, check, None, ctx)
        _assert_result(res, Status.ERROR, 0, check.points)
        assert "answers.toml" in res.message
        assert "Invalid value" in res.message
        assert res.source == SourceRef(file="answers.toml", line=5)


def test_manual_is_pending_without_leaking_the_prompt(rubric: Rubric) -> None:
    """The TA's prompt may hold the solution: students never see it."""
    problem, check = _check(rubric, "p3", "derivation")
    assert isinstance(check, ManualCheck) and check.prompt
    res = judge_manual(problem, check, None, _context(rubric, None, {}))
    _assert_result(res, Status.PENDING, 0, 6)
    assert res.message == "graded by a TA"
    assert check.prompt not in res.model_dump_json()


def test_manual_without_prompt(rubric: Rubric) -> None:
    check = ManualCheck(id="essay", kind="manual", points=2)
    problem = Problem(id="px", points=2, checks=[check])
    res = judge_manual(problem, check, None, _context(rubric, None, {}))
    assert res.message == "graded by a TA"
    assert res.id == "essay"
