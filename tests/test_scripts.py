"""The `script` check kind end to end: HW6 p5 (`ddescent.py`) run as written in the real sandbox.

The demo class holds one script per verdict (submissions/README.md); the two real seeds' scripts
(tests/data/hw6-p5/) take minutes each, as written, and run under the `seeds` marker (CI runs
them in a step of their own).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult

ROOT = Path(__file__).resolve().parent.parent
ASPECTS = ("runs", "fixed_curve", "tuned_curve", "figure")
P, F, E = Status.PASSED, Status.FAILED, Status.ERROR

# What a careful TA gives each demo student on p5 (runs 1, fixed_curve 2, tuned_curve 2, figure 1).
CLASS: dict[str, tuple[Status, Status, Status, Status]] = {
    "alice": (P, P, P, P),  # correct; usetex=True must not cost points
    "bob": (E, P, F, F),  # append inside the lambda loop: plot crashes, fixed part still counts
    "carol": (P, P, P, P),  # np.linalg.norm instead of MSE and a print per p: no points lost
    "dave": (P, P, F, P),  # lambda tuned on the test set
    "erin": (P, P, F, P),  # not tuned: the "tuned" curve keeps the peak
    "frank": (E, F, F, F),  # bare starter: lists never filled, the plot of empty lists fails
}
POINTS = {"runs": 1.0, "fixed_curve": 2.0, "tuned_curve": 2.0, "figure": 1.0}


def _p5(sub: SubmissionResult) -> dict[str, CheckResult]:
    (problem,) = [p for p in sub.problems if p.id == "p5"]
    return {c.id.removeprefix("script."): c for c in problem.checks}


@pytest.fixture(scope="module")
def class_report() -> GradeReport:
    return grade([ROOT / "submissions" / name for name in CLASS], GradeOptions(jobs=2, select="p5"))


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CLASS))
def test_demo_class_p5_verdicts(class_report: GradeReport, student: str) -> None:
    (sub,) = [s for s in class_report.submissions if s.student == student]
    checks = _p5(sub)
    got = tuple(checks[a].status for a in ASPECTS)
    assert got == CLASS[student], {a: checks[a].message for a in ASPECTS}
    expected = sum(POINTS[a] for a, s in zip(ASPECTS, CLASS[student], strict=True) if s is P)
    assert next(p for p in sub.problems if p.id == "p5").score == expected


@pytest.mark.slow
def test_demo_class_p5_messages(class_report: GradeReport) -> None:
    by_student = {s.student: _p5(s) for s in class_report.submissions}
    bob = by_student["bob"]
    assert bob["runs"].source is not None and bob["runs"].source.file == "ddescent.py"
    assert bob["runs"].source.line is not None and "plt.plot" in " ".join(bob["runs"].details)
    assert "1800 values for 150" in bob["tuned_curve"].message
    assert "inside the loop over lambda" in (bob["tuned_curve"].hint or "")
    assert "TEST set" in by_student["dave"]["tuned_curve"].message
    assert "peak" in by_student["erin"]["tuned_curve"].message
    assert "never filled" in by_student["frank"]["fixed_curve"].message


def test_missing_script_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "zoe"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n')
    (folder / "other.py").write_text("x = 1\n")
    report = grade([folder], GradeOptions(select="p5"))
    checks = _p5(report.submissions[0])
    assert all(c.status is F for c in checks.values())
    assert "no ddescent.py found" in checks["runs"].message and "other.py" in checks["runs"].message


# The two real HW6 writeups' scripts, run exactly as the students wrote them (seed 000's with the
# loop indentation the PDF conversion dropped restored). Each takes minutes of CPU.
SEEDS: dict[str, tuple[Status, Status, Status, Status]] = {
    # 000: the lambda choice and the append sit inside the lambda loop (12 values per p), so the
    # plot crashes; the fixed-lambda curve is right and keeps its credit.
    "seed-000": (E, P, F, F),
    # 002: right, but reports np.linalg.norm rather than an MSE: full credit.
    "seed-002": (P, P, P, P),
}


@pytest.mark.seeds
@pytest.mark.slow
def test_seed_scripts_get_a_careful_tas_verdicts() -> None:
    folders = [ROOT / "tests" / "data" / "hw6-p5" / name for name in SEEDS]
    report = grade(folders, GradeOptions(jobs=2, select="p5"))
    for sub in report.submissions:
        checks = _p5(sub)
        got = tuple(checks[a].status for a in ASPECTS)
        assert got == SEEDS[sub.student], {a: checks[a].message for a in ASPECTS}
