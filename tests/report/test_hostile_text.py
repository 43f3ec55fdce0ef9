"""Student text is printed literally: names, messages, hints, details and notes that look like
rich markup (`[/x]`, `[bold]`, `[link=...]`) or emoji codes must neither crash the report nor
change it. The report used to crash on them before --json and --out were written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

import grader.pipeline
from grader.cli import main
from grader.pipeline import GradeOptions
from grader.report.terminal import render, render_class
from grader.results import (
    CheckResult,
    GradeReport,
    SourceRef,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)

HOSTILE = ["[/x]", "[bold red]loud[/]", "[link=file:///etc/passwd]x[/link]", ":smile:", "[/]"]
NAMES = ["[/x]", "ann[bold]", "[/]"]
ROOT = Path(__file__).resolve().parents[2]


def hostile_student(name: str, text: str) -> SubmissionResult:
    check = CheckResult(
        id="stm",
        status=Status.ERROR,
        score=0.0,
        max_score=3.0,
        message=f"ValueError: {text}",
        hint=f"hint {text}",
        details=[f"detail {text}"],
        source=SourceRef(file=f"{text}.py", line=3),
        title=text,
    )
    pending = CheckResult(id="p", status=Status.PENDING, score=0, max_score=1, message=text)
    return submission_result(
        name, "hw6", [problem_result("p4b", text, 4.0, [check, pending])], notes=[f"note {text}"]
    )


def hostile_report() -> GradeReport:
    subs = [hostile_student(n, t) for n, t in zip(NAMES, HOSTILE, strict=False)]
    subs.append(
        SubmissionResult(
            student="[/y]", homework="hw6", score=0, max_score=0, problems=[], error="[/z] boom"
        )
    )
    return GradeReport(submissions=subs, warnings=["warning [/w] :smile:"])


def test_the_terminal_report_prints_student_text_literally() -> None:
    console = Console(record=True, width=200)
    report = hostile_report()
    render(report, console)
    render_class(report, console)
    text = console.export_text()
    for literal in [*NAMES, "[/y]", "[/z] boom", "warning [/w] :smile:", "note [/x]"]:
        assert literal in text, literal
    for literal in HOSTILE[:3]:
        assert f"ValueError: {literal}" in text and f"hint {literal}" in text, literal
        assert f"detail {literal}" in text and f"at {literal}.py:3" in text, literal


def test_the_command_line_survives_hostile_text_and_writes_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def grade(paths: object, options: GradeOptions) -> GradeReport:
        return hostile_report()

    monkeypatch.setattr(grader.pipeline, "grade", grade)
    monkeypatch.setenv("COLUMNS", "300")
    out, js = tmp_path / "out", tmp_path / "r.json"
    args = [
        str(ROOT / "submissions" / "mfdnn" / "hw6" / "alice"),
        "--json",
        str(js),
        "--out",
        str(out),
    ]
    assert main([*args, "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "[/x]" in printed and "[/z] boom" in printed
    students = {s["student"] for s in json.loads(js.read_text())["submissions"]}
    assert students == {*NAMES, "[/y]"}
    assert (out / "grades.csv").is_file()


def test_an_error_message_with_markup_is_printed_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "500")
    missing = tmp_path / "[/x]"
    assert main([str(missing)]) == 2
    assert f"no such folder: {missing}" in capsys.readouterr().err
