"""Tests for grader.ingest.latex: LaTeX/unicode formulas -> grader.ingest.exprs expressions,
and locating them.

Every conversion is checked *numerically* against the HW6 p2 reference written out in plain
Python (`_reference`, independent of the converter and of grader.ingest.exprs), at random widths,
and every successful conversion must be accepted by `grader.ingest.exprs.parse_expression`, the
evaluator the grader really uses. Wrong formulas must convert and evaluate differently; formulas the
converter cannot read with confidence must raise `LatexError`, never anything else.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from grader.ingest import latex
from grader.ingest.exprs import ExpressionError, parse_expression
from grader.ingest.latex import (
    MEAN,
    VARIANCE,
    LatexError,
    find_final_formula,
    find_formulas,
    latex_to_python,
)
from grader.ingest.writeup import find_sections, section_text

DATA = Path(__file__).resolve().parents[1] / "data" / "writeups"
SEED_000 = DATA / "seeds" / "000_15d5dac498a59869.txt"
SEED_002 = DATA / "seeds" / "002_49fb73e83455085e.txt"
VARIABLES = {"L": "int", "n": "int_list"}  # as in rubrics/mfdnn/hw6.yaml (n has length L)


def _reference(L: int, n: list[int]) -> float:
    """Var y_L under PyTorch's default init: 3^-L + sum_{i<L} 1/(n_i 3^(L-i))."""
    return 3.0**-L + sum(1 / (n[i] * 3.0 ** (L - i)) for i in range(L))


def _points() -> list[tuple[int, list[int]]]:
    rng = random.Random(6)
    points = [(1, [5]), (2, [3, 7])]
    for _ in range(10):
        L = rng.randint(1, 8)
        points.append((L, [rng.randint(1, 512) for _ in range(L)]))
    return points


POINTS = _points()


def _agrees(python: str) -> bool:
    """True if the converted expression equals the reference at every point."""
    expression = parse_expression(python, list(VARIABLES))
    for L, n in POINTS:
        try:
            value = expression.evaluate(L=L, n=n)
        except ExpressionError:
            return False
        if not math.isclose(value, _reference(L, n), rel_tol=1e-9):
            return False
    return True


def test_reference_helper_matches_the_recursion() -> None:
    """The test's own reference is the variance recursion v_l = (v_{l-1} + 1/n_{l-1}) / 3."""
    for L, n in POINTS:
        v = 1.0
        for width in n:
            v = (v + 1 / width) / 3
        assert math.isclose(v, _reference(L, n), rel_tol=1e-12)


EQUIVALENT = [
    # 002's boxed answer, as written
    r"\frac{1}{3^L} + \sum_{i=0}^{L-1} \frac{1}{n_i} \frac{1}{3^{L-i}}",
    r"\boxed{\text{Var}(X_L) = \frac{1}{3^L} + \sum_{i=0}^{L-1} \frac{1}{n_i} \frac{1}{3^{L-i}}}",
    # factored, \ell as the index, \left( \right)
    r"3^{-L}\left(1 + \sum_{\ell=0}^{L-1} \frac{3^{\ell}}{n_\ell}\right)",
    # shifted index, thin space, n_{i-1}
    r"\sum_{i=1}^{L} \frac{1}{n_{i-1}\, 3^{L-i+1}} + \frac{1}{3^L}",
    # limits as inequalities, \dfrac, (1/3)^L
    r"\left(\frac{1}{3}\right)^{L} + \sum_{0 \le i < L} \dfrac{3^{i-L}}{n_{i}}",
    # TeX's one-token arguments: \frac13 is 1/3; \cdot
    r"\frac13^{L} + \sum_{k=0}^{L-1} \frac{1}{3^{L-k} \cdot n_k}",
    # negative powers, \times
    r"3^{-L} + \sum_{i=0}^{L-1} n_i^{-1} \times 3^{i-L}",
    # one fraction over 3^L
    r"\frac{1 + \sum_{i=0}^{L-1} 3^{i} / n_{i}}{3^{L}}",
    # a product for 3^-L, and e^{x ln 3}
    r"\prod_{k=1}^{L}\frac{1}{3} + \sum_{i=0}^{L-1}\frac{1}{n_i 3^{L-i}}",
    r"e^{-L \ln 3} + \sum_{i=0}^{L-1} \frac{e^{(i-L)\ln(3)}}{n_i}",
    # display-math wrappers and an equation chain: the last right-hand side counts
    r"$$\mathrm{Var}[y_L] = v_L = 3^{-L} + \sum_{i=0}^{L-1}\frac{1}{3^{L-i}n_i}$$",
    # unicode math
    "3⁻ᴸ + Σᵢ₌₀ᴸ⁻¹ 1/(nᵢ·3ᴸ⁻ⁱ)",
    "3^(-L) + ∑_{i=0}^{L-1} 1/(n_i × 3^(L-i))",
    # already Python: passes through
    "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))",
]


