"""One text for a check result: every output renders `CheckResult.text()` in the same order."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.report.exports import feedback_markdown, gradescope_results, junit_xml
from grader.report.terminal import _check_lines
from grader.results import (
    CheckResult,
    GradeReport,
    SourceRef,
    Status,
    problem_result,
    submission_result,
)

CHECK = CheckResult(
    id="stm.equivalence",
    status=Status.ERROR,
    score=0.0,
    max_score=3.0,
    message="forward crashed",
    source=SourceRef(file="hw6.py", line=19),
    hint="dedent forward",
    details=["Traceback (most recent call last):", "ValueError: boom"],
)
ORDER = [
    "forward crashed",
    "at hw6.py:19",
    "hint: dedent forward",
    "Traceback (most recent call last):",
    "ValueError: boom",
]


def _positions(text: str, parts: list[str]) -> list[int]:
    return [text.index(part) for part in parts]


def test_the_text_holds_every_part_in_one_order() -> None:
    assert CHECK.text().lines() == ORDER
    bare = CheckResult(id="x", status=Status.PASSED, score=1, max_score=1, message="ok")
    assert bare.text().lines() == ["ok"]


def test_every_output_renders_the_parts_in_that_order() -> None:
    """The terminal printed the details before the hint; the exports the hint first."""
    sub = submission_result("ann", "hw6", [problem_result("p4b", "", 3.0, [CHECK])])
    terminal = _check_lines(CHECK).plain
    gradescope = gradescope_results(sub)["tests"][0]["output"]
    markdown = feedback_markdown(sub)
    junit = ET.fromstring(junit_xml(GradeReport(submissions=[sub])).encode())
    error = next(junit.iter("error"))
    body = error.text or ""
    hint_then_details = ["hint: dedent forward", "Traceback", "ValueError: boom"]
    for rendered in (terminal, gradescope, markdown, body):
        positions = _positions(rendered, ["hw6.py:19", *hint_then_details])
        assert positions == sorted(positions), rendered
    for rendered in (terminal, gradescope, markdown):
        assert rendered.index("forward crashed") < rendered.index("hw6.py:19")
    assert error.get("message") == "forward crashed"
