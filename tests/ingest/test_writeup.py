"""Tests for grader.ingest.writeup: code, sections and answers from writeups converted from PDF.

Two kinds of data: the real seeds, copied as-is into tests/data/writeups/seeds/ (000 and 002 are
HW6 writeups, 001 is HW1, 004 is another course's HW2), where each assertion is what a careful TA
reads in the text; and writeups written for these tests in other styles (tests/data/writeups/*),
so the parser is not fitted to the seeds. Expected line numbers are looked up in the files
(`_line_of`) rather than hand-counted, except where a seed's line is the point.
"""

from __future__ import annotations

import ast
import random
import time
from pathlib import Path

import pytest

from grader.ingest import writeup
from grader.ingest.writeup import (
    AssembledSource,
    CodeBlock,
    assemble_class,
    assemble_script,
    detect_homework,
    extract_choices,
    extract_code_blocks,
    extract_number_candidates,
    extract_result_numbers,
    find_sections,
    section_text,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "writeups"
SEEDS = DATA / "seeds"
SEED_000 = SEEDS / "000_15d5dac498a59869.txt"
SEED_001 = SEEDS / "001_e974bf08661550a8.txt"
SEED_002 = SEEDS / "002_49fb73e83455085e.txt"
SEED_004 = SEEDS / "004_a6cb54df6c65d9b2.txt"
P1_OPTIONS = {  # rubrics/mfdnn/hw6.yaml, p1 aliases
    "relu": ["ReLU", "(a)", "a"],
    "sigmoid": ["Sigmoid", "(b)", "b"],
    "leaky_relu": ["LeakyReLU", "leaky relu", "(c)", "c"],
}
DDESCENT_NAMES = ["num_params", "errors_fixed_lambda", "errors_opt_lambda"]
HW6_FINGERPRINTS = {"hw6": ["STMConvLayer", "ddescent", "split-transform-merge"]}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} times"
    return hits[occurrence - 1]


def _sections(text: str) -> dict[str, writeup.Section]:
    return {s.problem: s for s in find_sections(text)}


def _section(text: str, problem: str) -> tuple[str, int]:
    section = _sections(text)[problem]
    return section_text(text, section), section.start_line


def _class_node(assembled: AssembledSource, name: str) -> ast.ClassDef:
    tree = ast.parse(assembled.source)
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def _methods(node: ast.ClassDef) -> list[str]:
    return [n.name for n in node.body if isinstance(n, ast.FunctionDef)]


def _generated_line(assembled: AssembledSource, needle: str) -> int:
    lines = assembled.source.split("\n")
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def _assert_provenance(assembled: AssembledSource, text: str) -> None:
    """Every generated line either was added (0) or is the student's line, verbatim modulo
    indentation and stripped margin numbers."""
    original = text.split("\n")
    for generated, source_line in zip(
        assembled.source.split("\n"), assembled.line_map, strict=False
    ):
        if source_line:
            assert generated.strip() in original[source_line - 1], (generated, source_line)


# --- seed 000 (HW6) -------------------------------------------------------------------------------
def test_seed_000_sections_follow_the_students_headings() -> None:
    sections = _sections(_read(SEED_000))
    assert list(sections) == ["1", "2", "3", "3i", "3ii", "3iii", "4", "4a", "4b", "5"]
    assert (sections["4"].start_line, sections["4a"].start_line, sections["4b"].start_line) == (
        79,
        81,
        97,
    )
    assert sections["4a"].end_line < sections["4b"].start_line <= sections["4"].end_line
    assert sections["5"].end_line == 233


