""".tex writeups in the styles students use, and their PDFs, graded like a Markdown writeup:
problems as `enumerate` items, `\\paragraph{Problem 2}`, `\\textbf{Problem 1.}`, answers in
`align*`, `\\verb`, a code environment of the student's own (`\\lstnewenvironment`), activations
spelled `\\mathrm{relu}`, `\\operatorname{ReLU}`, `\\text{ReLU}` or `\\max(0, z)`; numbered
`\\section`s and hyphenated words in a PDF. Each with a right and a wrong answer (the control).

No code is run here: the checks are choices, formulas and counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import Status
from tests.ingest.pdfmake import Run, make_pdf, text_page

RIGHT = {
    "choice": "ReLU and Leaky ReLU",
    "variance": "3^{-L} + \\sum_{i=0}^{L-1} \\frac{1}{n_i \\, 3^{L-i}}",
    "naive": "213,504",
}
WRONG = {
    "choice": "ReLU and the sigmoid",
    "variance": "\\sum_{i=0}^{L-1} \\frac{1}{n_i \\, 2^{L-i}}",
    "naive": "213,505",
}
PREAMBLE = """\\documentclass{article}
\\usepackage{amsmath}
\\usepackage{listings}
\\lstnewenvironment{code}{\\lstset{language=Python}}{}
\\begin{document}
"""


def _enumerate(a: dict[str, str]) -> str:
    return (
        PREAMBLE
        + f"""
\\begin{{enumerate}}
\\item Dropout commutes with {a["choice"]}: they are positively homogeneous.
\\item The mean is
\\[ E[y_L] = 0 \\]
and the variance
\\begin{{align*}}
\\mathrm{{Var}}(y_L) &= {a["variance"]}
\\end{{align*}}
\\item See the derivation in class.
\\item
\\begin{{enumerate}}
\\item The plain layer has {a["naive"]} parameters and the STM layer has 78,592 parameters.
\\item The layer is in \\verb|stm.py|.
\\end{{enumerate}}
\\end{{enumerate}}
\\end{{document}}
"""
    )


def _paragraphs(a: dict[str, str]) -> str:
    return (
        PREAMBLE
        + f"""
\\paragraph{{Problem 1}} Dropout commutes with {a["choice"]}.

\\paragraph{{Problem 2}} We have $E[y_L] = 0$, and
\\begin{{align*}}
\\mathrm{{Var}}(y_L) &= \\mathrm{{Var}}(y_{{L-1}})/3 + 1/(3 n_{{L-1}}) \\\\
 &= {a["variance"]}
\\end{{align*}}

\\paragraph{{Problem 4}}
\\textbf{{(a)}} The plain layer has {a["naive"]} parameters and the STM layer has 78,592
parameters.

\\textbf{{(b)}} My code, run with \\verb|python stm.py|:
\\begin{{code}}
x = 1
\\end{{code}}
\\end{{document}}
"""
    )


def _bold(a: dict[str, str]) -> str:
    return (
        PREAMBLE
        + f"""
\\noindent\\textbf{{Problem 1.}} Dropout commutes with {a["choice"]}.

\\noindent\\textbf{{Problem 2.}}
\\begin{{align*}}
E[y_L] &= 0, \\\\
\\mathrm{{Var}}(y_L) &= {a["variance"]}.
\\end{{align*}}

\\noindent\\textbf{{Problem 4.}}

