"""Results carry their provenance: provenance.json in --out says, for every result, which run
graded it (date, grader version, rubric fingerprint, -k selection). results.json keeps its
shape: the JSON contract has no room for it and stays byte-identical between runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.cli import main
from grader.report.exports import export_class, fingerprint
from grader.results import (
    INTERRUPTED_MESSAGE,
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)

ROOT = Path(__file__).resolve().parents[2]


def student(name: str, score: float = 1.0, message: str | None = None) -> SubmissionResult:
    status = Status.SKIPPED if message else Status.PASSED
    check = CheckResult(id="a", status=status, score=score, max_score=1.0, message=message or "ok")
    return submission_result(name, "hw6", [problem_result("p1", "", 1.0, [check])])


def run(n: int, selection: str | None = None) -> dict[str, Any]:
    return {"date": f"2026-12-0{n}T10:00:00+00:00", "selection": selection}


def read(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    return data


def test_each_result_names_the_run_that_graded_it(tmp_path: Path) -> None:
    export_class(GradeReport(submissions=[student("ann"), student("bo")]), tmp_path, run=run(1))
    export_class(GradeReport(submissions=[student("ann", 0.0)]), tmp_path, run=run(2, "p1"))
    data = read(tmp_path)
    assert data["students"] == {"hw6/ann": 2, "hw6/bo": 1}
    assert [r["id"] for r in data["runs"]] == [1, 2]
    assert data["runs"][1]["selection"] == "p1"
    export_class(GradeReport(submissions=[student("bo", 0.0)]), tmp_path, run=run(3))
    data = read(tmp_path)
    assert data["students"] == {"hw6/ann": 2, "hw6/bo": 3}
    assert [r["id"] for r in data["runs"]] == [2, 3]  # run 1 graded no result left


def test_an_unfinished_student_keeps_the_run_of_the_result_kept(tmp_path: Path) -> None:
    export_class(GradeReport(submissions=[student("ann")]), tmp_path, run=run(1))
    unfinished = student("ann", 0.0, INTERRUPTED_MESSAGE)
    export_class(GradeReport(submissions=[unfinished]), tmp_path, run=run(2))
    data = read(tmp_path)
    assert data["students"] == {"hw6/ann": 1} and [r["id"] for r in data["runs"]] == [1]


def test_a_fingerprint_changes_with_the_rubric(tmp_path: Path) -> None:
    rubric = tmp_path / "hw6.yaml"
    rubric.write_text("points: 1\n")
    first = fingerprint([rubric])
    assert first == fingerprint([rubric]) and first.startswith("sha256:")
    rubric.write_text("points: 2\n")
    assert fingerprint([rubric]) != first


def test_the_command_line_records_version_rubric_and_selection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    out = tmp_path / "out"
    alice = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
    assert main([str(alice), "-k", "p4a", "--out", str(out), "-q", "--no-cache"]) == 0
    data = read(out)
    (only,) = data["runs"]
    assert only["grader_version"] == grader.__version__
    assert only["selection"] == "p4a"
    rubric = ROOT / "rubrics" / "mfdnn"
    hw6 = fingerprint([rubric / "hw6.yaml", rubric / "hw6_checks.py"])
    assert only["rubrics"] == {"mfdnn/hw6": hw6}
    assert only["date"].endswith("+00:00")
    assert data["students"] == {"mfdnn/hw6/alice": 1}
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results) == ["submissions", "warnings"]  # the contract's shape is unchanged