def test_seed_000_class_keeps_forward_nested_in_init() -> None:
    """000's real bug: `def forward` is indented inside `__init__`. It must stay a bug."""
    text = _read(SEED_000)
    assembled = assemble_class(extract_code_blocks(text), "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    node = _class_node(assembled, "STMConvLayer")
    assert _methods(node) == ["__init__"]
    init = node.body[0]
    assert isinstance(init, ast.FunctionDef)
    assert [n.name for n in init.body if isinstance(n, ast.FunctionDef)] == ["forward"]
    # imports were never pasted: the grader adds them, with line 0
    assert assembled.source.startswith("import torch\nimport torch.nn as nn\n")
    assert assembled.line_map[:2] == (0, 0)
    assert assembled.original_line(_generated_line(assembled, "class STMConvLayer")) == 100
    assert assembled.original_line(_generated_line(assembled, "def forward")) == 114
    _assert_provenance(assembled, text)


def test_seed_000_printed_model_is_not_code_of_the_class() -> None:
    blocks = extract_code_blocks(_read(SEED_000))
    printed = [b for b in blocks if b.first_line == 126]
    assert printed and printed[0].kind == "fenced"
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None and "ModuleList(\n    (0-31)" not in assembled.source


def test_seed_000_ddescent_joined_with_a_warning_about_the_page_break() -> None:
    """The listing is cut inside `for p in num_params :` and resumes at column 0: joined as
    written (no guessing), with a note a TA can act on."""
    text = _read(SEED_000)
    script = assemble_script(extract_code_blocks(text), DDESCENT_NAMES)
    assert script is not None and script.syntax_error is None
    assert script.original_line(1) == _line_of(text, "import matplotlib.pyplot as plt")
    assert script.original_line(_generated_line(script, "X_val_transformed =")) == 190
    assert any("inside `for p in num_params :`" in note for note in script.notes)
    _assert_provenance(script, text)


def test_seed_000_p2_mean_and_variance_are_located() -> None:
    """(The variance converts and is numerically wrong: tests/ingest/test_latex.py.)"""
    from grader.ingest.latex import MEAN, VARIANCE, find_final_formula

    text, first = _section(_read(SEED_000), "2")
    assert find_final_formula(text, MEAN, first) == ("0", 41)
    variance = find_final_formula(text, VARIANCE, first)
    assert variance is not None and variance[1] == 49


def test_seed_000_p1_choices_are_relu_and_leaky_relu() -> None:
    text, _ = _section(_read(SEED_000), "1")
    chosen, confidence = extract_choices(text, P1_OPTIONS)
    assert chosen == {"relu", "leaky_relu"}
    assert confidence >= 0.75


def test_seed_000_p4a_numbers() -> None:
    text, first = _section(_read(SEED_000), "4a")
    values = [v for v, _ in extract_number_candidates(text, first)]
    assert 213504 in values and 78592 in values
    assert extract_result_numbers(text, first) == [(213504, 89), (2456, 93), (78592, 95)]
    # the kernel-size squares 1^2 and 3^2 are superscripts, not candidates
    assert 9 not in values and 2 not in values


def test_seed_000_homework_from_the_title_not_from_cited_homeworks() -> None:
    """000 cites "HW4-6" and "HW4" in the body; the title "HW 6" decides."""
    assert detect_homework(_read(SEED_000)) == ("hw6", 0.9)


# --- seed 002 (HW6, Korean, margin-numbered listing) ----------------------------------------------
def test_seed_002_sections_including_lettered_parts() -> None:
    sections = _sections(_read(SEED_002))
    assert list(sections) == ["1", "2", "3", "4", "4a", "4b", "5"]
    assert sections["4a"].title == "Parameter Count" and sections["4b"].title == "Implement"


def test_seed_002_ddescent_listing_joined_across_the_page_break() -> None:
    text = _read(SEED_002)
    blocks = extract_code_blocks(text)
    listings = [b for b in blocks if b.kind == "numbered"]
    assert len(listings) == 1
    listing = listings[0]
    assert listing.context == "ddescent.py x"  # the editor tab, not code
    code = [c for _, c in listing.lines]
    assert code[0] == "import matplotlib.pyplot as plt"  # margin number stripped
    assert "    L=[]" in code  # indentation after the margin number kept
    # margin 70 appears on both pages (blank both times): once in the result
    assert listing.lines[-1][0] == _line_of(text, "93 plt.show()")
    assert len(code) == 93  # margins 1..93; the 70 repeated at the top of the page dropped
    assert text.count("\n70\n") == 2
    script = assemble_script(blocks, DDESCENT_NAMES)
    assert script is not None and script.syntax_error is None
    tree = ast.parse(script.source)
    assigned = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    assert set(DDESCENT_NAMES) <= assigned
    assert script.original_line(_generated_line(script, "Step 3 : Plot")) == _line_of(
        text, "72 Step 3 : Plot"
    )
    assert not any(line.split(" ", 1)[0].isdigit() for line in script.source.split("\n") if line)
    _assert_provenance(script, text)


def test_seed_002_prose_code_found_but_class_not_rebuilt() -> None:
    """#4(b) pastes statements as paragraphs under '(init >' and 'forward >'. The `for` loop's
    body cannot be told from the lines after it, so no class is guessed (a TA grades it)."""
    text = _read(SEED_002)
    blocks = extract_code_blocks(text)
    prose = [b for b in blocks if b.kind == "prose"]
    assert [b.context for b in prose] == ["* (init \\>", "* forward \\>"]
    assert [c for _, c in prose[0].lines] == [
        "self.convlayers1 = nn.ModuleList([nn.Conv2d(256, 4, 1) for i in range(32)])",
        "self.convlayers2 = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for i in range(32)])",
        "self.convlayers3 = nn.ModuleList([nn.Conv2d(4, 256, 1) for i in range(32)])",
    ]
    assert prose[1].lines[0] == (118, "answer = torch.zeros(x.size())")
    assert all("forward" not in c and "init" not in c for b in prose for _, c in b.lines)
    assert assemble_class(blocks, "STMConvLayer") is None


def test_seed_002_p4a_numbers() -> None:
    text, first = _section(_read(SEED_002), "4a")
    values = [v for v, _ in extract_number_candidates(text, first)]
    assert 213504 in values and 78592 in values
    assert extract_result_numbers(text, first) == [(213504, 100), (78592, 104)]


def test_seed_002_choices_right_but_not_confident() -> None:
    text, _ = _section(_read(SEED_002), "1")
    chosen, confidence = extract_choices(text, P1_OPTIONS)
    assert chosen == {"relu", "leaky_relu"}
    assert confidence < 0.75  # garbled Korean conversion, sigmoid's verdict unreadable


def test_seed_002_homework_only_from_content() -> None:
    text = _read(SEED_002)
    assert detect_homework(text) == (None, 0.0)
    guess, confidence = detect_homework(text, HW6_FINGERPRINTS | {"hw2": ["VGG"]})
    assert guess == "hw6" and 0.5 <= confidence < 0.9


# --- seeds 001 (HW1) and 004 (other course) -------------------------------------------------------
def test_seed_001_class_cut_after_its_header_is_reindented() -> None:
    """001's `class MLP(nn.Module):` ends a page; the next page starts `def __init__` at column
    0. A method taking `self` belongs to the class that was cut: re-indented, and noted."""
    text = _read(SEED_001)
    assembled = assemble_class(extract_code_blocks(text), "MLP")
    assert assembled is not None and assembled.syntax_error is None
    assert _methods(_class_node(assembled, "MLP")) == ["__init__", "forward"]
    assert "model = MLP()" not in assembled.source
    assert any("re-indented by 4 spaces" in note for note in assembled.notes)
    assert assembled.original_line(_generated_line(assembled, "def forward")) == 190
    assert "from torch import nn, optim" in assembled.source  # the student's import binds nn
    assert "sklearn" not in assembled.source  # imports the class does not need are left out


def test_seed_004_question_headings_and_numbered_subparts() -> None:
    sections = _sections(_read(SEED_004))
    assert [p for p in sections if "." not in p and not p[-1].isalpha()] == list("123456")
    assert sections["6"].title == "VGG Architecture"
    assert sections["2.2"].title == "Perform backward pass, and calculate the gradients"
    assert [p for p in sections if p.startswith("3")] == ["3", "3a", "3b", "3c"]
    assert detect_homework(_read(SEED_004)) == ("hw2", 0.9)


def test_seed_004_vgg_total_is_read() -> None:
    """The table itself is read by grader.judges.tabular (tests/test_tables.py)."""
    text = _read(SEED_004)
    total, first = _section(text, "6.2")
    assert extract_result_numbers(total, first) == [(132_863_336, _line_of(text, "Sum of"))]


# --- writeups in other styles ---------------------------------------------------------------------
def test_question_style_writeup() -> None:
    """'### Question N – ...', '**Part (a)**', an indented class using a helper class from a
    fence and a constant from a one-line indented block, spaced thousands."""
    text = _read(DATA / "question_style.md")
    sections = _sections(text)
    assert list(sections) == ["1", "2", "4", "4a", "4b"]
    assert sections["4"].end_line == _line_of(text, "NUM_PATHS = 32")  # '## References' ends it
    blocks = extract_code_blocks(text)
    assert [b.kind for b in blocks] == ["fenced", "indented", "indented"]
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    tree = ast.parse(assembled.source)
    defined = [
        getattr(n, "name", None) or n.targets[0].id
        for n in tree.body
        if not isinstance(n, ast.Import)
    ]  # type: ignore[attr-defined]
    assert defined == ["Path", "NUM_PATHS", "STMConvLayer"]
    assert "import torch.nn.functional as F" in assembled.source  # used by Path, not imported
    _assert_provenance(assembled, text)
    chosen, confidence = extract_choices(_section(text, "1")[0], P1_OPTIONS)
    assert chosen == {"relu", "leaky_relu"} and confidence >= 0.75
    part_a, first = _section(text, "4a")
    assert [v for v, _ in extract_result_numbers(part_a, first)] == [213504, 78592]


def test_plain_text_writeup_with_unicode_math_and_pasted_methods() -> None:
    """'Problem N.' headings, 'a)'/'b)' parts, unicode math, 'all except sigmoid', and method
    bodies pasted as prose under '__init__:' / 'forward:' with no loops: rebuilt, noted."""
    text = _read(DATA / "plain_unicode.txt")
    assert list(_sections(text)) == ["1", "2", "4", "4a", "4b"]
    chosen, confidence = extract_choices(_section(text, "1")[0], P1_OPTIONS)
    assert chosen == {"relu", "leaky_relu"} and confidence >= 0.75
    part_a, first = _section(text, "4a")
    assert [v for v, _ in extract_result_numbers(part_a, first)] == [213504, 78592]
    blocks = extract_code_blocks(text)
    assert [b.kind for b in blocks] == ["prose", "prose"]  # 'Mean: E[y_L] = 0.' is not code
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    assert _methods(_class_node(assembled, "STMConvLayer")) == ["__init__", "forward"]
    assert any("added by the grader" in note for note in assembled.notes)
    assert assembled.original_line(_generated_line(assembled, "return torch.stack")) == _line_of(
        text, "return torch.stack"
    )
    assert assembled.original_line(_generated_line(assembled, "def forward")) == 0


def test_inline_code_writeup_with_a_class_split_over_three_fences() -> None:
    """'**Q1.**' headings, answers in inline code, a class cut mid-statement (open bracket) and
    again before `def forward` (resumed at column 0), and a printed-output block."""
    text = _read(DATA / "inline_code.md")
    sections = _sections(text)
    assert list(sections) == ["1", "2", "4", "4a", "4b"]
    assert extract_choices(section_text(text, sections["1"]), P1_OPTIONS)[0] == {
        "relu",
        "leaky_relu",
    }
    blocks = extract_code_blocks(text)
    assert len(blocks) == 2  # three fences joined into one, and the printed model
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    assert _methods(_class_node(assembled, "STMConvLayer")) == ["__init__", "forward"]
    assert any("page break" in note for note in assembled.notes)
    assert extract_result_numbers(*_section(text, "4a")) == [(213504, 7), (78592, 7)]


def test_margin_numbered_listing_outside_fences_with_a_page_footer() -> None:
    """'#4', '(a)', '(b)'; a listing typed with margin numbers, cut by 'Page 3 of 5' and resumed
    with its last line repeated; thousands written 213{,}504."""
    text = _read(DATA / "numbered_listing.md")
    assert list(_sections(text)) == ["1", "2", "4", "4a", "4b"]
    (block,) = extract_code_blocks(text)
    assert block.kind == "numbered" and block.context == "stm.py"
    assert sum("nn.Conv2d(256, 4, 1)" in c for _, c in block.lines) == 1
    assembled = assemble_class([block], "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    assert "Page 3" not in assembled.source
    assert "                nn.Conv2d(4, 4, 3, padding=1)" in assembled.source  # 16 spaces
    _assert_provenance(assembled, text)
    part_a, first = _section(text, "4a")
    assert [v for v, _ in extract_result_numbers(part_a, first)] == [213504, 78592]
    chosen, _ = extract_choices(_section(text, "1")[0], P1_OPTIONS)
    assert chosen == {"relu", "leaky_relu"}


def test_a_writeup_with_nothing_recognisable() -> None:
    text = _read(DATA / "nothing.txt")
    assert find_sections(text) == []
    assert extract_code_blocks(text) == []
    assert detect_homework(text) == (None, 0.0)
    assert detect_homework(text, HW6_FINGERPRINTS) == (None, 0.0)
    assert extract_choices(text, P1_OPTIONS) == (set(), 0.0)
    assert extract_result_numbers(text) == []
    assert assemble_class([], "STMConvLayer") is None
    assert assemble_script([], DDESCENT_NAMES) is None


# --- focused behaviours -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("## 1", "1"),
        ("#1. Dropout", "1"),
        ("# 4", "4"),
        ("#4", "4"),
        ("### Question 6 – VGG", "6"),
        ("Problem 4", "4"),
        ("**Problem 2:** *Default init.*", "2"),
        ("Problem 4(b): code", "4b"),
        ("## 4(b)", "4b"),
        ("Q3.", "3"),
        ("Exercise 5 -", "5"),
    ],
)
def test_heading_styles(line: str, problem: str) -> None:
    sections = find_sections(f"intro\n\n{line}\n\nanswer text\n")
    assert problem in [s.problem for s in sections]
    assert next(s for s in sections if s.problem == problem).start_line == 3