\\textbf{{(a)}} The plain layer has {a["naive"]} parameters and the STM layer has 78,592
parameters.
\\end{{document}}
"""
    )


def _verdicts(folder: Path, select: str, homework: str) -> dict[str, Status]:
    (sub,) = grade([folder], GradeOptions(select=select, homework=homework)).submissions
    return {c.id: c.status for p in sub.problems for c in p.checks if not c.not_run}


@pytest.mark.parametrize("style", [_enumerate, _paragraphs, _bold], ids=lambda f: f.__name__)
@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_hw6_answers_in_the_styles_students_write(
    tmp_path: Path, style: object, right: bool
) -> None:
    assert callable(style)
    (tmp_path / "report.tex").write_text(style(RIGHT if right else WRONG))
    got = _verdicts(tmp_path, "p1 or p2 or p4a", "mfdnn/hw6")
    verdict = Status.PASSED if right else Status.FAILED
    assert got == {
        "equivalent": verdict,
        "mean": Status.PASSED,
        "variance": verdict,
        "params_naive": verdict,
        "params_stm": Status.PASSED,
    }


RELU_RIGHT = [  # the rubric has no left side to go by: the boxed formula is the answer
    "\\mathrm{relu}(\\mathrm{relu}(z)) = \\boxed{\\mathrm{relu}(z)}",
    "\\operatorname{ReLU}(\\operatorname{ReLU}(z)) = \\boxed{\\operatorname{ReLU}(z)}",
    "\\text{ReLU}(\\text{ReLU}(z)) = \\boxed{\\text{ReLU}(z)}",
    "\\mathrm{ReLU}(\\mathrm{ReLU}(z)) = \\boxed{\\max(0, z)}",
    "\\text{ReLU}(\\text{ReLU}(z)) = \\boxed{\\max\\{z, 0\\}}",
]
RELU_WRONG = [
    "\\mathrm{relu}(\\mathrm{relu}(z)) = \\boxed{\\mathrm{relu}(-z)}",
    "\\operatorname{ReLU}(\\operatorname{ReLU}(z)) = \\boxed{\\max(0, z) + 1}",
    "\\text{ReLU}(\\text{ReLU}(z)) = \\boxed{\\min(0, z)}",
]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [(f, Status.PASSED) for f in RELU_RIGHT] + [(f, Status.FAILED) for f in RELU_WRONG],
)
@pytest.mark.parametrize("form", ["tex", "md"])
def test_relu_spellings_read_from_latex_as_from_markdown(
    tmp_path: Path, form: str, formula: str, expected: Status
) -> None:
    """HW3 5a, ReLU(ReLU(z)) simplified: the .tex and a Markdown writeup holding the same
    display math get the same verdict; before, every LaTeX spelling went to a TA."""
    if form == "tex":
        body = f"\\section*{{Problem 5}}\n\\subsection*{{(a)}}\n\\[\n  {formula}\n\\]\n"
        text = PREAMBLE + body + "\\end{document}\n"
        (tmp_path / "report.tex").write_text(text)
    else:
        (tmp_path / "writeup.md").write_text(
            f"# HW3\n\n## Problem 5\n\n### (a)\n\n$$\n{formula}\n$$\n"
        )
    assert _verdicts(tmp_path, "p5a", "mfdnn/hw3") == {"relu_relu": expected}


def test_relu_restated_is_not_simplified(tmp_path: Path) -> None:
    """`\\operatorname{ReLU}(\\operatorname{ReLU}(z))` as the answer restates the question: two
    calls where the rubric allows one, as for `relu(relu(z))` written in plain text."""
    body = "\\section*{Problem 5}\n\\subsection*{(a)}\n"
    body += "\\[ \\boxed{\\operatorname{ReLU}(\\operatorname{ReLU}(z))} \\]\n"
    (tmp_path / "report.tex").write_text(PREAMBLE + body + "\\end{document}\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "answers.toml").write_text('homework = "hw3"\n[p5a]\nrelu_relu = "relu(relu(z))"\n')
    from_tex = _verdicts(tmp_path, "p5a", "mfdnn/hw3")
    assert from_tex == _verdicts(plain, "p5a", "mfdnn/hw3")
    assert from_tex["relu_relu"] is not Status.PASSED


@pytest.mark.parametrize(("naive", "expected"), [("213,504", "passed"), ("213,505", "failed")])
def test_numbered_sections_and_hyphenated_words_in_a_pdf(
    tmp_path: Path, naive: str, expected: str
) -> None:
    """`\\section{Problem 4}` numbered by LaTeX ('2 Problem 4', '2.1 Part a') is problem 4's
    heading, and a count whose word TeX hyphenated ('78,592 parame-' / 'ters.') is a result;
    before, the PDF had no sections and its counts went to a TA."""
    page = [
        Run(72, 700, "1 Problem 1", "F1", 14.4),
        *text_page(["Dropout commutes with ReLU and Leaky ReLU."], top=680, size=10),
        Run(72, 650, "2 Problem 4", "F1", 14.4),
        Run(72, 628, "2.1 Part a", "F1", 12),
        *text_page(
            [
                f"The plain layer has {naive} parameters and the STM layer has 78,592 parame-",
                "ters. Each of the 32 paths has 2,456 of them.",
            ],
            top=610,
            size=10,
        ),
    ]
    (tmp_path / "report.pdf").write_bytes(make_pdf([page]))
    got = _verdicts(tmp_path, "p1 or p4a", "mfdnn/hw6")
    assert got == {
        "equivalent": Status.PASSED,
        "params_naive": Status(expected),
        "params_stm": Status.PASSED,
    }


@pytest.mark.parametrize("separator", ["{,}", "\\,", "\\;", "~", " "])
@pytest.mark.parametrize("math", [True, False], ids=["math", "text"])
@pytest.mark.parametrize(("last", "expected"), [("504", "passed"), ("505", "failed")])
def test_thousands_separators_in_latex(
    tmp_path: Path, separator: str, math: bool, last: str, expected: str
) -> None:
    """`213{,}504`, `213\\,504`, `213\\;504`, `$213~504$`: one count however LaTeX spaces its
    digit groups. `$213~504$` was read as 504: 'not correct', a zero for the right count."""
    count = f"213{separator}{last}"
    stated = f"${count}$" if math else count
    body = "\\section*{Problem 4}\n\\subsection*{(a)}\n"
    body += (
        f"The plain layer has {stated} parameters and the STM layer has 78{{,}}592 parameters.\n"
    )
    (tmp_path / "report.tex").write_text(PREAMBLE + body + "\\end{document}\n")
    got = _verdicts(tmp_path, "p4a", "mfdnn/hw6")
    assert got == {"params_naive": Status(expected), "params_stm": Status.PASSED}


@pytest.mark.parametrize(
    ("cells", "expected"), [(("Yes", "No", "Yes"), "passed"), (("Yes", "Yes", "No"), "failed")]
)
def test_a_choice_answered_in_a_tabular(
    tmp_path: Path, cells: tuple[str, str, str], expected: str
) -> None:
    """HW6 1 as a `tabular` of Yes/No: the right table was read as 'none chosen' (1/3)."""
    rows = "".join(
        f"{name} & {cell} \\\\\n"
        for name, cell in zip(["ReLU", "Sigmoid", "Leaky ReLU"], cells, strict=True)
    )
    body = "\\section*{Problem 1}\n\\begin{tabular}{lc}\nActivation & Equivalent \\\\ \\hline\n"
    (tmp_path / "report.tex").write_text(
        PREAMBLE + body + rows + "\\end{tabular}\n\\end{document}\n"
    )
    assert _verdicts(tmp_path, "p1", "mfdnn/hw6") == {"equivalent": Status(expected)}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("2\\sigma(2z) - 1", "passed"),
        ("2\\sigma\\left(2z\\right) - 1", "passed"),
        ("\\frac{2}{1 + e^{-2z}} - 1 = 2\\sigma(2z) - 1", "passed"),
        ("2\\sigma(z) - 1", "failed"),  # tanh(z/2)
        ("\\sigma(2z) - 1", "failed"),
    ],
)
@pytest.mark.parametrize("form", ["tex", "md"])
def test_sigma_is_the_sigmoid_where_the_rubric_asks_for_it(
    tmp_path: Path, form: str, formula: str, expected: str
) -> None:
    """HW3 5c, tanh in terms of sigmoid (the rubric lists sigmoid among the functions): every
    student writes sigma. It went to a TA ('unknown symbol \\sigma'); now judged, right and
    wrong, from a .tex and from Markdown alike."""
    boxed = f"\\tanh(z) = \\boxed{{{formula}}}"
    if form == "tex":
        body = f"\\section*{{Problem 5}}\n\\subsection*{{(c)}}\n\\[\n  {boxed}\n\\]\n"
        (tmp_path / "report.tex").write_text(PREAMBLE + body + "\\end{document}\n")
    else:
        (tmp_path / "writeup.md").write_text(
            f"# HW3\n\n## Problem 5\n\n### (c)\n\n$$\n{boxed}\n$$\n"
        )
    assert _verdicts(tmp_path, "p5c and tanh", "mfdnn/hw3") == {"tanh": Status(expected)}


def test_sigma_elsewhere_is_not_guessed(tmp_path: Path) -> None:
    """Where the rubric does not name sigmoid (HW2's He initialisation, sigma_l), a sigma call in
    the answer is not read as the sigmoid: for a TA, saying why."""
    body = "\\section*{Question 4}\nSo\n"
    body += "\\[\n  \\sigma_l = \\sigma(2) \\sqrt{\\frac{1}{d_{l-1}}}\n\\]\n"
    (tmp_path / "report.tex").write_text(PREAMBLE + body + "\\end{document}\n")
    (sub,) = grade([tmp_path], GradeOptions(select="q4 and sigma", homework="dl/hw2")).submissions
    (sigma,) = [c for p in sub.problems for c in p.checks if not c.not_run]
    assert sigma.status is Status.PENDING and "unknown symbol \\sigma" in sigma.message


@pytest.mark.parametrize(("naive", "expected"), [("213,504", "passed"), ("213,505", "failed")])
def test_a_bold_label_run_into_its_paragraph_in_a_pdf(
    tmp_path: Path, naive: str, expected: str
) -> None:
    """`\\item[Problem 1] Dropout ...` (a description list), `\\textbf{Problem 4 (a)} The plain
    ...`: the label in bold at the start of a line of text is its heading, as the .tex reader
    reads `\\textbf`. Plain, a long line starting 'Problem 1' was no heading: no sections."""

    def labelled(y: float, label: str, text: str) -> list[Run]:
        return [Run(72, y, label, "F3", 10), Run(72 + 6.5 * len(label), y, text, "F1", 10)]

    page = [
        *labelled(700, "Problem 1", "Dropout commutes with ReLU and Leaky ReLU, not with the"),
        Run(72, 686, "sigmoid, whose value at zero is one half.", "F1", 10),
        *labelled(660, "Problem 4 (a)", f"The plain layer has {naive} parameters and the STM"),
        Run(72, 646, "layer has 78,592 parameters, 32 paths of 2,456 each.", "F1", 10),
    ]
    (tmp_path / "report.pdf").write_bytes(make_pdf([page]))
    assert _verdicts(tmp_path, "p1 or p4a", "mfdnn/hw6") == {
        "equivalent": Status.PASSED,
        "params_naive": Status(expected),
        "params_stm": Status.PASSED,
    }


@pytest.mark.parametrize(
    "stated",
    ["$\\num{213X}$", "\\num{213,X}", "$\\boxed{213X}$", "\\num[group-separator={,}]{213X}"],
)
@pytest.mark.parametrize(("last", "expected"), [("504", "passed"), ("505", "failed")])
def test_a_count_in_a_number_macro(tmp_path: Path, stated: str, last: str, expected: str) -> None:
    """siunitx's `\\num{213504}` and a boxed count: the number inside (they went to a TA)."""
    count = stated.replace("X", last)
    body = "\\section*{Problem 4}\n\\subsection*{(a)}\n"
    body += f"The plain layer has {count} parameters and the STM layer has 78{{,}}592 parameters.\n"
    (tmp_path / "report.tex").write_text(PREAMBLE + body + "\\end{document}\n")
    got = _verdicts(tmp_path, "p4a", "mfdnn/hw6")
    assert got == {"params_naive": Status(expected), "params_stm": Status.PASSED}
