"""Tests for grader.rubric: the HW6 rubric loads, and broken rubrics are reported precisely.

Each invalid rubric is the real `rubrics/mfdnn/hw6.yaml` with one targeted edit, written to
`tmp_path`,
so every test exercises the same document an instructor edits. Line numbers in the expectations
are looked up in the edited text (`_line_of`), never typed in, so a change to the rubric's layout
does not silently turn a test into one that checks the wrong line.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.errors import RubricError
from grader.rubric import (
    SCHEMA_VERSION,
    ChoiceCheck,
    FormulaCheck,
    ManualCheck,
    ModuleCheck,
    NumberCheck,
    RefValue,
    Rubric,
    answer_key,
    load_rubric,
)

ROOT = Path(__file__).resolve().parent.parent
HW6 = ROOT / "rubrics" / "mfdnn" / "hw6.yaml"
HW6_TEXT = HW6.read_text(encoding="utf-8")


def _edit(old: str, new: str, text: str = HW6_TEXT) -> str:
    """Replace exactly one occurrence, so an edit can never silently miss the rubric."""
    assert text.count(old) == 1, f"edit target {old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} times"
    return hits[occurrence - 1]


def _problems(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    path = tmp_path / "hw6.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert info.value.path == path
    assert str(path) in str(info.value), "the message must name the rubric file"
    return path, info.value.problems


def _loc(problem_id: str, check_id: str | None = None) -> str:
    """Pydantic's location of a problem (or check) in hw6.yaml, e.g. 'problems.4.checks.1'.

    Computed from the raw YAML so the tests keep working when checks are added or reordered.
    """
    problems = yaml.safe_load(HW6_TEXT)["problems"]
    index = [p["id"] for p in problems].index(problem_id)
    if check_id is None:
        return f"problems.{index}"
    checks = [c["id"] for c in problems[index]["checks"]]
    return f"problems.{index}.checks.{checks.index(check_id)}"


def _reported_line(problem: str) -> int | None:
    match = re.match(r"line (\d+): ", problem)
    return int(match.group(1)) if match else None


# --- the real rubric --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric(HW6)


def test_hw6_rubric_loads(rubric: Rubric) -> None:
    assert rubric.schema_version == SCHEMA_VERSION
    assert rubric.homework == "hw6"
    assert rubric.reference == "hw6"
    assert [p.id for p in rubric.problems] == ["p1", "p2", "p3", "p4a", "p4b", "p5"]
    raw = yaml.safe_load(HW6_TEXT)["problems"]
    assert rubric.max_score == sum(c["points"] for p in raw for c in p["checks"])
    kinds = {type(c) for p in rubric.problems for c in p.checks}
    assert kinds >= {ChoiceCheck, FormulaCheck, ManualCheck, NumberCheck, ModuleCheck}
    assert any(c.kind == "module" for c in rubric.problem("p4b").checks)
    with pytest.raises(KeyError):
        rubric.problem("p9")


def test_hw6_answer_keys(rubric: Rubric) -> None:
    keys = [
        answer_key(p, c)
        for p in rubric.problems
        for c in p.checks
        if isinstance(c, NumberCheck | ChoiceCheck | FormulaCheck)
    ]
    assert keys == [
        "p1.equivalent",
        "p2.mean",
        "p2.variance",
        "p4a.params_naive",
        "p4a.params_stm",
    ]


def test_hw6_formula_checks_share_the_anchored_widths(rubric: Rubric) -> None:
    """The YAML anchor `&widths` must give both p2 checks the same L and n[0..L-1]."""
    mean, variance = rubric.problem("p2").checks
    assert isinstance(mean, FormulaCheck) and isinstance(variance, FormulaCheck)
    assert mean.variables == variance.variables
    assert set(mean.variables) == {"L", "n"}
    assert mean.variables["n"].kind == "int_list"


def test_hw6_module_aspects_add_up(rubric: Rubric) -> None:
    (check,) = [c for c in rubric.problem("p4b").checks if isinstance(c, ModuleCheck)]
    assert sum(check.aspects.values()) == check.points == 8
    assert [v.args for v in check.variants] == [{"final_relu": False}, {"final_relu": True}]


def _refs(node: Any) -> list[str]:
    """Every `ref:` value anywhere in the raw YAML (not through the models, to catch extras)."""
    if isinstance(node, dict):
        found = [node["ref"]] if isinstance(node.get("ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_ref_names_a_callable_in_reference_hw6() -> None:
    module = importlib.import_module("reference.mfdnn.hw6")
    refs = _refs(yaml.safe_load(HW6_TEXT))
    assert set(refs) == {
        "p1_equivalent",
        "p2_mean",
        "p2_variance",
        "p4a_params_naive",
        "p4a_params_stm",
    }
    for ref in refs:
        assert callable(getattr(module, ref, None)), f"reference.mfdnn.hw6 has no callable {ref!r}"


def _conv_params(c_in: int, c_out: int, k: int) -> int:
    """Weights plus one bias per output channel of a Conv2d."""
    return c_in * c_out * k * k + c_out


def test_number_check_references_equal_an_independent_count(rubric: Rubric) -> None:
    """The reference counts real modules; here the count comes from the conv shapes alone."""
    naive = _conv_params(256, 128, 1) + _conv_params(128, 128, 3) + _conv_params(128, 256, 1)
    one_path = _conv_params(256, 4, 1) + _conv_params(4, 4, 3) + _conv_params(4, 256, 1)
    independent = {"params_naive": naive, "params_stm": 32 * one_path}
    assert independent == {"params_naive": 213_504, "params_stm": 78_592}

    module = importlib.import_module("reference.mfdnn.hw6")
    numbers = [c for p in rubric.problems for c in p.checks if isinstance(c, NumberCheck)]
    assert {c.id for c in numbers} == set(independent)
    for check in numbers:
        assert isinstance(check.expected, RefValue)
        value = getattr(module, check.expected.ref)(**check.expected.args)
        assert value == independent[check.id], check.id


# --- invalid rubrics --------------------------------------------------------------------------


def test_wrong_type_names_line_and_field(tmp_path: Path) -> None:
    text = _edit("    points: 3\n    checks:", "    points: three\n    checks:")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(f"line {_line_of(text, 'points: three')}: {_loc('p1')}.points: ")
    assert "number" in problems[0]


def test_negative_points(tmp_path: Path) -> None:
    text = _edit(
        "        points: 1\n        expected: {ref: p4a_params_naive}",
        "        points: -1\n        expected: {ref: p4a_params_naive}",
    )
    _, problems = _problems(tmp_path, text)
    assert problems == [
        f"line {_line_of(text, 'points: -1')}: {_loc('p4a', 'params_naive')}.points: "
        "Input should be greater than or equal to 0"
    ]


def test_negative_tolerance(tmp_path: Path) -> None:
    text = _edit(
        "        expected: {ref: p4a_params_stm}",
        "        expected: {ref: p4a_params_stm}\n        atol: -0.5",
    )
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    where = f"line {_line_of(text, 'atol: -0.5')}: {_loc('p4a', 'params_stm')}.atol: "
    assert problems[0].startswith(where)


def test_unknown_kind_names_the_check_and_the_kind(tmp_path: Path) -> None:
    text = _edit("kind: manual\n        points: 6", "kind: essay\n        points: 6")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    (problem,) = problems
    # The check starts at `- id: derivation`; its `kind:` is the next line. Either points the
    # instructor at the right check; the message must say which kind was not recognised.
    start = _line_of(text, "- id: derivation")
    assert _reported_line(problem) in (start, start + 1)
    assert f"{_loc('p3', 'derivation')}:" in problem
    assert "'essay'" in problem and "'kind'" in problem and "'manual'" in problem


def test_problem_points_not_adding_up(tmp_path: Path) -> None:
    text = _edit("    points: 2\n    checks:", "    points: 3\n    checks:")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(f"line {_line_of(text, '- id: p4a')}: {_loc('p4a')}: ")
    assert "checks add up to 2 points, but the problem says 3" in problems[0]


def test_module_aspects_not_adding_up(tmp_path: Path) -> None:
    text = _edit("equivalence: 3", "equivalence: 2")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    where = f"line {_line_of(text, '- id: stm')}: {_loc('p4b', 'stm')}: "
    assert problems[0].startswith(where)
    assert "aspect points add up to 7, but points is 8" in problems[0]


def test_module_inputs_and_output_shapes_mismatch(tmp_path: Path) -> None:
    text = _edit(
        "output_shapes: [[2, 256, 8, 8], [1, 256, 5, 7]]", "output_shapes: [[2, 256, 8, 8]]"
    )
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert f"{_loc('p4b', 'stm')}: " in problems[0]
    assert "inputs and output_shapes" in problems[0]


def test_int_list_length_naming_a_missing_variable(tmp_path: Path) -> None:
    """The anchored `variables` are shared by both p2 checks, so both are reported."""
    text = _edit("length: L,", "length: M,")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 2
    for index, check_id in enumerate(("mean", "variance")):
        line = _line_of(text, f"- id: {check_id}")
        assert problems[index].startswith(f"line {line}: {_loc('p2', check_id)}: ")
        assert "variable 'n': length 'M' is not an int var" in problems[index]


def test_int_list_length_naming_a_float_variable(tmp_path: Path) -> None:
    text = _edit("L: {kind: int, low: 1, high: 8}", "L: {kind: float, low: 1, high: 8}")
    _, problems = _problems(tmp_path, text)
    assert problems and all("length 'L' is not an int var" in p for p in problems)


def _variance_with(options: str) -> str:
    """hw6.yaml with `options` (YAML lines of the check) added to the p2 variance formula."""
    return _edit(
        "        expected: {ref: p2_variance}\n",
        f"        {options}\n        expected: {{ref: p2_variance}}\n",
    )


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ("functions: [sum, sigmod]", "functions: unknown function(s) sigmod; the evaluator knows"),
        ("max_calls: {Sum: 1}", "max_calls: unknown function(s) Sum"),
        ("must_call: [tanh, sigmoidd]", "must_call: unknown function(s) sigmoidd"),
        (
            "functions: [sum, range]\n        must_call: [sigmoid]",
            "must_call: sigmoid not in functions",
        ),
        ("functions: [sum, range]\n        max_calls: {exp: 1}", "max_calls: exp not in functions"),
        ("must_call: [sum]\n        max_calls: {sum: 0}", "forbid a required call"),
        ("must_call: [sum, range]\n        max_total_calls: 1", "forbid a required call"),
    ],
)
def test_formula_function_options_are_checked(tmp_path: Path, options: str, fragment: str) -> None:
    """A misspelt or contradictory function option would fail every student's answer when
    grading; it is the rubric's error, reported at the check."""
    text = _variance_with(options)
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        f"line {_line_of(text, '- id: variance')}: {_loc('p2', 'variance')}: "
    )
    assert fragment in problems[0]


