"""The `table` check kind (grader/tables.py) on HW2 q6, the VGG-11 layer table.

The verdicts asserted are a careful TA's:
- seed 004 (tests/data/hw2-q6/seed-004, the real writeup copied unchanged): every conv, pool and
  FC cell is right (checked against the reference network, not against the seed); its optional
  SOFTMAX row says output dimension 1, the truth is 1000 (a probability per class): one wrong
  cell, 31/32 of the table's points. The total 132,863,336 and the share 0.9306 -> 93.06% are
  right.
- the same table in other styles (a markdown pipe table with channels-first shapes, a row-number
  column, other spellings, a Dropout row and a Total row; an answer-sheet array; aligned columns)
  earns full credit.
- each typical mistake is named in the feedback and costs only its own cells.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from grader.courses import homework_at
from grader.ingest.submission import ingest
from grader.judges.context import GradingContext
from grader.judges.kinds import judge
from grader.judges.number import parse_number
from grader.judges.tabular import (
    Layer,
    StudentTable,
    align,
    find_table,
    grade_table,
    parse_count,
    parse_layer,
    parse_shape,
    table_from_sheet,
)
from grader.reference import load_reference
from grader.results import CheckResult, Status
from grader.rubric import TableCheck, load_rubric

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "hw2-q6"
RUBRIC = load_rubric(ROOT / "rubrics" / "dl" / "hw2.yaml")
Q6 = RUBRIC.problem("q6")
TABLE = Q6.checks[0]
assert isinstance(TABLE, TableCheck)
REFERENCE = load_reference(RUBRIC, homework_at(ROOT / "rubrics" / "dl" / "hw2.yaml").reference_root)
assert REFERENCE is not None
EXPECTED: list[dict[str, Any]] = REFERENCE.value(TABLE.expected)


def _seed_rows() -> list[list[str]]:
    """The seed's table as it is written (tab-separated), header dropped."""
    text = (DATA / "seed-004" / "writeup.txt").read_text()
    rows = [line.split("\t") for line in text.splitlines() if line.count("\t") == 2]
    assert rows[0] == ["Layer", "Output Dimension", "Number of parameters"]
    return rows[1:]


def _grade_rows(rows: list[list[Any]]) -> CheckResult:
    table = table_from_sheet(rows, TABLE)
    assert isinstance(table, StudentTable), table
    return grade_table(TABLE, None, table, EXPECTED, None)


def _fixed_seed() -> list[list[str]]:
    """The seed with its one mistake (SOFTMAX output 1) corrected."""
    return [[n, "1000" if n == "SOFTMAX" else o, c] for n, o, c in _seed_rows()]


def _grade_folder(folder: Path) -> dict[str, CheckResult]:
    sub = ingest(folder)
    ctx = GradingContext(submission=sub, rubric=RUBRIC, reference=REFERENCE, observer=None)  # type: ignore[arg-type]
    return {c.id: judge(Q6, c, None, ctx) for c in Q6.checks}


# --- the seed, as a TA grades it ------------------------------------------------------------------
def test_seed_004_q6_verdicts() -> None:
    results = _grade_folder(DATA / "seed-004")
    table = results["table"]
    assert table.status is Status.FAILED
    assert table.score == pytest.approx(6 * 31 / 32)
    assert "32/32 cells right, 1 deducted" in table.message
    assert "SOFTMAX" in table.message and "output 1 ✗ (expected 1000)" in table.message
    assert table.details[0].startswith("table read from writeup.txt:183 (26 rows)")
    assert results["total"].status is Status.PASSED
    assert "132,863,336 is correct" in results["total"].message
    assert results["fc_share"].status is Status.PASSED


def test_seed_cells_agree_with_the_reference_row_by_row() -> None:
    """Independent of the judge: every conv/pool/FC row of the seed equals the reference's."""
    graded = [r for r in EXPECTED if r["layer"] != "RELU"]
    seed = [r for r in _seed_rows() if r[0] != "RELU"]
    assert len(seed) == len(graded)
    for (name, output, count), truth in zip(seed, graded, strict=True):
        assert parse_layer(name) == parse_layer(truth["layer"])
        if name != "SOFTMAX":
            assert parse_shape(output) == tuple(d for d in truth["output"] if d != 1)
            assert int(count) == truth["parameters"]


# --- the same table in other styles -------------------------------------------------------------
def test_markdown_report_in_another_style_earns_full_credit() -> None:
    results = _grade_folder(DATA / "markdown")
    assert results["table"].status is Status.PASSED, results["table"]
    assert any("Dropout" in d and "not graded" in d for d in results["table"].details)
    assert results["total"].status is Status.PASSED
    assert results["fc_share"].status is Status.PASSED  # "FC share = 93.06%"