@pytest.mark.parametrize("tex", EQUIVALENT)
def test_equivalent_formulas_convert_and_match_the_reference(tex: str) -> None:
    python = latex_to_python(tex, VARIABLES)
    assert _agrees(python), python


WRONG = [
    # 000's answer: forgets the 1/3 on the input variance and the compounding factor
    r"1 + \sum_{l=1}^L \frac{1}{3n_{l-1}}",
    # drops the i = 0 term
    r"\frac{1}{3^L} + \sum_{i=1}^{L-1} \frac{1}{n_i 3^{L-i}}",
    # wrong exponent
    r"\frac{1}{3^L} + \sum_{i=0}^{L-1} \frac{1}{n_i 3^{i}}",
    # 002's intermediate one-layer result: right only for L = 1
    r"\frac{1}{3} \left(\frac{1}{n_0} + 1\right)",
]


@pytest.mark.parametrize("tex", WRONG)
def test_wrong_formulas_convert_and_are_told_apart(tex: str) -> None:
    python = latex_to_python(tex, VARIABLES)
    parse_expression(python, list(VARIABLES))
    assert not _agrees(python), python


def test_the_one_layer_formula_is_right_at_one_layer() -> None:
    """Positive control for the last WRONG case: the comparison really evaluates it."""
    expression = parse_expression(latex_to_python(WRONG[-1], VARIABLES), list(VARIABLES))
    assert math.isclose(expression.evaluate(L=1, n=[9]), _reference(1, [9]), rel_tol=1e-12)


def test_bound_variables_keep_their_names() -> None:
    assert "for l in range" in latex_to_python(WRONG[0], VARIABLES)
    assert "for k in range" in latex_to_python(EQUIVALENT[5], VARIABLES)


def test_mean_zero_in_several_spellings() -> None:
    for tex in ("0", "$0$", r"\mathbb{E}[y_L] = 0", r"\boxed{0}", "0."):
        assert parse_expression(latex_to_python(tex, VARIABLES), list(VARIABLES)).evaluate(
            L=2, n=[3, 4]
        ) == pytest.approx(0.0)


REFUSED = [
    (r"\mathbb{E}[y_L^2]", "mathbb"),
    (r"\frac{1}{3^L} + x", "unknown symbol 'x'"),
    (r"n + 1", "needs an index"),
    (r"L_0 + 1", "has a subscript"),
    (r"3^10", "ambiguous"),
    (r"\sum_i \frac{1}{n_i}", "limits"),
    (r"\sum_{n=0}^{L} 1", "clashes"),
    (r"L \le 3", "inequality"),
    ("", "empty"),
    (r"\text{Var}(y)", "Var"),
    (r"|L| + 1", "'|'"),
    (r"L! + 1", "factorial"),
    (r"1 + L \\ + 2", "several lines"),
    (r"\frac{1}{", "ends too early"),
    (r"\sum_{i=0}^{L-1} n_i^2_i", "double"),
    (r"\sigma(L)", "sigma"),
    ("L @ 3", "cannot read"),
]


