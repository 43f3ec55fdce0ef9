"""What only course staff may see of a homework: hidden checks, TA prompts, reference values.

The student copy of the HTML report (`report.html`) is built without any of it, and a line of a
student page that would state a reference value is withheld whole. Reference values are spelled
as students write them (213504, 213_504, 213,504; 0.0765 to 3 or 4 digits), as the test of the
answer-sheet templates spells them, so a number is caught in any of those forms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from grader.courses import Homework
from grader.reference import load_reference
from grader.rubric import (
    ChoiceCheck,
    ManualCheck,
    NumberCheck,
    RefValue,
    Rubric,
    TableCheck,
    ValuesCheck,
    load_rubric,
)


@dataclass
class StaffOnly:
    """Keyed by (homework, problem, result id) where a check is meant."""

    hidden: set[tuple[str, str, str]] = field(default_factory=set)
    prompts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    values: set[str] = field(default_factory=set)  # reference values as text shows them

    def reveals(self, text: str) -> bool:
        """Whether `text` states a reference value or a TA prompt."""
        if any(prompt and prompt in text for prompt in self.prompts.values()):
            return True
        return any(_shows(text, value) for value in self.values)


def _shows(text: str, value: str) -> bool:
    if value not in text:  # the cheap test first: most lines hold none
        return False
    return re.search(rf"(?<![\d.,_]){re.escape(value)}(?![\d_])", text) is not None


def numbers_in(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in numbers_in(v)]
    return []


def spellings(number: float) -> set[str]:
    """How a value would appear in text; a short one (0.5, 12) is too common to be telling."""
    if not math.isfinite(number) or number == 0:
        return set()
    if number.is_integer():
        n = int(number)
        return {str(n), f"{n:_}", f"{n:,}"} if abs(n) >= 100 else set()
    return {s for s in (f"{number:.{d}g}" for d in (3, 4, 6)) if len(s.lstrip("-0.")) >= 3}


def _expected_values(rubric: Rubric, homework: Homework) -> set[str]:
    reference = load_reference(rubric, homework.reference_root)
    found: set[str] = set()
    for problem in rubric.problems:
        for check in problem.checks:
            if not isinstance(check, NumberCheck | ValuesCheck | TableCheck | ChoiceCheck):
                continue
            expected = check.expected
            if isinstance(expected, RefValue):
                if reference is None:
                    continue
                expected = reference.value(expected)
            if isinstance(check, ChoiceCheck):
                options = sorted(expected) if isinstance(expected, list | set | tuple) else []
                found.add("[" + ", ".join(f'"{o}"' for o in options) + "]")
                found.add(repr(options))
                continue
            found |= {s for n in numbers_in(expected) for s in spellings(n)}
    return found


def staff_only(homeworks: Iterable[Homework]) -> StaffOnly:
    """Everything of these homeworks' rubrics and references a student copy leaves out."""
    staff = StaffOnly()
    for homework in homeworks:
        rubric = load_rubric(homework.rubric_path)
        for problem in rubric.problems:
            for check in problem.checks:
                for part in check.parts():
                    key = (homework.qualified, problem.id, check.part_id(part))
                    if check.visibility == "hidden":
                        staff.hidden.add(key)
                    if isinstance(check, ManualCheck) and check.prompt:
                        staff.prompts[key] = check.prompt
        staff.values |= _expected_values(rubric, homework)
    return staff