def test_answer_sheet_table_without_relu_rows(tmp_path: Path) -> None:
    rows = [
        [name, output, int(count)]
        for name, output, count in _fixed_seed()
        if name not in ("RELU", "INPUT")
    ]
    body = ",\n".join(f'  ["{n}", "{o}", {c}]' for n, o, c in rows)
    (tmp_path / "answers.toml").write_text(
        f'homework = "hw2"\n\n[q6]\ntable = [\n{body}\n]\n'
        'total = "132,863,336"\nfc_share = "93.06%"\n'
    )
    results = _grade_folder(tmp_path)
    assert {k: r.status for k, r in results.items()} == dict.fromkeys(results, Status.PASSED)
    assert results["table"].score == 6


def _restyled(rows: list[list[str]]) -> list[list[Any]]:
    spell = {"CONV3": "conv3_{}", "POOL2": "maxpool", "POOL": "Pool", "FC": "fc {}"}
    out: list[list[Any]] = []
    for name, output, count in rows:
        kind, _, width = name.partition("-")
        new = spell.get(kind, name.title()).format(width)
        dims = output.split("x")
        shape = f"({', '.join(dims)})" if len(dims) == 3 else f"1x1x{output}"
        out.append([new, shape, f"{int(count):,}"])
    return out


def test_other_spellings_shapes_and_separators_pass() -> None:
    result = _grade_rows(_restyled(_fixed_seed()))
    assert result.status is Status.PASSED, result.details


def test_aligned_columns_writeup_passes() -> None:
    lines = ["Layer         Output          Parameters"]
    lines += [f"{n:<12}  {o:<14}  {c}" for n, o, c in _fixed_seed()]
    found = find_table("\n".join(lines), 10, TABLE)
    assert isinstance(found, StudentTable), found
    assert found.lines[0] == 11
    assert grade_table(TABLE, None, found, EXPECTED, None).status is Status.PASSED


@pytest.mark.parametrize(
    ("spelling", "layer"),
    [
        ("CONV3-64", Layer("conv", 64)),
        ("conv3_64", Layer("conv", 64)),
        ("Conv 3x3, 64", Layer("conv", 64)),
        ("conv3-64", Layer("conv", 64)),
        ("Conv3 64", Layer("conv", 64)),
        ("Conv2d(3, 64, 3)", Layer("conv", 64)),
        ("conv3_1", Layer("conv", None)),  # Caffe's block_layer naming: width not stated
        ("POOL2", Layer("pool")),
        ("maxpool", Layer("pool")),
        ("Pool", Layer("pool")),
        ("FC-4096", Layer("fc", 4096)),
        ("fc 4096", Layer("fc", 4096)),
        ("Linear(4096)", Layer("fc", 4096)),
        ("Linear(25088, 4096)", Layer("fc", 4096)),
        ("ReLU", Layer("relu")),
        ("INPUT", Layer("input")),
        ("SOFTMAX", Layer("softmax")),
        ("Total", None),
    ],
)
def test_layer_spellings(spelling: str, layer: Layer | None) -> None:
    assert parse_layer(spelling) == layer


@pytest.mark.parametrize(
    ("cell", "dims"),
    [
        ("224x224x64", (224, 224, 64)),
        ("224 × 224 × 64", (224, 224, 64)),
        ("(224, 224, 64)", (224, 224, 64)),
        ("$224 \\times 224 \\times 64$", (224, 224, 64)),
        ("4096", (4096,)),
        ("1x1x4096", (4096,)),
        ("(N, 4096)", (4096,)),
        ("4,096", (4096,)),
        ([7, 7, 512], (7, 7, 512)),
        ("same as before", None),
    ],
)
def test_shape_spellings(cell: Any, dims: tuple[int, ...] | None) -> None:
    assert parse_shape(cell) == dims


@pytest.mark.parametrize(
    ("cell", "truth", "right"),
    [
        ("1,792", 1792, True),
        ("1 792", 1792, True),
        ("3*3*3*64 + 64", 1792, True),
        ("(3x3x3+1)x64 = 1792", 1792, True),
        ("-", 0, True),
        ("102.76M", 102_764_544, True),
        ("102.7M", 102_764_544, False),  # the truth rounds to 102.8M
        ("1728", 1792, False),
    ],
)
def test_count_spellings(cell: str, truth: int, right: bool) -> None:
    count = parse_count(cell)
    assert count is not None and count.right(truth) is right