@pytest.mark.parametrize(("tex", "fragment"), REFUSED)
def test_unsure_formulas_raise_latex_error(tex: str, fragment: str) -> None:
    with pytest.raises(LatexError) as info:
        latex_to_python(tex, VARIABLES)
    assert fragment in info.value.message


def test_latex_error_is_a_value_error() -> None:
    assert issubclass(LatexError, ValueError)


def test_declared_greek_and_long_variable_names() -> None:
    variables = {"sigma": "float", "lr": "float"}
    assert latex_to_python(r"\sigma^2 \cdot lr", variables) == "(sigma)**(2)*lr"
    with pytest.raises(LatexError):
        latex_to_python(r"\sigma^2 \cdot lr", {"lr": "float"})


def test_limits_and_work_are_bounded() -> None:
    with pytest.raises(LatexError, match="too long"):
        latex_to_python("L+" * 3000 + "L", VARIABLES)
    with pytest.raises(LatexError, match="nested too deeply"):
        latex_to_python("{" * 500 + "L" + "}" * 500, VARIABLES)
    with pytest.raises(LatexError, match="nested too deeply"):
        latex_to_python(r"\frac{1}{" * 200 + "L" + "}" * 200, VARIABLES)


_ALPHABET = [
    "L", "n", "i", "x", "3", "1", "0", "^", "_", "{", "}", "(", ")", "+", "-", "*", "/", " ",
    r"\frac", r"\sum", r"\prod", r"\sqrt", r"\cdot", r"\left(", r"\right)", r"\text{Var}",
    r"\ell", "=", "$", r"\\", "[", "]", "Σ", "ᵢ", "⁻", "ᴸ", "·", r"\boxed{", r"\mathbb{E}", ",",
]  # fmt: skip


def test_random_input_raises_only_latex_error_and_output_always_parses() -> None:
    rng = random.Random(3)
    converted = 0
    for _ in range(3000):
        tex = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 25)))
        try:
            python = latex_to_python(tex, VARIABLES)
        except LatexError:
            continue
        parse_expression(python, list(VARIABLES))
        converted += 1
    assert converted > 10  # the generator does produce convertible formulas


# --- locating the final formula -------------------------------------------------------------------
def _section(path: Path, problem: str) -> tuple[str, int]:
    text = path.read_text(encoding="utf-8")
    section = {s.problem: s for s in find_sections(text)}[problem]
    return section_text(text, section), section.start_line


def test_seed_000_final_variance_formula_is_wrong() -> None:
    text, first = _section(SEED_000, "2")
    found = find_final_formula(text, VARIANCE, first)
    assert found is not None
    tex, line = found
    assert line == 49  # the \therefore row of the last aligned block
    assert tex == r"1 + \sum_{l=1}^L \frac{1}{3n_{l-1}}"
    assert not _agrees(latex_to_python(tex, VARIABLES))
    assert find_final_formula(text, None, first) == found  # also simply the last formula


def test_seed_002_boxed_variance_formula_is_right() -> None:
    text, first = _section(SEED_002, "2")
    found = find_final_formula(text, VARIANCE, first)
    assert found is not None
    tex, line = found
    assert line == 39
    assert _agrees(latex_to_python(tex, VARIABLES))


@pytest.mark.parametrize(("path", "line"), [(SEED_000, 41), (SEED_002, 33)])
def test_seed_means_are_zero(path: Path, line: int) -> None:
    text, first = _section(path, "2")
    assert find_final_formula(text, MEAN, first) == ("0", line)


def test_boxed_beats_a_later_formula_and_quantity_filters() -> None:
    text = "\n".join(
        [
            r"$$\boxed{\mathrm{Var}(y_L) = 3^{-L}}$$",
            r"$$\mathbb{E}[y_L] = 0, \qquad \sigma^2 = 5$$",
            r"Check: $1 + 1 = 2$",
        ]
    )
    assert find_final_formula(text, None, 10) == ("3^{-L}", 10)
    assert find_final_formula(text, MEAN, 10) == ("0", 11)
    assert find_final_formula(text, r"sigma", 10) == ("5", 11)
    assert find_final_formula("no math here", None) is None
    assert find_final_formula(text, r"[unbalanced", 1) is None  # a bad regex is a substring