def test_prose_mentioning_problems_is_not_a_heading() -> None:
    text = (
        "## 1\n\nFrom problem 6-(a) in HW4 we know this.\n"
        "Problem 2 asks us to compute a long thing here.\n"
    )
    assert [s.problem for s in find_sections(text)] == ["1"]


def test_page_numbers_do_not_become_problems() -> None:
    """A bare number must exceed the last problem number: page '2' inside problem 3 is ignored."""
    text = "3\n\nfirst page of problem three\n\n2\n\nmore of problem three\n\n4\n\nproblem four\n"
    assert [(s.problem, s.start_line) for s in find_sections(text)] == [("3", 1), ("4", 9)]


def test_subparts_must_run_in_order() -> None:
    text = "## 2\n\na\n\nfirst\n\nb\n\nsecond\n\na\n\nnot a restart\n"
    assert [s.problem for s in find_sections(text)] == ["2", "2a", "2b"]


def test_numbers_separators_and_masking() -> None:
    text = "\n".join(
        [
            "We get 213,504 and 78 592 and 213{,}504 and 1.5 \\times 10^{-3}.",
            "$n_{10} + x^{2} = 7 \\quad (1)$$",
            "See [1]; HW6 has conv1 and layer 3.",
            "1. a list item with -4.5",
        ]
    )
    found = extract_number_candidates(text, 10)
    values = [v for v, _ in found]
    assert values[:6] == [213504, 78592, 78, 592, 213504, 0.0015]
    assert (7.0, 11) in found
    assert 10 not in values and 2 not in values and 1 not in values and 6 not in values
    assert 3 in values and -4.5 in values


