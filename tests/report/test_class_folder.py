"""Exporting into a folder that already holds a class: nobody is lost, nothing partial or
unfinished passes for a grade, and Ctrl-C stops the whole batch.

The command-line tests grade nothing in the sandbox: they either select answer-sheet checks only
(`-k p4a`) or hand the CLI a report built here (`grader.pipeline.grade` replaced).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

import grader.pipeline
from grader.cli import ExitCode, main
from grader.courses import Homework
from grader.ingest.submission import Submission
from grader.pipeline import GradeOptions, _not_run
from grader.report.exports import export_class, merge_reports
from grader.results import (
    DESELECTED_MESSAGE,
    INTERRUPTED_MESSAGE,
    CheckResult,
    Completeness,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)
from grader.rubric import Rubric, load_rubric

ROOT = Path(__file__).resolve().parents[2]
ALICE = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
CLASS = ["alice", "bob", "carol", "dave"]


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")


def _check(cid: str, status: Status, score: float, message: str = "ok") -> CheckResult:
    return CheckResult(id=cid, status=status, score=score, max_score=2.0, message=message)


def student(name: str, score: float = 2.0, *, not_run: str | None = None) -> SubmissionResult:
    """Two problems of 2 points; `not_run` leaves p2's check unjudged with that message."""
    p1 = problem_result("p1", "", 2.0, [_check("a", Status.PASSED, score)])
    second = (
        _check("b", Status.SKIPPED, 0.0, not_run) if not_run else _check("b", Status.PASSED, 2.0)
    )
    p2 = problem_result("p2", "", 2.0, [second])
    return submission_result(name, "mfdnn/hw6", [p1, p2])


def rows(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "grades.csv").read_text(encoding="utf-8")
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def test_the_pipeline_writes_the_messages_the_exports_read() -> None:
    check = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml").problems[0].checks[0]
    assert _not_run(check, None, "x").message == DESELECTED_MESSAGE
    assert _not_run(check, None, "x", interrupted=True).message == INTERRUPTED_MESSAGE
    assert _not_run(check, None, "x").not_run


def test_completeness_is_read_from_the_checks() -> None:
    assert student("a").completeness is Completeness.COMPLETE
    assert student("a", not_run=DESELECTED_MESSAGE).completeness is Completeness.PARTIAL
    assert student("a", not_run=INTERRUPTED_MESSAGE).completeness is Completeness.UNFINISHED
    skipped = student("a", not_run="checked by the course staff")
    assert skipped.completeness is Completeness.COMPLETE  # judged as far as it can be here


# --- regrading one student into the class folder ------------------------------------------------


def _fake_grade(monkeypatch: pytest.MonkeyPatch, report: GradeReport) -> Callable[..., GradeReport]:
    def grade(paths: object, options: GradeOptions) -> GradeReport:
        return report

    monkeypatch.setattr(grader.pipeline, "grade", grade)
    return grade


def test_regrading_one_student_into_the_class_folder_keeps_every_other_student(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    export_class(GradeReport(submissions=[student(n, 1.0) for n in CLASS]), out)
    _fake_grade(monkeypatch, GradeReport(submissions=[student("alice", 2.0)]))
    assert main([str(ALICE), "--out", str(out), "-q", "--no-cache"]) == ExitCode.OK
    grades = rows(out)
    assert sorted(grades) == CLASS
    assert grades["alice"]["total"] == "4" and grades["bob"]["total"] == "3"
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["student"] for s in data["submissions"]] == CLASS
    assert sorted(p.stem for p in (out / "feedback").iterdir()) == CLASS
    assert "**Total: 4 / 4 points**" in (out / "feedback" / "alice.md").read_text("utf-8")
    assert "kept the earlier results of 3 other student(s)" in capsys.readouterr().out


def test_stale_files_of_the_earlier_export_are_removed(tmp_path: Path) -> None:
    """alice graded for a second homework: her files get the homework in their names, and the
    old `alice.md` would otherwise sit beside them, stale."""
    out = tmp_path / "out"
    export_class(GradeReport(submissions=[student("alice"), student("bob")]), out)
    (out / "feedback" / "notes-by-ta.md").write_text("mine\n")
    hw2 = student("alice").model_copy(update={"homework": "hw2"})
    export = export_class(GradeReport(submissions=[hw2]), out)
    names = sorted(p.name for p in (out / "feedback").iterdir())
    assert names == ["alice.hw2.md", "alice.mfdnn_hw6.md", "bob.md", "notes-by-ta.md"]
    assert sorted(p.name for p in (out / "gradescope").iterdir()) == [
        "alice.hw2",
        "alice.mfdnn_hw6",
        "bob",
    ]
    assert out / "feedback" / "alice.md" in export.removed


