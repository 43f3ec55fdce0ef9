"""The roster (`--roster FILE`) and the LMS imports it makes possible: canvas.csv, moodle.csv.

Synthetic reports, real CSV parsing: every cell is read back with the csv module as an LMS
would, so a shifted column or a 0 where a grade is pending fails here.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from grader.cli import ExitCode, main
from grader.errors import UsageError
from grader.report.exports import grades_csv
from grader.report.lms import CANVAS_IDENTITY, canvas_csv, gradebook, moodle_csv
from grader.report.roster import MAX_ROSTER_BYTES, Roster, load_roster, parse_roster
from grader.results import (
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)

ROOT = Path(__file__).resolve().parents[2]
ALICE = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"

ROSTER = """folder,SIS User ID,login,Name,Email,Section
alice,1001,alice7,"Liddell, Alice",alice@example.edu,L01
bob,1002,bob3,Bob Smith,bob@example.edu,L02
"""


def roster(text: str = ROSTER) -> Roster:
    return parse_roster(text, Path("roster.csv"))


def result(
    student: str, homework: str = "mfdnn/hw6", score: float = 3.0, pending: bool = False
) -> SubmissionResult:
    checks = [CheckResult(id="a", status=Status.PASSED, score=score, max_score=4.0, message="ok")]
    if pending:
        checks.append(
            CheckResult(id="proof", status=Status.PENDING, score=0.0, max_score=2.0, message="TA")
        )
    problem = problem_result("p1", "", 6.0 if pending else 4.0, checks)
    return submission_result(student, homework, [problem])


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- reading the roster -----------------------------------------------------------------------


def test_headers_are_matched_by_their_usual_names_and_a_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(("\ufeff" + ROSTER).encode("utf-8"))
    entry = load_roster(path).entry_for("alice")
    assert entry is not None
    assert (entry.id, entry.login, entry.name, entry.email, entry.section) == (
        "1001",
        "alice7",
        "Liddell, Alice",
        "alice@example.edu",
        "L01",
    )


def test_a_folder_is_matched_exactly_or_by_its_last_part_only() -> None:
    found = roster()
    assert found.entry_for("mfdnn/hw6/alice") is found.entry_for("alice")
    assert found.entry_for("Alice") is None  # no case folding: it could be someone else
    assert found.entry_for("alice2") is None
    assert found.missing(["alice", "carol", "sec1/bob", "carol"]) == ["carol"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("name,email\nAlice,a@x\n", "no `folder` column"),
        ("folder,id\nalice,1\nalice,2\n", "line 3 repeats folder 'alice' (first on line 2)"),
        ("folder,id\n,1\n", "line 2 has no folder"),
        ("", "is empty"),
        ('folder,id\n"alice,1\n', "line 2: unexpected end of data"),
    ],
)
def test_a_bad_roster_is_a_usage_error_naming_the_line(text: str, said: str) -> None:
    with pytest.raises(UsageError, match=said.replace("(", r"\(").replace(")", r"\)")):
        roster(text)


def test_an_oversized_roster_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_bytes(b"folder\n" + b"x" * MAX_ROSTER_BYTES)
    with pytest.raises(UsageError, match="not a roster"):
        load_roster(path)


def test_a_roster_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("folder,name\nalice,Zoë\n".encode("latin-1"))
    with pytest.raises(UsageError, match="not UTF-8"):
        load_roster(path)


# --- grades.csv -------------------------------------------------------------------------------


def test_grades_csv_carries_the_roster_ids_and_keeps_students_it_lacks() -> None:
    report = GradeReport(submissions=[result("alice"), result("carol")])
    table = {r["student"]: r for r in csv.DictReader(io.StringIO(grades_csv(report, roster())))}
    assert table["alice"]["id"] == "1001" and table["alice"]["email"] == "alice@example.edu"
    assert table["alice"]["login"] == "alice7" and table["alice"]["section"] == "L01"
    assert table["carol"]["id"] == "" and table["carol"]["total"] == "3"  # kept, no ids


def test_pending_cells_are_empty_and_the_decided_points_have_a_column() -> None:
    report = GradeReport(submissions=[result("alice", pending=True)])
    (row,) = csv.DictReader(io.StringIO(grades_csv(report)))
    assert row["p1"] == "" and row["total"] == ""
    assert row["decided_points"] == "3" and row["pending_points"] == "2"


# --- canvas.csv and moodle.csv ----------------------------------------------------------------


def class_report() -> GradeReport:
    subs = [
        result("mfdnn/hw6/alice", score=4.0),
        result("mfdnn/hw3/alice", homework="mfdnn/hw3", score=2.5),
        result("mfdnn/hw6/bob", pending=True),
        result("mfdnn/hw6/carol", score=1.0),
    ]
    return GradeReport(submissions=subs)


def test_canvas_csv_follows_the_gradebook_import_columns() -> None:
    table = rows(canvas_csv(gradebook(class_report(), roster())))
    assert table[0] == [*CANVAS_IDENTITY, "mfdnn/hw3", "mfdnn/hw6"]
    assert list(CANVAS_IDENTITY) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert table[1] == ["Points Possible", "", "", "", "", "4", "4"]
    body = {row[0]: row for row in table[2:]}
    # one row per person, one total per homework
    assert body["Liddell, Alice"] == ["Liddell, Alice", "", "1001", "alice7", "L01", "2.5", "4"]
    assert body["Bob Smith"][5:] == ["", ""]  # no hw3; hw6 pending for a TA: empty, not 0
    assert body["mfdnn/hw6/carol"] == ["mfdnn/hw6/carol", "", "", "", "", "", "1"]  # not dropped


def test_moodle_csv_has_an_identifier_column_and_leaves_out_who_it_cannot_map() -> None:
    table = rows(moodle_csv(gradebook(class_report(), roster())))
    assert table[0] == [
        "ID number",
        "Email address",
        "Username",
        "Full name",
        "mfdnn/hw3",
        "mfdnn/hw6",
    ]
    assert table[1:] == [
        ["1001", "alice@example.edu", "alice7", "Liddell, Alice", "2.5", "4"],
        ["1002", "bob@example.edu", "bob3", "Bob Smith", "", ""],
    ]


def test_two_folders_of_one_person_in_one_homework_leave_the_cell_empty_and_are_reported() -> None:
    report = GradeReport(
        submissions=[result("sec1/alice", score=4.0), result("sec2/alice", score=1.0)]
    )
    book = gradebook(report, roster())
    assert book.conflicts == ["1001 mfdnn/hw6: sec1/alice, sec2/alice"]
    assert rows(canvas_csv(book))[2][5] == ""


def test_lms_cells_are_defused_against_formula_injection() -> None:
    hostile = roster('folder,name,id\nalice,"=HYPERLINK(""x"")",@1\n')
    table = rows(canvas_csv(gradebook(GradeReport(submissions=[result("alice")]), hostile)))
    assert table[2][0] == '\'=HYPERLINK("x")' and table[2][2] == "'@1"


# --- the command line -------------------------------------------------------------------------


def test_roster_needs_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")
    assert main([str(ALICE), "--roster", str(tmp_path / "r.csv")]) == ExitCode.USAGE
    assert "--roster fills the exports" in capsys.readouterr().err


def test_a_class_exported_with_a_roster_names_the_students_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cls = tmp_path / "hw6"
    for name in ("alice", "bob", "zed"):
        shutil.copytree(ALICE, cls / name)
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")
    out = tmp_path / "out"
    args = [
        str(cls),
        "-k",
        "p4a",
        "--quiet",
        "--roster",
        str(tmp_path / "r.csv"),
        "--out",
        str(out),
    ]
    assert main(args) == ExitCode.OK
    said = capsys.readouterr().out
    assert "not in the roster" in said and "zed" in said
    canvas = {row[0]: row for row in rows((out / "canvas.csv").read_text(encoding="utf-8"))}
    assert {"Liddell, Alice", "Bob Smith", "zed"} <= set(canvas)
    assert canvas["Bob Smith"][5] == ""  # -k: a partial total is no grade
    moodle = rows((out / "moodle.csv").read_text(encoding="utf-8"))
    assert [row[0] for row in moodle[1:]] == ["1001", "1002"]


def test_a_folder_the_roster_lacks_never_merges_into_a_roster_student_with_that_id() -> None:
    report = GradeReport(submissions=[result("alice", score=4.0), result("1001", score=1.0)])
    book = gradebook(report, roster())
    assert book.conflicts == [] and book.missing == ["1001"]
    totals = {entry.folder: cells["mfdnn/hw6"] for entry, cells in book.rows}
    assert totals == {"alice": "4", "1001": "1"}