def test_result_numbers_need_an_equals_sign_or_a_count() -> None:
    text = "\n".join(
        [
            "Layer: (128 \\times 1^2 \\times 256 + 128) = 32,896",
            "so 5 + 3 = 8 \\times 2",
            "= 2456 parameters",
        ]
    )
    assert extract_result_numbers(text) == [(32896, 1), (2456, 3)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("ReLU and LeakyReLU are equivalent, sigmoid is not.", {"relu", "leaky_relu"}),
        ("All except sigmoid are equivalent.", {"relu", "leaky_relu"}),
        (
            "The swap doesn't hold for sigmoid. It holds for ReLU and Leaky ReLU.",
            {"relu", "leaky_relu"},
        ),
        ("Only ReLU commutes with dropout.", {"relu"}),
        ("Answer: (a), (c)", {"relu", "leaky_relu"}),
        ("Answer: a, b, c", {"relu", "sigmoid", "leaky_relu"}),
        ("None of them are equivalent: ReLU, sigmoid and LeakyReLU all differ.", set()),
        (
            "For sigmoid, ReLU and leaky_relu the two orders are the same.",
            {"relu", "sigmoid", "leaky_relu"},
        ),
    ],
)
def test_choices_in_prose(sentence: str, expected: set[str]) -> None:
    chosen, confidence = extract_choices(sentence, P1_OPTIONS)
    assert chosen == expected
    assert 0.0 < confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An answer line is read for what it chooses, not for the options it names.
        ("Answer: all except sigmoid.", {"relu", "leaky_relu"}),
        ("Answer: all but (b)", {"relu", "leaky_relu"}),
        ("Answer: not sigmoid", {"relu", "leaky_relu"}),
        ("Answer: ReLU and LeakyReLU, but not sigmoid.", {"relu", "leaky_relu"}),
        ("Final answer: none of them except ReLU", {"relu"}),
        ("Answer: all except ReLU.", {"sigmoid", "leaky_relu"}),
        ("Answer: all three are equivalent.", {"relu", "sigmoid", "leaky_relu"}),
        ("Answer: none", set()),
        ("Answer: a and c", {"relu", "leaky_relu"}),
        ("Answer: ReLU as well as LeakyReLU", {"relu", "leaky_relu"}),
        # the reason after the choice is not read as more options
        ("Answer: (a) and (c), since sigmoid(0) = 1/2.", {"relu", "leaky_relu"}),
        # an answer line under a heading, in the same paragraph
        ("## Problem 1\nAnswer: (a) and (c)", {"relu", "leaky_relu"}),
        ("**Problem 1.**\nAnswer: all except sigmoid", {"relu", "leaky_relu"}),
    ],
)
def test_answer_lines_are_read_as_choices(text: str, expected: set[str]) -> None:
    chosen, confidence = extract_choices(text, P1_OPTIONS)
    assert chosen == expected
    assert confidence >= 0.75  # sources.CHOICE_CONFIDENCE: graded automatically


