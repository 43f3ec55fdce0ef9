"""The mfdnn course's rubrics against their references: what `grade check` verifies (every
`ref:`, reference class and function resolves, variants differ, custom checks import)."""

from __future__ import annotations

import pytest

from grader.authoring import check_homework
from grader.courses import Homework, load_catalog

MFDNN = [h for h in load_catalog().homeworks if h.course == "mfdnn"]


def test_the_course_has_its_homeworks() -> None:
    assert [h.id for h in MFDNN] == ["hw2", "hw3", "hw4", "hw6"]


@pytest.mark.parametrize("homework", MFDNN, ids=lambda h: h.id)
def test_every_rubric_checks_against_its_reference(homework: Homework) -> None:
    found = check_homework(homework)
    assert found.problems == []