@pytest.mark.parametrize("cell", ["2K", "0M", "0.0M", "1e8", "0.1B", "2 million"])
def test_counts_abbreviated_to_one_digit_are_for_a_ta(cell: str) -> None:
    """At one significant digit '2K' is 1,792 and '1e8' is 102,764,544: too coarse to judge."""
    assert parse_count(cell) is None


@pytest.mark.parametrize(
    ("row", "cells"),
    [
        (
            {"name": "CONV3-64", "input_size": "224x224x3", "output_size": "224x224x64", "p": 1},
            ("CONV3-64", "224x224x64", None),
        ),
        (
            {"layer": "CONV3-64", "kernel_size": 3, "output": "224x224x64", "params": 1792},
            ("CONV3-64", "224x224x64", 1792),
        ),
        (
            {"layer": "FC-4096", "activation": "relu", "output": 4096, "params": 102764544},
            ("FC-4096", 4096, 102764544),
        ),
    ],
)
def test_rows_given_as_tables_take_the_right_keys(row: dict[str, Any], cells: tuple) -> None:
    from grader.judges.tabular import _from_mapping

    assert _from_mapping(row, list(RUBRIC.problem("q6").checks[0].columns)) == cells


# --- typical mistakes, each named and costing only its own cells -------------------------------
def _with(rows: list[list[str]], name: str, nth: int, column: int, value: str) -> list[list[str]]:
    hits = [i for i, r in enumerate(rows) if r[0] == name]
    out = [list(r) for r in rows]
    out[hits[nth]][column] = value
    return out


def test_conv_counts_without_bias() -> None:
    rows = [
        [n, o, str(int(c) - int(n.split("-")[1])) if n.startswith("CONV") else c]
        for n, o, c in _fixed_seed()
    ]
    result = _grade_rows(rows)
    assert result.status is Status.FAILED
    assert result.score == pytest.approx(6 * 24 / 32)
    assert "parameters 1728 ✗ (expected 1,792)" in result.message


def test_first_fc_counted_as_4096_by_4096() -> None:
    result = _grade_rows(_with(_fixed_seed(), "FC-4096", 0, 2, "16781312"))
    assert result.score == pytest.approx(6 * 31 / 32)
    assert "FC-4096" in result.message
    assert "parameters 16781312 ✗ (expected 102,764,544)" in result.message


def test_pool_not_halving() -> None:
    result = _grade_rows(_with(_fixed_seed(), "POOL2", 0, 1, "224x224x64"))
    assert "output 224x224x64 ✗ (expected 112x112x64)" in result.message
    assert result.score == pytest.approx(6 * 31 / 32)


def test_missing_row_costs_only_that_row() -> None:
    rows = _fixed_seed()
    first_256 = next(i for i, r in enumerate(rows) if r[0] == "CONV3-256")
    result = _grade_rows(rows[:first_256] + rows[first_256 + 1 :])
    assert "missing row CONV3-256 (56x56x256, 295,168) ✗" in result.message
    assert result.score == pytest.approx(6 * 30 / 32)


def test_extra_row_is_named_and_deducted() -> None:
    rows = _fixed_seed()
    at = next(i for i, r in enumerate(rows) if r[0] == "FC-1000")
    result = _grade_rows([*rows[:at], ["FC-4096", "4096", "16781312"], *rows[at:]])
    assert "extra row, not in the network" in result.message
    assert result.score == pytest.approx(6 * 30 / 32)


def test_swapped_rows_are_out_of_order() -> None:
    rows = _fixed_seed()
    at = next(i for i, r in enumerate(rows) if r[0] == "CONV3-128")
    rows[at - 1], rows[at] = rows[at], rows[at - 1]  # CONV3-128 before the first POOL2
    result = _grade_rows(rows)
    assert "out of order" in result.message
    assert result.status is Status.FAILED and result.score == pytest.approx(6 * 31 / 32)


def test_alignment_skips_optional_rows_freely() -> None:
    student = [Layer("conv", 64), Layer("pool")]
    reference = [Layer("input"), Layer("conv", 64), Layer("relu"), Layer("pool")]
    pairs = align(student, reference, {"input", "relu"})
    assert [(p.ref, p.student) for p in pairs] == [(0, None), (1, 0), (2, None), (3, 1)]


# --- doubt is pending, never failed -------------------------------------------------------------
def test_unreadable_cell_makes_the_check_pending() -> None:
    result = _grade_rows(_with(_fixed_seed(), "CONV3-64", 0, 1, "same as input, 64 maps"))
    assert result.status is Status.PENDING and result.score == 0
    assert "could not be read with confidence" in result.message