def test_an_answer_line_that_cannot_be_read_is_not_a_confident_verdict() -> None:
    """'Answer:' followed by words the reader does not know: no strong vote from the line (it
    used to choose every option the line named, sigmoid in a reason included)."""
    _, confidence = extract_choices(
        "Answer: (a) works, and (c) probably, sigmoid(0) = 1/2 though.", P1_OPTIONS
    )
    assert confidence < 0.75


def test_choices_without_any_verdict_are_unsure() -> None:
    assert extract_choices("I tried ReLU, sigmoid and LeakyReLU in my notebook.", P1_OPTIONS) == (
        set(),
        0.0,
    )
    assert extract_choices("an article: a dog", P1_OPTIONS) == (set(), 0.0)  # bare 'a' no option


def test_prose_lines_never_become_code() -> None:
    text = "\n".join(
        [
            "Activation = Sigmoid",
            "",
            "Loss = MSE (Mean Squared Error)",
            "",
            "Thus",
            "",
            "4",
            "",
            "Figure(1) shows the loss.",
            "",
            "Mean: E[y_L] = 0.",
        ]
    )
    assert extract_code_blocks(text) == []


def test_indented_prose_is_not_code_but_indented_code_is() -> None:
    text = (
        "Intro:\n\n    This is an indented quote\n    that is not code.\n\n"
        "Code:\n\n    x = torch.zeros(3)\n    y = x + 1\n"
    )
    (block,) = extract_code_blocks(text)
    assert block.kind == "indented" and block.lines == ((8, "x = torch.zeros(3)"), (9, "y = x + 1"))