@pytest.mark.parametrize("options", ["max_calls: {sum: -1}", "max_total_calls: -1"])
def test_negative_call_limits(tmp_path: Path, options: str) -> None:
    text = _variance_with(options)
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1 and "greater than or equal to 0" in problems[0]


def test_formula_function_options_that_can_be_met_load(tmp_path: Path) -> None:
    options = (
        "functions: [sum, range, sigmoid]\n        must_call: [sum]\n        max_total_calls: 2"
    )
    text = _variance_with(options)
    path = tmp_path / "hw6.yaml"
    path.write_text(text, encoding="utf-8")
    variance = load_rubric(path).problem("p2").checks[1]
    assert isinstance(variance, FormulaCheck)
    assert (variance.must_call, variance.max_total_calls) == (["sum"], 2)


def test_hw1_formula_checks_require_and_limit_calls() -> None:
    """5a: one call in all (a restatement needs two); 5c: sigmoid must be called."""
    hw1 = load_rubric(ROOT / "tests" / "data" / "hw1-course" / "hw3.yaml")
    (relu_relu,) = hw1.problem("p5a").checks
    tanh = hw1.problem("p5c").checks[0]
    assert isinstance(relu_relu, FormulaCheck) and isinstance(tanh, FormulaCheck)
    assert relu_relu.max_total_calls == 1 and relu_relu.must_call == []
    assert tanh.must_call == ["sigmoid"] and tanh.functions == ["sigmoid"]