def test_writeup_without_a_table_is_pending(tmp_path: Path) -> None:
    text = (DATA / "seed-004" / "writeup.txt").read_text()
    (tmp_path / "writeup.txt").write_text(re.sub(r"^.*\t.*\n", "", text, flags=re.M))
    result = _grade_folder(tmp_path)["table"]
    assert result.status is Status.PENDING
    assert "no table of layers" in result.message


def test_sheet_rows_of_the_wrong_width_are_named(tmp_path: Path) -> None:
    shutil.copy(DATA / "seed-004" / "writeup.txt", tmp_path / "notes.txt")
    (tmp_path / "answers.toml").write_text('homework = "hw2"\n[q6]\ntable = [["CONV3-64", 1792]]\n')
    result = _grade_folder(tmp_path)["table"]
    assert result.status is Status.FAILED
    assert "row 1 has 2 cells; each row needs 3" in result.message


# --- the share ----------------------------------------------------------------------------------
def test_percent_numbers() -> None:
    assert parse_number("93.06%") == pytest.approx(0.9306)
    assert parse_number("93.06 \\%") == pytest.approx(0.9306)
    assert parse_number("132,863,336") == 132_863_336


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("0.9306", Status.PASSED),
        ('"93.06%"', Status.PASSED),
        ("93.06", Status.PASSED),  # a share cannot exceed 1: a percent
        ('"93%"', Status.PASSED),
        ("0.8", Status.FAILED),
        ('"80.1%"', Status.FAILED),
    ],
)
def test_share_answers(tmp_path: Path, written: str, status: Status) -> None:
    (tmp_path / "answers.toml").write_text(f'homework = "hw2"\n[q6]\nfc_share = {written}\n')
    assert _grade_folder(tmp_path)["fc_share"].status is status


# --- blank cells: optional rows state nothing, a blank zero is for a TA ---------------------------
def test_a_relu_row_with_its_count_left_blank_costs_nothing() -> None:
    """PDF tables often leave a ReLU row's parameter cell empty: that states nothing (like leaving
    the row out), not a wrong count of 0 parameters."""
    rows = [[n, o, "" if n == "RELU" else c] for n, o, c in _fixed_seed()]
    result = _grade_rows(rows)
    assert result.status is Status.PASSED and result.score == pytest.approx(6), result.details
    # control: a wrong count written in the same optional row still costs its cell
    wrong = _with(rows, "RELU", 0, 2, "64")
    assert _grade_rows(wrong).score == pytest.approx(6 * 31 / 32)


def test_a_blank_count_where_zero_is_expected_goes_to_a_ta() -> None:
    rows = _with(_fixed_seed(), "POOL2", 0, 2, "")  # "no parameters" or not answered?
    result = _grade_rows(rows)
    assert result.status is Status.PENDING and result.score == 0
    assert any("parameters left blank" in d for d in result.details)
    # control: a blank count where parameters exist is a missing answer, as before
    missing = _grade_rows(_with(_fixed_seed(), "CONV3-64", 0, 2, ""))
    assert missing.status is Status.FAILED
    assert "parameters missing ✗ (expected 1,792)" in missing.message


@pytest.mark.parametrize(
    "name", ["2 x CONV3-512", "2× CONV3-512", "CONV3-512 x2", "CONV3-512 (×2)"]
)
def test_one_row_for_repeated_layers_goes_to_a_ta(name: str) -> None:
    """It used to read as one CONV3-512, with the second marked missing (2 cells lost)."""
    rows = _fixed_seed()
    first, second = [i for i, r in enumerate(rows) if r[0] == "CONV3-512"][:2]
    assert all(r[0] == "RELU" for r in rows[first + 1 : second])
    merged = [
        *rows[:first],
        [name, *rows[first][1:]],
        *rows[first + 1 : second],
        *rows[second + 1 :],
    ]
    result = _grade_rows(merged)
    assert result.status is Status.PENDING, result.message
    assert any("repeated layers" in line for line in result.details), result.details


@pytest.mark.parametrize("name", ["Conv 3x3, 512", "conv3x3-512", "CONV3-512"])
def test_a_kernel_size_is_not_a_repeat(name: str) -> None:
    rows = _fixed_seed()
    at = next(i for i, r in enumerate(rows) if r[0] == "CONV3-512")
    rows[at][0] = name
    assert _grade_rows(rows).status is Status.PASSED