def test_unclosed_fence_and_fence_info_strings() -> None:
    text = "~~~python title=a.py\nimport torch\n~~~\n\n```py\nclass A(nn.Module):\n    pass\n"
    blocks = extract_code_blocks(text)
    assert [(b.info, b.first_line, b.last_line) for b in blocks] == [
        ("python title=a.py", 2, 2),
        ("py", 6, 7),
    ]


def test_near_miss_class_name_is_graded_with_a_note() -> None:
    blocks = [CodeBlock(((5, "class STMConv(nn.Module):"), (6, "    pass")), "fenced")]
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None and assembled.name == "STMConv"
    assert any("near-miss" in note for note in assembled.notes)
    assert assemble_class(blocks, "Unrelated") is None


def test_student_syntax_error_is_reported_not_repaired() -> None:
    blocks = [
        CodeBlock(
            (
                (3, "class STMConvLayer(nn.Module):"),
                (4, "    def __init__(self)"),
                (5, "        pass"),
            ),
            "fenced",
        )
    ]
    assembled = assemble_class(blocks, "STMConvLayer")
    assert assembled is not None
    assert assembled.syntax_error is not None and "writeup line 4" in assembled.syntax_error


def test_script_pulls_in_the_set_up_and_the_plots_but_not_other_code() -> None:
    blocks = [
        CodeBlock(((1, "import numpy as np"), (2, "X = np.ones(3)")), "cell"),
        CodeBlock(((5, "class Unused(nn.Module):"), (6, "    pass")), "cell"),
        CodeBlock(((9, "num_params = [1, 2]"), (10, "errors = [x * 2 for x in X]")), "cell"),
        CodeBlock(((12, "plt.plot(num_params, errors)"),), "cell"),
        CodeBlock(((15, "print('unrelated')"),), "cell"),
    ]
    script = assemble_script(blocks, ["num_params", "errors"])
    assert script is not None and script.syntax_error is None
    assert "class Unused" not in script.source and "unrelated" not in script.source
    assert script.source.startswith("import matplotlib.pyplot as plt\n")  # plt never imported
    assert [n for n in script.line_map if n] == [1, 2, 9, 10, 12]
    assert assemble_script(blocks, ["never_assigned"]) is None


