"""Per-check visibility (issue 18): hidden checks and their expected values reach no
student-facing output, and a students' copy does not run them.

A small course is written to tmp_path (number and manual checks only, so no sandbox starts): a
hidden number check whose expected value is distinctive, a default (answer: not confirmable) one
and a manual check. It is graded as the TA grades (with the reference) and as a student does
(without it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.reference import GRADING_TIME
from grader.report.exports import feedback_markdown, gradescope_results
from grader.results import Status
from grader.rubric import load_rubric

HIDDEN_ANSWER = 918273  # distinctive: no other text of the course holds it
HIDDEN_FORMS = ("918273", "918,273", "918_273")  # as messages may write it
HIDDEN_ID = "secretcount"
RUBRIC = f"""
schema_version: 1
homework: hwv
title: Visibility
reference: hwv
problems:
  - id: q1
    points: 3
    checks:
      - {{id: {HIDDEN_ID}, kind: number, points: 1, expected: {{ref: secret}}, visibility: hidden}}
      - {{id: shown, kind: number, points: 1, expected: {{ref: shown}}}}
      - {{id: confirm, kind: number, points: 1, expected: 7, visibility: public}}
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    rubrics = tmp_path / "course"
    rubrics.mkdir()
    (rubrics / "course.yaml").write_text("id: vis\ntitle: V\nreference: ../ref\n")
    (rubrics / "hwv.yaml").write_text(RUBRIC)
    ref = tmp_path / "ref" / "hwv"
    ref.mkdir(parents=True)
    (ref / "__init__.py").write_text(
        f"def secret():\n    return {HIDDEN_ANSWER}\n\n\ndef shown():\n    return 12\n"
    )
    student = tmp_path / "subs" / "alice"
    student.mkdir(parents=True)
    (student / "answers.toml").write_text(
        f'homework = "hwv"\n[q1]\n{HIDDEN_ID} = 5\nshown = 11\nconfirm = 7\n'
    )
    return tmp_path


def test_defaults_protect_answers() -> None:
    rubric = load_rubric(Path(__file__).resolve().parents[2] / "rubrics/mfdnn/hw6.yaml")
    kinds = {c.kind: c.shown for p in rubric.problems for c in p.checks}
    assert kinds["number"] == kinds["formula"] == kinds["choice"] == "public_without_answer"
    assert kinds["module"] == kinds["script"] == "public"


def test_hidden_check_leaves_no_trace_in_feedback_or_gradescope(course: Path) -> None:
    options = GradeOptions(rubrics_dir=course / "course")
    (sub,) = grade([course / "subs" / "alice"], options).submissions
    hidden = next(c for p in sub.problems for c in p.checks if c.id == HIDDEN_ID)
    assert hidden.visibility == "hidden"
    assert hidden.status is Status.FAILED and "918,273" in hidden.text().lines()[0]
    feedback = feedback_markdown(sub)
    assert HIDDEN_ID not in feedback and not any(f in feedback for f in HIDDEN_FORMS)
    assert "not shown to students: 0 / 1" in feedback
    assert "shown" in feedback  # the other checks are there
    results = gradescope_results(sub)
    shown = [t for t in results["tests"] if t["visibility"] != "hidden"]
    text = json.dumps(shown) + results["output"]
    assert HIDDEN_ID not in text and not any(f in text for f in HIDDEN_FORMS)
    assert len(shown) == 2 and len(results["tests"]) == 3  # its points still count


def test_students_copy_does_not_run_hidden_checks(course: Path) -> None:
    options = GradeOptions(rubrics_dir=course / "course", reference_dir=course / "nowhere")
    (sub,) = grade([course / "subs" / "alice"], options).submissions
    by_id = {c.id: c for p in sub.problems for c in p.checks}
    assert by_id[HIDDEN_ID].status is Status.SKIPPED
    assert by_id[HIDDEN_ID].message == GRADING_TIME
    assert by_id["confirm"].status is Status.PASSED  # a literal the rubric states is public
    assert by_id["shown"].status is Status.SKIPPED and by_id["shown"].message != GRADING_TIME
