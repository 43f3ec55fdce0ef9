"""A course's own script analysis (`grader.judges.analysis`): tests/data/own-analysis is a course
kept outside the repository's rubrics whose rubric names `line_fit`, an `Analysis` defined only in
its checks file, and whose students a careful TA would grade as below (recorded runs). Then the
rubric validation of analyses: an unknown name, an aspect the analysis does not judge, a checks
file that does not import, each a RubricError naming the file and why."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from grader.authoring import check_homework
from grader.courses import load_course
from grader.errors import RubricError
from grader.judges.analysis import Analysis, load_with_analyses, registered, runs, standard
from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "own-analysis"
COURSE = DATA / "course"


@pytest.fixture(scope="module")
def report(recorded_runner: Any) -> GradeReport:
    students = sorted(p for p in (DATA / "students").iterdir() if p.is_dir())
    options = GradeOptions(homework="owncourse/demo8", courses=(COURSE,), runner=recorded_runner())
    return grade(students, options)


def result(report: GradeReport, student: str, check_id: str) -> CheckResult:
    (sub,) = [s for s in report.submissions if s.student == student]
    return next(c for p in sub.problems for c in p.checks if c.id == check_id)


@pytest.mark.parametrize(
    ("student", "aspect", "status", "message"),
    [
        ("right", "runs", Status.PASSED, "fit.py ran to the end"),
        ("right", "converges", Status.PASSED, "`losses` fell from"),
        ("right", "line", Status.PASSED, "(w, b) = (2.987, 0.4921): the least-squares line"),
        # the known mistake, named: b never updated leaves the best line through the origin
        ("no-bias", "converges", Status.PASSED, "`losses` fell from"),
        ("no-bias", "line", Status.FAILED, "(w, b) = (3.093, 0) is the best line through"),
        ("diverges", "runs", Status.PASSED, "fit.py ran to the end"),
        ("diverges", "converges", Status.FAILED, "`losses` grew from"),
        ("diverges", "line", Status.FAILED, "(w, b) = (-5.741e+29"),
        # everything inside main(): nothing to read, but a curve was drawn: a TA looks
        ("in-main", "converges", Status.PENDING, "for a TA: no loss list"),
        ("in-main", "line", Status.PENDING, "for a TA: w, b not left as numbers"),
        # the standard `runs` aspect, reused: a savefig to the student's own disk is for a TA,
        # and what was computed before it still counts (the second name in `reads.loss`)
        ("their-disk", "runs", Status.PENDING, "for a TA: fit.py stopped"),
        ("their-disk", "converges", Status.PASSED, "`loss_history` fell from"),
        ("their-disk", "line", Status.PASSED, "(w, b) = (2.987, 0.4921): the least-squares"),
    ],
)
def test_a_course_analysis_judges_its_students(
    report: GradeReport, student: str, aspect: str, status: Status, message: str
) -> None:
    found = result(report, student, f"fit.{aspect}")
    assert found.status is status, found.message
    assert found.message.startswith(message), found.message
    points = {"runs": 1, "converges": 2, "line": 3}[aspect]
    assert (found.score, found.max_score) == (points if status is Status.PASSED else 0, points)


def test_hints_and_the_plot_come_from_the_analysis(report: GradeReport) -> None:
    assert result(report, "no-bias", "fit.line").hint == (
        "update b with its own gradient, 2 mean(w x + b - y)"
    )
    assert result(report, "diverges", "fit.converges").hint == (
        "a learning rate too large makes gradient descent diverge"
    )
    plot = result(report, "right", "fit.converges").plot  # plot_with: converges
    assert plot is not None and plot.title == "training loss (`losses`)"
    assert len(plot.series[0].y) == 300
    assert result(report, "right", "fit.line").plot is None
    totals = {s.student: s.score for s in report.submissions}
    assert totals == {"right": 6, "no-bias": 3, "diverges": 1, "in-main": 1, "their-disk": 5}


def test_a_course_judge_that_breaks_leaves_the_aspect_to_a_ta(
    tmp_path: Path, recorded_runner: Any
) -> None:
    """A judge that raises, or returns something other than a verdict, is the course's mistake:
    the aspect waits for a TA, saying so; the grader's own `runs` judges as ever."""
    folder = tmp_path / "course"
    shutil.copytree(COURSE, folder)
    checks = folder / "demo8_checks.py"
    text = checks.read_text()
    text = text.replace("def line(check, ran, ctx):\n", "def line(check, ran, ctx):\n    1 / 0\n")
    text = text.replace(
        "def converges(check, ran, ctx):\n",
        "def converges(check, ran, ctx):\n    return 'passed'\n",
    )
    text = text.replace(
        "def plot_losses(check, ran, ctx):\n", "def plot_losses(check, ran, ctx):\n    1 / 0\n"
    )
    checks.write_text(text)
    options = GradeOptions(homework="owncourse/demo8", courses=(folder,), runner=recorded_runner())
    broken = grade([DATA / "students" / "right"], options)
    line = result(broken, "right", "fit.line")
    assert (line.status, line.score, line.pending_points) == (Status.PENDING, 0, 3)
    assert line.message == (
        "for a TA: the course's analysis line_fit could not judge line (ZeroDivisionError: "
        "division by zero); please tell the course staff"
    )
    converges = result(broken, "right", "fit.converges")
    assert converges.status is Status.PENDING and converges.plot is None
    assert "gave no verdict on converges (it returned 'passed')" in converges.message
    assert result(broken, "right", "fit.runs").status is Status.PASSED


