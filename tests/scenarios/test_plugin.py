"""Tests for grader.plugin pieces used outside pytest's own flow (grading runs: test_cli.py).

The grading runs here replay recorded sandbox runs (tests/data/recorded/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from grader.judges.items import code_failed
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observations import ExceptionInfo, ModuleObservation, ScriptObservation

ROOT = Path(__file__).resolve().parents[2]

CRASH = ExceptionInfo(type="RuntimeError", message="boom")
MODULE = {"kind": "module", "id": "p.m", "stage": "done"}
SCRIPT = {"kind": "script", "id": "p.s", "stage": "done"}


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [
        (ProbeOutcome(ModuleObservation(**MODULE), {}), False),
        (ProbeOutcome(ScriptObservation(**SCRIPT), {}), False),
        (None, True),  # no code to run: the check fails, and the bar says so
        (ProbeOutcome(None, {}, problem="time limit (120 s)"), True),
        (
            ProbeOutcome(ModuleObservation(**MODULE, error=CRASH), {}),
            True,
        ),
        (
            ProbeOutcome(ScriptObservation(**SCRIPT, error=CRASH), {}),
            True,
        ),
    ],
)
def test_what_the_progress_bar_counts_as_failed(outcome: ProbeOutcome | None, failed: bool) -> None:
    assert code_failed(outcome) is failed


# --- -k: which checks run ---------------------------------------------------------------------
CHECK_KEYWORDS = {"hw6", "p4b", "stm", "stm.equivalence", "module"}


@pytest.mark.parametrize(
    ("select", "chosen"),
    [
        ("p4b", True),
        ("P4B", True),  # case ignored, as in pytest
        ("equiv", True),  # part of a keyword, as in pytest
        ("not p5", True),
        ("p4b and not backward", True),
        ("(p2 or p3) and not manual", False),
        ("not (p4b or p2)", False),
        ("p5", False),
        ("hw6 and module", True),
    ],
)
def test_a_selection_matches_check_keywords_like_pytest(select: str, chosen: bool) -> None:
    from grader.judges.selection import compile_selection

    assert compile_selection(select)(CHECK_KEYWORDS) is chosen


@pytest.mark.parametrize("select", ["p4b and", "(p4b", "p4b )", "and", "not", "p4b p5", ""])
def test_a_malformed_selection_is_a_usage_error(select: str) -> None:
    from grader.errors import UsageError
    from grader.judges.selection import compile_selection

    with pytest.raises(UsageError, match="not a valid selection"):
        compile_selection(select)


def test_selection_ignores_the_rubric_folder_and_the_student_names(
    tmp_path: Path, recorded_runner: Any
) -> None:
    """pytest's own -k matched every folder above the rubric: with the rubrics under a folder
    whose name holds 'p5', `-k "not p5"` deselected every check and the class scored 0."""
    import shutil

    from grader.pipeline import GradeOptions, grade

    rubrics = tmp_path / "bench-p5x" / "rubrics"
    shutil.copytree(ROOT / "rubrics", rubrics)
    student = tmp_path / "class" / "p5smith"
    shutil.copytree(ROOT / "submissions" / "mfdnn" / "hw6" / "alice", student)
    hw6_reference = ROOT / "reference" / "mfdnn"  # the copy's course.yaml points nowhere
    options = GradeOptions(
        rubrics_dir=rubrics,
        reference_dir=hw6_reference,
        select="not p5 and p2",
        jobs=1,
        runner=recorded_runner(),
    )
    report = grade([student], options)
    (sub,) = report.submissions
    ran = {(p.id, c.id) for p in sub.problems for c in p.checks if "deselected" not in c.message}
    assert ran == {("p2", "mean"), ("p2", "variance")}
    assert sub.score > 0


def test_custom_checks_answer_to_their_problem_id(recorded_runner: Any) -> None:
    from grader.pipeline import GradeOptions, grade

    options = GradeOptions(select="p4b and finite", jobs=1, runner=recorded_runner())
    report = grade([ROOT / "submissions" / "mfdnn" / "hw6" / "alice"], options)
    (sub,) = report.submissions
    ran = {(p.id, c.id) for p in sub.problems for c in p.checks if "deselected" not in c.message}
    assert ran == {("p4b", "finite")}


def test_two_rubric_folders_in_one_process_both_grade(tmp_path: Path, recorded_runner: Any) -> None:
    """Each folder's `hw6_checks.py` is imported by path: the second used to clash with the
    first's module, stop collection and come back as an 'interrupted' grade of zeros."""
    import shutil

    from grader.pipeline import GradeOptions, grade

    copy = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", copy)
    alice = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
    for rubrics in (copy, ROOT / "rubrics"):
        options = GradeOptions(
            rubrics_dir=rubrics, select="finite", jobs=1, runner=recorded_runner()
        )
        report = grade([alice], options)
        # (the course's unprepared environment is said, and is no fault of either folder)
        assert [w for w in report.warnings if "grade env" not in w] == []
        (sub,) = report.submissions
        finite = next(c for p in sub.problems for c in p.checks if c.id == "finite")
        assert finite.status.value == "passed", finite.message


def test_a_checks_file_that_does_not_import_is_a_rubric_error(
    tmp_path: Path, recorded_runner: Any
) -> None:
    import shutil

    from grader.errors import RubricError
    from grader.pipeline import GradeOptions, grade

    copy = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", copy)
    checks = copy / "mfdnn" / "hw6_checks.py"
    lines = checks.read_text(encoding="utf-8").count("\n")
    checks.write_text(checks.read_text(encoding="utf-8") + "def check_x(submission):\n    1 +\n")
    with pytest.raises(RubricError) as raised:
        options = GradeOptions(rubrics_dir=copy, jobs=1, runner=recorded_runner())
        grade([ROOT / "submissions" / "mfdnn" / "hw6" / "alice"], options)
    assert raised.value.path == checks
    assert f"line {lines + 2}" in str(raised.value) and "SyntaxError" in str(raised.value)


# --- the README's plain-pytest example, run as written ----------------------------------------


def _readme_pytest_command() -> list[str]:
    """The `pytest -p grader.plugin ...` line of the README, split as a shell would."""
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [ln for ln in readme.splitlines() if ln.startswith("pytest -p grader.plugin")]
    return shlex.split(line)


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_readme_plugin_example_grades_only_its_homework_as_written() -> None:
    """It used to stop at once ("two courses are named 'mfdnn'": the rubric's own folder and the
    default rubrics/ both reached mfdnn) and, before that, graded hw2/hw3 students against hw6."""
    import subprocess
    import sys

    command = _readme_pytest_command()
    assert command[0] == "pytest"
    proc = subprocess.run(
        [sys.executable, "-m", *command, "-p", "no:cacheprovider", "-rA"],  # -rA: passes named too
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    assert proc.returncode == 1, output[-3000:]  # some demo students fail p4b: that is the point
    hw6 = {p.name for p in (ROOT / "submissions" / "mfdnn" / "hw6").iterdir() if p.is_dir()}
    item = r"^(?:PASSED|FAILED) rubrics/mfdnn/hw6\.yaml::([^:]+)::p4b::"
    graded = set(re.findall(item, output, re.M))
    assert graded == hw6, output[-3000:]  # every hw6 student, and nobody of hw2 or hw3
    assert re.search(r"\d+ failed, \d+ passed, (?:\d+ skipped, )?\d+ deselected", output), output[
        -3000:
    ]