def test_duplicate_check_ids_are_reported(tmp_path: Path) -> None:
    text = _edit("- id: params_stm", "- id: params_naive")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert "duplicate check id(s) 'params_naive' in problem p4a" in problems[0]
    assert f"(first used at line {_line_of(text, '- id: params_naive')})" in problems[0]


def test_duplicate_check_id_names_the_id_and_its_line(tmp_path: Path) -> None:
    text = _edit("- id: params_stm", "- id: params_naive")
    _, problems = _problems(tmp_path, text)
    assert "params_naive" in problems[0]
    assert _reported_line(problems[0]) == _line_of(text, "- id: params_naive", 2)


def test_duplicate_problem_ids_name_the_id_and_its_line(tmp_path: Path) -> None:
    text = _edit("- id: p5", "- id: p1")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert "p1" in problems[0]
    assert _reported_line(problems[0]) == _line_of(text, "- id: p1", 2)


def test_duplicate_problem_ids_are_reported(tmp_path: Path) -> None:
    text = _edit("- id: p5", "- id: p1")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert "duplicate problem id(s)" in problems[0]


def test_bad_schema_version_is_reported(tmp_path: Path) -> None:
    text = _edit("schema_version: 1", "schema_version: 2")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert _reported_line(problems[0]) == _line_of(text, "schema_version: 2")
    assert "schema_version 2 is not supported" in problems[0]
    assert f"version {SCHEMA_VERSION}" in problems[0]