def test_the_analysis_is_registered_for_its_rubric_only() -> None:
    own = registered(COURSE / "demo8.yaml")
    assert set(own) == {*standard(), "line_fit"}
    assert list(own["line_fit"].aspects) == ["runs", "converges", "line"]
    assert own["line_fit"].aspects["runs"] is runs  # the standard judge, reused
    assert "line_fit" not in registered(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    assert set(standard()) == {"double_descent", "training_run", "observe"}
    _, homeworks = load_course(COURSE)
    assert check_homework(homeworks[0]).problems == []


# --- validation -------------------------------------------------------------------------------
@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the test course, to break."""
    folder = tmp_path / "course"
    shutil.copytree(COURSE, folder)
    return folder


def _problems(rubric: Path) -> list[str]:
    with pytest.raises(RubricError) as info:
        load_with_analyses(rubric)
    assert info.value.path == rubric
    return info.value.problems


def test_an_unknown_analysis_is_refused_with_the_known_ones(course: Path) -> None:
    rubric = course / "demo8.yaml"
    rubric.write_text(rubric.read_text().replace("analysis: line_fit", "analysis: line_fits"))
    (problem,) = _problems(rubric)
    assert problem.startswith("line 17: problems.0.checks.0.analysis: ")
    assert "no analysis 'line_fits': the grader's are double_descent, observe, training_run" in (
        problem
    )
    assert "demo8_checks.py defines line_fit" in problem


def test_an_aspect_the_analysis_does_not_judge_is_refused(course: Path) -> None:
    rubric = course / "demo8.yaml"
    text = rubric.read_text().replace("converges: 2", "figure: 2")
    rubric.write_text(text)
    (problem,) = _problems(rubric)
    assert "aspect(s) figure are not judged by analysis line_fit" in problem
    assert "(it judges runs, converges, line)" in problem


def test_points_that_do_not_add_up_are_refused(course: Path) -> None:
    rubric = course / "demo8.yaml"
    rubric.write_text(rubric.read_text().replace("line: 3}", "line: 2}"))
    (problem,) = _problems(rubric)
    assert "aspect points add up to 5, but points is 6" in problem


def test_a_checks_file_that_does_not_import_is_named_with_why(course: Path) -> None:
    checks = course / "demo8_checks.py"
    checks.write_text(checks.read_text().replace("TOLERANCE = 1e-2", "TOLERANCE = 1 / 0"))
    (problem,) = _problems(course / "demo8.yaml")
    assert "demo8_checks.py does not import: ZeroDivisionError: division by zero (line 23)" in (
        problem
    )
    found = check_homework(load_course(course)[1][0]).problems
    assert len(found) == 1 and "demo8_checks.py does not import" in found[0]


def test_grade_check_resolves_the_analyses(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.cli import main

    assert main(["check", "owncourse/demo8", "--course", str(course)]) == 0
    rubric = course / "demo8.yaml"
    rubric.write_text(rubric.read_text().replace("converges: 2", "convergence: 2"))
    capsys.readouterr()
    assert main(["check", "owncourse/demo8", "--course", str(course)]) == 3
    out = "".join(capsys.readouterr().out.split())  # the console wraps lines at its width
    assert "".join(f"invalid rubric {rubric}".split()) in out
    assert "aspect(s)convergencearenotjudgedbyanalysisline_fit" in out


def test_a_syntax_error_in_the_checks_file_says_where(course: Path) -> None:
    checks = course / "demo8_checks.py"
    checks.write_text(checks.read_text() + "\ndef broken(:\n")
    (problem,) = _problems(course / "demo8.yaml")
    assert "demo8_checks.py does not import: SyntaxError" in problem
    assert f"(line {len(checks.read_text().splitlines())})" in problem


def test_a_checks_file_may_not_reuse_a_standard_name(course: Path) -> None:
    checks = course / "demo8_checks.py"
    checks.write_text(checks.read_text() + "\ntraining_run = line_fit\n")
    (problem,) = _problems(course / "demo8.yaml")
    assert "defines an analysis 'training_run', the name of one of the grader's" in problem


def test_grade_check_reads_the_checks_file_even_when_no_rubric_entry_names_its_analyses(
    course: Path,
) -> None:
    rubric = course / "demo8.yaml"
    text = rubric.read_text().replace("analysis: line_fit", "analysis: observe")
    rubric.write_text(text.replace("{runs: 1, converges: 2, line: 3}", "{runs: 6}"))
    checks = course / "demo8_checks.py"
    checks.write_text(checks.read_text() + "\ntraining_run = line_fit\n")
    load_with_analyses(rubric)  # a standard analysis is found without reading the checks file
    (problem,) = check_homework(load_course(course)[1][0]).problems
    assert "demo8_checks.py defines an analysis 'training_run'" in problem


def test_a_judge_named_like_a_custom_check_is_refused(course: Path) -> None:
    checks = course / "demo8_checks.py"
    checks.write_text(
        checks.read_text()
        .replace("def line(", "def check_line(")
        .replace('"line": line}', '"line": check_line}')
    )
    (problem,) = _problems(course / "demo8.yaml")
    assert "is named check_line: pytest would collect it as a custom check" in problem


def test_the_structure_alone_is_validated_without_the_analyses(course: Path) -> None:
    """Listing a catalog reads rubrics without importing checks files: an unknown analysis is
    only refused where analyses are resolved (grading, `grade check`)."""
    rubric = course / "demo8.yaml"
    rubric.write_text(rubric.read_text().replace("analysis: line_fit", "analysis: line_fits"))
    assert load_rubric(rubric).problems[0].checks[0].analysis == "line_fits"  # type: ignore[union-attr]


def test_an_analysis_checks_its_own_declaration() -> None:
    with pytest.raises(ValueError, match="judges at least one aspect"):
        Analysis({})
    with pytest.raises(ValueError, match="not an identifier"):
        Analysis({"two words": runs})
    with pytest.raises(ValueError, match="plot_with 'figure' is not one of its aspects"):
        Analysis({"runs": runs}, plot=lambda check, ran, ctx: None)


def test_the_students_bundle_withholds_a_check_judged_by_the_course_analysis() -> None:
    """The checks file is not shipped to students: its script check waits for grading, as a
    hidden check does, instead of a bundle whose rubric names an analysis it lacks."""
    from grader.bundle import reduce_rubric

    reduced, hidden = reduce_rubric(load_with_analyses(COURSE / "demo8.yaml"))
    assert reduced.problems == [] and hidden == {"p1": 6}
    hw6, _ = reduce_rubric(load_with_analyses(ROOT / "rubrics" / "mfdnn" / "hw6.yaml"))
    assert any(c.kind == "script" for p in hw6.problems for c in p.checks)


def test_a_run_comparison_goes_with_the_run_it_reads(tmp_path: Path) -> None:
    """hw2's step and sampling compare the run of `run`: hidden `run`, they are withheld too,
    never shipped naming a run the students' rubric does not have."""
    import yaml

    from grader.bundle import reduce_rubric
    from grader.rubric import Rubric

    source = ROOT / "rubrics" / "mfdnn"
    data = yaml.safe_load((source / "hw2.yaml").read_text(encoding="utf-8"))
    p7 = next(p for p in data["problems"] if p["id"] == "p7")
    next(c for c in p7["checks"] if c["id"] == "run")["visibility"] = "hidden"
    for name in ("course.yaml", "hw2_checks.py"):
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"))
    (tmp_path / "hw2.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    reduced, hidden = reduce_rubric(load_with_analyses(tmp_path / "hw2.yaml"))
    shipped = {c.id for p in reduced.problems if p.id == "p7" for c in p.checks}
    assert not shipped & {"run", "step", "sampling"}
    assert hidden["p7"] == 1 + 4 + 2
    Rubric.model_validate(reduced.model_dump())  # the students' rubric still validates