# --- totality -----------------------------------------------------------------------------------
_NASTY = [
    "",
    "\x00\x01\x02",
    "(" * 50_000,
    "```\n" * 5_000,
    "1," * 50_000,
    "111 " * 20_000 + "1111",
    "$" * 50_000,
    "## 1\n" * 5_000,
    "a\n\n" * 5_000,
    "\t\tclass X:\n" * 2_000,
    "\r\n".join(f"{i} x = {i}" for i in range(1, 5_000)),
    "self.a = f(\n" * 3_000,
    "ReLU is not equivalent, but " * 5_000,
]


@pytest.mark.parametrize("text", _NASTY, ids=range(len(_NASTY)))
def test_every_function_is_total_on_nasty_input(text: str) -> None:
    start = time.perf_counter()
    blocks = extract_code_blocks(text)
    assemble_class(blocks, "X")
    assemble_script(blocks, ["x"])
    find_sections(text)
    detect_homework(text, HW6_FINGERPRINTS)
    extract_number_candidates(text)
    extract_result_numbers(text)
    extract_choices(text, P1_OPTIONS)
    assert time.perf_counter() - start < 10


def test_random_garbage_and_wrong_types() -> None:
    rng = random.Random(1)
    pieces = [
        "```", "\n", "    ", "class A(nn.Module):", "def f(self):", "1 ", "## 2", "(b)", "$", "=",
        "213,504", "sigmoid is not", "é", "\t", "\\frac",
    ]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        blocks = extract_code_blocks(text)
        assemble_class(blocks, "A")
        assemble_script(blocks, ["x"])
        find_sections(text)
        extract_choices(text, P1_OPTIONS)
    for bad in (None, 3, b"bytes"):
        assert extract_code_blocks(bad) == []  # type: ignore[arg-type]
        assert find_sections(bad) == []  # type: ignore[arg-type]
        assert detect_homework(bad) == (None, 0.0)  # type: ignore[arg-type]
        assert extract_choices(bad, P1_OPTIONS) == (set(), 0.0)  # type: ignore[arg-type]
    assert assemble_class([], "not an identifier") is None


@pytest.mark.slow
def test_a_huge_writeup_is_cut_and_processed_in_bounded_time() -> None:
    text = _read(SEED_000) * 400  # about 5 MB, more than MAX_TEXT_CHARS
    start = time.perf_counter()
    blocks = extract_code_blocks(text)
    find_sections(text)
    extract_number_candidates(text)
    assert blocks and blocks[-1].last_line <= len(text[: writeup.MAX_TEXT_CHARS].split("\n"))
    assert time.perf_counter() - start < 60


