"""Tests for grader.template: the blank answer sheet generated from a rubric."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from grader.rubric import Rubric, answer_key, load_rubric
from grader.template import answer_template

ROOT = Path(__file__).resolve().parent.parent


def _rubric(problems: list[dict[str, object]]) -> Rubric:
    return Rubric.model_validate(
        {"schema_version": 1, "homework": "hwx", "title": "HW X", "problems": problems}
    )


def _number(check_id: str, **extra: object) -> dict[str, object]:
    return {"id": check_id, "kind": "number", "points": 1, "expected": 1, **extra}


def _filled(sheet: str) -> dict[str, object]:
    """The sheet with every example line uncommented, as a student would fill it in."""
    return tomllib.loads(re.sub(r"^# (\w+ = )", r"\1", sheet, flags=re.MULTILINE))


def _keys(rubric: Rubric) -> list[str]:
    keyed = {"number", "choice", "formula"}
    return [answer_key(p, c) for p in rubric.problems for c in p.checks if c.kind in keyed]


def _flat(data: dict[str, object], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            keys += _flat(value, f"{prefix}{key}.")
        elif key != "homework" or prefix:
            keys.append(f"{prefix}{key}")
    return keys


def test_hw6_template_parses_and_fills_to_the_rubric_keys() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    sheet = answer_template(rubric)
    assert tomllib.loads(sheet)["homework"] == "hw6"
    assert sorted(_flat(_filled(sheet))) == sorted(_keys(rubric))
    assert "[p3]" not in sheet and "[p5]" not in sheet, "manual-only problems have no keys"
    assert '"relu", "sigmoid", "leaky_relu"' in sheet
    assert "L, n[0..L-1]" in sheet
    assert "(3 points)" in sheet


def test_the_example_values_have_the_right_types() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    filled = _filled(answer_template(rubric))
    assert filled["p1"] == {"equivalent": []}
    assert filled["p2"] == {"mean": "", "variance": ""}
    assert filled["p4a"] == {"params_naive": 0, "params_stm": 0}


def test_custom_answer_key_in_its_own_problem_section() -> None:
    rubric = _rubric(
        [{"id": "q1", "points": 1, "checks": [_number("count", answer="part1.total")]}]
    )
    sheet = answer_template(rubric)
    assert "[part1]" in sheet
    assert _flat(_filled(sheet)) == ["part1.total"]


def test_checks_of_one_problem_with_different_sections() -> None:
    rubric = _rubric(
        [
            {
                "id": "q1",
                "points": 2,
                "checks": [_number("a"), _number("b", answer="extra.b")],
            }
        ]
    )
    assert sorted(_flat(_filled(answer_template(rubric)))) == ["extra.b", "q1.a"]


def test_top_level_answer_key() -> None:
    rubric = _rubric([{"id": "q1", "points": 1, "checks": [_number("a", answer="total")]}])
    assert _flat(_filled(answer_template(rubric))) == ["total"]