def test_a_folder_with_someone_elses_results_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"rows": []}')
    with pytest.raises(Exception, match="not a grader results file"):
        export_class(GradeReport(submissions=[student("alice")]), tmp_path)
    assert (tmp_path / "results.json").read_text() == '{"rows": []}'


# --- a -k selection -----------------------------------------------------------------------------


def test_a_selection_is_marked_partial_in_every_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main([str(ALICE), "-k", "p4a", "--out", str(out), "-q", "--no-cache"]) == 0
    row = rows(out)["alice"]
    assert row["total"] == "" and row["p4a"] != "" and row["p4b"] == ""
    assert row["notes"].startswith("partial result")
    feedback = (out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "(not final)" in feedback and "**Not your grade yet:** partial result" in feedback
    gradescope = json.loads((out / "gradescope" / "alice" / "results.json").read_text())
    assert gradescope["output"].startswith("NOT FINAL: partial result")
    root = ET.fromstring((out / "junit.xml").read_bytes())
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["completeness"] == "partial"
    (sub,) = json.loads((out / "results.json").read_text())["submissions"]
    assert any(note.startswith("partial result") for note in sub["notes"])


def test_a_selection_does_not_replace_a_whole_result_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    whole = student("alice", 1.0)
    export_class(GradeReport(submissions=[whole, student("bob")]), out)
    before = (out / "grades.csv").read_bytes()
    assert main([str(ALICE), "-k", "p4a", "--out", str(out), "-q", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "holds complete results for alice" in err and "--allow-partial" in err
    assert (out / "grades.csv").read_bytes() == before
    args = [str(ALICE), "-k", "p4a", "--out", str(out), "-q", "--no-cache", "--allow-partial"]
    assert main(args) == 0
    assert rows(out)["alice"]["total"] == "" and rows(out)["bob"]["total"] == "4"


# --- Ctrl-C -------------------------------------------------------------------------------------


def test_an_unfinished_student_is_marked_in_every_export_not_zero(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_class(GradeReport(submissions=[student("ann", 0.0, not_run=INTERRUPTED_MESSAGE)]), out)
    row = rows(out)["ann"]
    assert row["total"] == "" and row["p2"] == "" and row["p1"] == "0"  # p1 was judged
    assert row["notes"].startswith("unfinished result") and "--resume" in row["notes"]
    feedback = (out / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert "**Not your grade yet:** unfinished result" in feedback
    assert "**Total: 0" not in feedback
    gradescope = json.loads((out / "gradescope" / "ann" / "results.json").read_text())
    assert gradescope["output"].startswith("NOT FINAL: unfinished result")
    root = ET.fromstring((out / "junit.xml").read_bytes())
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["completeness"] == "unfinished"


def test_an_interrupted_run_keeps_the_earlier_result_of_its_unfinished_students() -> None:
    earlier = GradeReport(submissions=[student("ann", 1.0), student("ben", 1.0)])
    now = GradeReport(
        submissions=[student("ann", 2.0), student("ben", 0.0, not_run=INTERRUPTED_MESSAGE)]
    )
    merge = merge_reports(earlier, now)
    by_name = {s.student: s for s in merge.report.submissions}
    assert by_name["ann"].score == 4.0  # finished this time: the new result
    assert by_name["ben"] == student("ben", 1.0)  # not finished: the earlier one stays
    assert merge.held == ["ben"]


def test_ctrl_c_during_one_homework_stops_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest turns Ctrl-C into an exit code; the loop over homeworks went on to the next one."""
    graded: list[str] = []

    def interrupted(
        homework: Homework,
        rubric: Rubric,
        subs: list[Submission],
        runner: object,
        options: GradeOptions,
        environment: object = None,
    ) -> tuple[list[SubmissionResult], bool]:
        graded.append(homework.qualified)
        return [grader.pipeline._assemble(homework, rubric, s, {}, True) for s in subs], True

    monkeypatch.setattr(grader.pipeline, "_grade_homework", interrupted)
    runner = grader.pipeline.SandboxRunner(use_bwrap=False)
    report = grader.pipeline.grade([ROOT / "submissions"], GradeOptions(runner=runner))
    assert graded == ["dl/hw2"]  # the first homework in the batch, and no other
    homeworks = {s.homework for s in report.submissions}
    assert {"dl/hw2", "mfdnn/hw3", "mfdnn/hw6"} <= homeworks
    for sub in report.submissions:
        if sub.error is None:
            assert sub.completeness is Completeness.UNFINISHED, sub.student
    assert grader.pipeline.INTERRUPTED_WARNING in report.warnings