def test_bad_schema_version_points_at_its_own_line(tmp_path: Path) -> None:
    text = _edit("schema_version: 1\nhomework: hw6\n", "homework: hw6\nschema_version: 2\n")
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].startswith(f"line {_line_of(text, 'schema_version: 2')}: schema_version")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = _edit("title: Homework 6\n", "title: Homework: 6\n")
    _, problems = _problems(tmp_path, text)
    # libyaml says "...not allowed in this context", the pure-Python parser "...allowed here".
    assert len(problems) == 1
    assert problems[0].startswith(
        f"line {_line_of(text, 'title: Homework: 6')}: not valid YAML: "
        "mapping values are not allowed"
    )


def test_unknown_field_is_reported_at_its_line(tmp_path: Path) -> None:
    text = _edit("misnamed_penalty: 0.5", "misnamed_penalty: 0.5\n        penalty: 1")
    _, problems = _problems(tmp_path, text)
    assert problems == [
        f"line {_line_of(text, 'penalty: 1')}: {_loc('p4b', 'stm')}.penalty: "
        "Extra inputs are not permitted"
    ]


def test_missing_field_is_reported_at_the_check(tmp_path: Path) -> None:
    text = _edit("        symbol: STMConvLayer\n", "")
    _, problems = _problems(tmp_path, text)
    assert problems == [
        f"line {_line_of(text, '- id: stm')}: {_loc('p4b', 'stm')}.symbol: Field required"
    ]


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    text = _edit("equivalence: 3", "equivalence: 2")
    text = _edit("    points: 3\n    checks:", "    points: three\n    checks:", text)
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 2


@pytest.mark.parametrize("text", ["", "- a\n- b\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    _, problems = _problems(tmp_path, text)
    assert len(problems) == 1
    assert "(top level)" in problems[0]


def test_unreadable_rubric(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RubricError) as info:
        load_rubric(missing)
    assert info.value.problems[0].startswith("cannot read")


_COMPARE_RUN = """schema_version: 1
homework: hw9
title: t
problems:
  - id: p1
    points: 2
    checks:
      - {id: run, kind: script, points: 1, file: train.py, globals: [theta], reads: {data: [X]},
         analysis: observe, reference: run, aspects: {runs: 1}}
      - id: step
        kind: compare_run
        points: 1
        run: RUN
        reference: run
        compare: {theta: {names: [NAMES]}}
"""


@pytest.mark.parametrize(
    ("run", "names", "fragment"),
    [
        ("nothing", "theta", "run 'nothing' is not a script check of problem p1"),
        ("step", "theta", "run 'step' is not a script check"),
        ("run", "weights", "step.theta: weights not observed by run"),
    ],
)
def test_compare_run_must_read_an_observed_script_run(
    tmp_path: Path, run: str, names: str, fragment: str
) -> None:
    text = _COMPARE_RUN.replace("RUN", run).replace("NAMES", names)
    _, problems = _problems(tmp_path, text)
    assert any(fragment in p for p in problems), problems


def test_compare_run_reading_observed_globals_loads(tmp_path: Path) -> None:
    path = tmp_path / "hw9.yaml"
    path.write_text(_COMPARE_RUN.replace("RUN", "run").replace("NAMES", "theta, X"))
    check = load_rubric(path).problem("p1").checks[1]
    assert check.kind == "compare_run"
    assert check.reference_names() == ["run"]


def test_compare_run_replays_are_bounded(tmp_path: Path) -> None:
    axis = "[" + ", ".join(f"{{args: {{k: {i}}}}}" for i in range(30)) + "]"
    text = _COMPARE_RUN.replace("RUN", "run").replace("NAMES", "theta")
    text += f"        variants: {{a: {axis}, b: {axis}}}\n"
    _, problems = _problems(tmp_path, text)
    assert any("900 replays of the reference" in p for p in problems), problems
