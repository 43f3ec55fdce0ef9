"""A student's own check (the grader without the reference) never passes what the TA's run fails.

Dave's STMConvLayer reuses one path 32 times: no tensor is shared, so only the reference's
parameter count shows the reuse. Without the reference the check is skipped, never passed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import Status
from grader.sandbox.runner import SandboxRunner

ROOT = Path(__file__).resolve().parents[2]
DAVE = ROOT / "submissions" / "mfdnn" / "hw6" / "dave"


@pytest.mark.sandbox
def test_a_reused_path_is_never_passed_without_the_reference(tmp_path: Path) -> None:
    runner = SandboxRunner()
    teacher = grade([DAVE], GradeOptions(select="p4b", runner=runner))
    student = grade([DAVE], GradeOptions(select="p4b", runner=runner, reference_dir=tmp_path))

    def independent(report: object) -> Status:
        (sub,) = report.submissions  # type: ignore[attr-defined]
        return next(c.status for p in sub.problems for c in p.checks if c.id == "stm.independent")

    assert independent(teacher) is Status.FAILED
    assert independent(student) is Status.SKIPPED