def test_a_count_wrapped_onto_the_next_line_is_still_a_count() -> None:
    """A PDF (or a hard-wrapped text) can break a paragraph after the number: '... that is
    213,504' / 'parameters.' stated the count, and the intermediate '= 2456' after it was read
    as the first result instead (a wrong verdict)."""
    text = "\n".join(
        [
            "The plain layer has (a) parameters, that is 213,504",
            "parameters. Each path has (x) = 2456,",
            "so the STM layer has 78,592 parameters.",
        ]
    )
    assert extract_result_numbers(text) == [(213504, 1), (2456, 2), (78592, 3)]


CHOICE_TABLES = {
    "pipe": "| Activation | Equivalent |\n|---|---|\n| ReLU | {a} |\n| Sigmoid | {b} |\n"
    "| Leaky ReLU | {c} |",
    "pipe across": "| | ReLU | Sigmoid | Leaky ReLU |\n|---|---|---|---|\n"
    "| Equivalent? | {a} | {b} | {c} |",
    "tabular (.tex)": "Activation\tEquivalent\nReLU\t{a}\nSigmoid\t{b}\nLeaky ReLU\t{c}",
    "tabular across": "ReLU\tSigmoid\tLeaky ReLU\n{a}\t{b}\t{c}",
    "pdf": "Activation Equivalent\nReLU {a}\nSigmoid {b}\nLeaky ReLU {c}",
    "list": "- ReLU: {a}\n- Sigmoid: {b}\n- Leaky ReLU: {c}",
    "letters": "(a) ReLU — {a}\n(b) Sigmoid — {b}\n(c) Leaky ReLU — {c}",
}


_CHOICE_CELLS = [
    (("Yes", "No", "Yes"), {"relu", "leaky_relu"}),
    (("✓", "✗", "✓"), {"relu", "leaky_relu"}),
    (("yes, homogeneous", "no, since sigma(0) = 1/2", "yes"), {"relu", "leaky_relu"}),
    (("Yes", "Yes", "No"), {"relu", "sigmoid"}),  # the control: a wrong table
]


@pytest.mark.parametrize(
    ("layout", "cells", "expected"),
    [
        (layout, cells, expected)
        for layout in CHOICE_TABLES
        for cells, expected in _CHOICE_CELLS
        if "across" not in layout or "," not in "".join(cells)  # a reason across: not cells
    ],
)
def test_choices_stated_in_a_table(
    layout: str, cells: tuple[str, str, str], expected: set[str]
) -> None:
    """A verdict per option in a table (Markdown, LaTeX tabular down or across, a PDF's rows,
    a list): read per row. Before, the table said nothing the prose reader knew and the answer
    read as 'none chosen' with confidence (the pipe table across): a zero for a right answer."""
    text = CHOICE_TABLES[layout].format(a=cells[0], b=cells[1], c=cells[2])
    chosen, confidence = extract_choices(text, P1_OPTIONS)
    assert chosen == expected, text
    assert confidence >= 0.75


def test_a_table_that_leaves_an_option_unread_is_not_confident() -> None:
    """A cell the reader does not know ('depends') is not 'not chosen': below the confidence
    that grades automatically, so a TA decides."""
    text = "| Activation | Equivalent |\n|---|---|\n| ReLU | Yes |\n| Sigmoid | No |\n"
    text += "| Leaky ReLU | depends on the slope |"
    _, confidence = extract_choices(text, P1_OPTIONS)
    assert confidence < 0.75


@pytest.mark.parametrize(
    "line", ["# Homework 4, problem 7", "# HW4 Problem 7", "## P7", "**P7**", "## HW 4 - Problem 7"]
)
def test_a_problem_heading_after_the_homeworks_number_or_as_p7(line: str) -> None:
    sections = find_sections(f"{line}\n\nC3_layer has 1,516 parameters.\n")
    assert [s.problem for s in sections] == ["7"], line


@pytest.mark.parametrize("line", ["p7 is the smallest", "# Homework 4", "## Part 2"])
def test_no_problem_heading_in_prose_or_a_bare_title(line: str) -> None:
    assert not [s for s in find_sections(f"{line}\n\ntext\n") if s.problem == "7"]