def test_formulas_in_code_spans_plain_lines_and_aligned_rows() -> None:
    text = "\n".join(
        [
            "Answer: `variance = 3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))`",
            "Mean: E[y_L] = 0.",
            "Var(y_L) = 3⁻ᴸ + Σᵢ₌₀ᴸ⁻¹ 1/(nᵢ·3ᴸ⁻ⁱ)",
            r"$$\begin{aligned} a &= b + 1 \\ &= c \quad (\because x) \end{aligned}$$",
            "```",
            "x = 1  # code is not a formula",
            "```",
        ]
    )
    formulas = find_formulas(text, 1)
    summary = [(f.lhs, f.rhs, f.line, f.syntax) for f in formulas]
    assert summary[0] == (
        "variance",
        "3**-L + sum(1/(n[i]*3**(L-i)) for i in range(L))",
        1,
        "code",
    )
    assert ("E[y_L]", "0.", 2, "plain") in summary
    assert summary[2][2:] == (3, "plain")
    assert ("a", "b + 1", 4, "latex") in summary and ("a", "c", 4, "latex") in summary
    assert all(f.line != 6 for f in formulas)


def test_find_formulas_is_total_and_bounded() -> None:
    assert find_formulas(None) == []  # type: ignore[arg-type]
    huge = ("$$\\boxed{" * 2000 + "\\begin{align}" * 2000) * 10
    assert isinstance(find_formulas(huge), list)
    assert len(find_formulas("$a=1$ " * 20000)) <= latex.MAX_FORMULAS


@pytest.mark.parametrize(
    ("tex", "python"),
    [
        ("\\mathrm{relu}(z)", "relu((z))"),
        ("\\mathrm{ReLU}\\left(z\\right)", "relu((z))"),
        ("\\operatorname{ReLU}(z)", "relu((z))"),
        ("\\operatorname{relu} z", "relu(z)"),
        ("\\text{ReLU}(z)", "relu((z))"),
        ("\\textrm{ReLU}(z)", "relu((z))"),
        ("ReLU(z)", "relu((z))"),
        ("\\max(0, z)", "max(0, z)"),
        ("\\max\\{z, 0\\}", "max(z, 0)"),
        ("\\max\\left(0, z\\right)", "max(0, z)"),
        ("\\mathrm{max}(0,z)", "max(0, z)"),
        ("\\operatorname{max}(0, z)", "max(0, z)"),
        ("max(z, 0)", "max(z, 0)"),
        ("2\\max(0, z) - z", "2*max(0, z) - z"),
        ("\\tanh(z)", "tanh((z))"),
        ("\\text{sigmoid}(z)", "sigmoid((z))"),
        ("\\mathrm{relu}(\\mathrm{relu}(z)) = \\boxed{\\mathrm{relu}(z)}", "relu((z))"),
    ],
)
def test_activations_and_max_in_latex_read_as_in_plain_text(tex: str, python: str) -> None:
    """`\\mathrm{relu}`, `\\operatorname{ReLU}`, `\\text{ReLU}`, `\\max(0, z)`: the calls a
    plain-text answer makes (`relu(z)`, `max(0, z)`), whatever the spelling or case."""
    assert latex_to_python(tex, {"z": "float"}) == python
    parse_expression(python, ["z"])


@pytest.mark.parametrize(
    ("tex", "fragment"),
    [
        ("\\max_i z", "without its arguments"),  # a maximum over an index: for a TA
        ("\\mathrm{rel}(z)", "unknown symbol"),
        ("\\operatorname{Softmax}(z)", "cannot be translated"),
        ("\\sigma(z)", "unknown symbol"),  # sigmoid or a standard deviation: not guessed
    ],
)
def test_unknown_or_ambiguous_functions_are_refused(tex: str, fragment: str) -> None:
    with pytest.raises(LatexError, match=fragment):
        latex_to_python(tex, {"z": "float"})
