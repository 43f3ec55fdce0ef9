"""What students are shown never gives an answer away: the answer-sheet templates and README.

The answers are derived here from each demo homework's reference (its `{ref: ...}` values and
literal expected values), never typed in, so a new homework or a changed reference is covered.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from grader.courses import load_catalog
from grader.reference import load_reference
from grader.rubric import ChoiceCheck, NumberCheck, RefValue, TableCheck, ValuesCheck, load_rubric
from grader.template import answer_template

ROOT = Path(__file__).resolve().parents[2]
HOMEWORKS = load_catalog().homeworks


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


def _spellings(number: float) -> set[str]:
    """How an answer would appear in text: 213504, 213_504, 213,504; 0.0765 at 3 or 4 digits."""
    if number.is_integer():
        n = int(number)
        return {str(n), f"{n:_}", f"{n:,}"} if abs(n) >= 100 else set()
    if number == 0 or not math.isfinite(number):
        return set()
    # at the digits students write; a short value (0.5) is too common a number to be telling
    return {s for s in (f"{number:.{d}g}" for d in (3, 4)) if len(s.lstrip("-0.")) >= 3}


def _answers(homework: Any) -> tuple[set[str], list[list[str]]]:
    rubric = load_rubric(homework.rubric_path)
    reference = load_reference(rubric, homework.reference_root)
    assert reference is not None, homework.qualified
    numbers: set[str] = set()
    choices: list[list[str]] = []
    for problem in rubric.problems:
        for check in problem.checks:
            if not isinstance(check, NumberCheck | ValuesCheck | TableCheck | ChoiceCheck):
                continue
            expected = check.expected
            value = reference.value(expected) if isinstance(expected, RefValue) else expected
            if isinstance(check, ChoiceCheck):
                choices.append(sorted(value))
            elif isinstance(check, TableCheck):  # the layer counts of the table, not its names
                numbers |= {s for row in value for n in _numbers(row) for s in _spellings(n)}
            else:
                numbers |= {s for n in _numbers(value) for s in _spellings(n)}
    return numbers, choices


def _shown(text: str, numbers: set[str], choices: list[list[str]]) -> list[str]:
    found = [n for n in numbers if re.search(rf"(?<![\d.,_]){re.escape(n)}(?![\d_])", text)]
    for options in choices:
        listed = "[" + ", ".join(f'"{o}"' for o in options) + "]"
        if listed in text:
            found.append(listed)
    return found


@pytest.mark.parametrize("homework", HOMEWORKS, ids=lambda h: h.qualified)
def test_the_answer_sheet_template_gives_no_answer(homework: Any) -> None:
    numbers, choices = _answers(homework)
    if not (numbers or choices):
        pytest.skip(f"{homework.qualified} has no number, choice or table answers")
    template = answer_template(load_rubric(homework.rubric_path), homework.course)
    body = "\n".join(line for line in template.splitlines() if "choose any of" not in line)
    assert _shown(body, numbers, choices) == []


@pytest.mark.parametrize("homework", HOMEWORKS, ids=lambda h: h.qualified)
def test_the_readme_gives_no_answer(homework: Any) -> None:
    numbers, choices = _answers(homework)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _shown(readme, numbers, choices) == []


def test_the_search_finds_an_answer_where_there_is_one() -> None:
    """The check above can fail: the old README example held HW6 p4a's count."""
    (hw6,) = [h for h in HOMEWORKS if h.qualified == "mfdnn/hw6"]
    numbers, choices = _answers(hw6)
    assert _shown("params_naive = 213504", numbers, choices) == ["213504"]
    assert _shown('equivalent = ["leaky_relu", "relu"]', numbers, choices) != []
