"""Exports: every format parsed back and compared with the report it came from.

The reports are built here (not by running the sandbox) so each status, a deduction, a failed
submission, unicode and hostile names are all present and the tests stay fast.
"""

from __future__ import annotations

import csv
import io
import json
import random
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from grader.report import exports
from grader.report.exports import (
    feedback_markdown,
    file_stems,
    grades_csv,
    gradescope_results,
    junit_xml,
    results_json,
    safe_name,
    write_exports,
)
from grader.results import (
    CheckResult,
    GradeReport,
    SourceRef,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)

HOSTILE = 'He said "<b>hi</b>" & left\x00 \x1b[31mred\x1b[0m | `tick` \x07bell'


def check(
    cid: str,
    status: Status,
    score: float,
    max_score: float,
    message: str = "ok",
    **extra: Any,
) -> CheckResult:
    return CheckResult(
        id=cid, status=status, score=score, max_score=max_score, message=message, **extra
    )


def full_submission(
    student: str, *, p2_score: float = 3.0, message: str = "ok"
) -> SubmissionResult:
    """Every status, a partial score, a deduction, a source, a hint and details."""
    p1 = problem_result(
        "p1",
        "Multiple choice",
        3.0,
        [
            check(
                "equivalent", Status.PASSED, 3.0, 3.0, source=SourceRef(file="answers.toml", line=6)
            )
        ],
    )
    p2 = problem_result(
        "p2",
        "Variance | of y_L",
        4.0,
        [
            check(
                "mean",
                Status.FAILED,
                0.0,
                1.0,
                message,
                source=SourceRef(file="answers.toml"),
                hint=None if message == "ok" else message,
                details=[] if message == "ok" else [message, "second line"],
            ),
            check("variance", Status.PASSED if p2_score == 3.0 else Status.FAILED, p2_score, 3.0),
        ],
    )
    p3 = problem_result(
        "p3", "Derivation", 6.0, [check("derivation", Status.PENDING, 0.0, 6.0, "graded by a TA")]
    )
    p4b = problem_result(
        "p4b",
        "STMConvLayer",
        9.0,
        [
            check("finite", Status.PASSED, 1.0, 1.0),
            check(
                "stm.equivalence",
                Status.ERROR,
                0.0,
                3.0,
                "forward crashed",
                source=SourceRef(file="hw6.py", line=19),
                hint="dedent `forward`",
                details=["Traceback (most recent call last):", "```", "ValueError: boom"],
            ),
            # skipped as far as this run can judge it, not deselected: the result is complete
            check("stm.backward", Status.SKIPPED, 0.0, 1.0, "checked by the course staff"),
            check("stm.name", Status.FAILED, -0.5, 0.0, "class must be named STMConvLayer"),
        ],
    )
    return submission_result(student, "hw6", [p1, p2, p3, p4b], notes=["ignored ~backup"])


def failed_submission(student: str) -> SubmissionResult:
    return SubmissionResult(
        student=student,
        homework="unknown",
        score=0.0,
        max_score=0.0,
        problems=[],
        notes=[],
        error="cannot tell which homework this is:\nadd `homework` to answers.toml",
    )


STUDENTS = ["zoë", "alice", "张伟", "../evil", '=HYPERLINK("x")', "bob"]


@pytest.fixture
def report() -> GradeReport:
    subs = [
        full_submission("zoë"),
        full_submission("alice", p2_score=1.5),
        full_submission("张伟"),
        full_submission("../evil", message=HOSTILE),
        full_submission('=HYPERLINK("x")'),
        failed_submission("bob"),
    ]
    return GradeReport(submissions=subs, warnings=["a warning"])


def by_student(report: GradeReport) -> dict[str, SubmissionResult]:
    return {s.student: s for s in report.submissions}


# ---------------------------------------------------------------- number and name helpers


@pytest.mark.parametrize(
    ("value", "text"),
    [(8.0, "8"), (7.5, "7.5"), (1 / 3, "0.333333"), (-0.0, "0"), (1e-9, "0"), (-0.5, "-0.5"),
     (7.4999999999, "7.5"), (1234567.0, "1234567")],
)  # fmt: skip
def test_numbers_have_one_spelling(value: float, text: str) -> None:
    assert exports._num(value) == text


@pytest.mark.parametrize(
    ("name", "safe"),
    [("alice", "alice"), ("José", "José"), ("张伟", "张伟"), ("../evil", "_evil"), ("..", "_"),
     (".", "_"), ("", "_"), ("a/b\\c", "a_b_c"), (".hidden", "hidden"), ("con", "_con"),
     ("COM1.txt", "_COM1.txt"), ("a b", "a_b"), ("x" * 200, "x" * 80)],
)  # fmt: skip
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_file_stems_never_collide() -> None:
    names = ["a b", "a_b", "Alice", "alice", "../x", "_x", "..x"]
    report = GradeReport(submissions=[failed_submission(n) for n in names])
    stems = file_stems(report)
    assert len({s.casefold() for s in stems.values()}) == len(names)
    assert stems[("a_b", "unknown")] == "a_b"  # a clean name keeps its own name
    assert stems[("Alice", "unknown")] == "Alice"  # first in sorted order keeps its name
    assert stems[("alice", "unknown")].startswith("alice-")
    assert all("/" not in s and not s.startswith(".") for s in stems.values())


def test_one_student_in_two_homeworks_gets_two_files(tmp_path: Path) -> None:
    hw5 = full_submission("alice").model_copy(update={"homework": "hw5"})
    report = GradeReport(submissions=[full_submission("alice"), hw5])
    write_exports(report, tmp_path)
    assert sorted(p.name for p in (tmp_path / "feedback").iterdir()) == [
        "alice.hw5.md",
        "alice.hw6.md",
    ]


# ---------------------------------------------------------------- grades.csv


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_grades_csv_header_and_rows(report: GradeReport) -> None:
    rows = read_csv(grades_csv(report))
    assert rows[0] == [
        "student", "homework", "p1", "p2", "p3", "p4b",
        "total", "decided_points", "max_total", "pending", "pending_points", "errors", "notes",
    ]  # fmt: skip
    body = {row[0]: row for row in rows[1:]}
    assert len(rows) == 1 + len(STUDENTS)
    # alice: p2 = 0 + 1.5, p4b = 1 - 0.5 = 0.5; decided 3 + 1.5 + 0.5; p3 waits for a TA, so
    # neither p3 nor the total is a grade yet: empty, never 0
    assert body["alice"] == [
        "alice", "hw6", "3", "1.5", "", "0.5", "", "5", "22", "1", "6", "1", "",
    ]  # fmt: skip
    assert body["张伟"][2:8] == ["3", "3", "", "0.5", "", "6.5"]
    for row in rows[1:]:
        sub = by_student(report)[row[0].removeprefix("'")]
        assert float(row[7]) == pytest.approx(sub.score)


def test_grades_csv_sorted_by_student(report: GradeReport) -> None:
    students = [row[0] for row in read_csv(grades_csv(report))[1:]]
    originals = [s.removeprefix("'") for s in students]
    assert originals == sorted(STUDENTS)


def test_failed_submission_keeps_its_row(report: GradeReport) -> None:
    row = next(r for r in read_csv(grades_csv(report)) if r[0] == "bob")
    assert row[1] == "unknown"
    assert row[2:6] == ["", "", "", ""]
    assert row[6:12] == ["", "0", "0", "0", "0", "1"]  # no total: not graded is not a 0
    assert row[12].startswith("not graded: cannot tell which homework")
    assert "\n" not in row[12]


@pytest.mark.parametrize("name", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", '=HYPERLINK("x")'])
def test_csv_formula_injection_is_defused(name: str) -> None:
    text = grades_csv(GradeReport(submissions=[full_submission(name)]))
    row = read_csv(text)[1]
    assert row[0] == f"'{name}"


def test_csv_keeps_odd_names_verbatim(report: GradeReport) -> None:
    students = {row[0] for row in read_csv(grades_csv(report))[1:]}
    assert {"../evil", "张伟", "zoë"} <= students


def test_csv_qualifies_columns_across_homeworks() -> None:
    hw5 = full_submission("bob").model_copy(update={"homework": "hw5"})
    header = read_csv(grades_csv(GradeReport(submissions=[full_submission("alice"), hw5])))[0]
    assert header[2:6] == ["hw6/p1", "hw6/p2", "hw6/p3", "hw6/p4b"]
    assert header[6:10] == ["hw5/p1", "hw5/p2", "hw5/p3", "hw5/p4b"]


def test_a_mixed_export_keeps_one_total_column_per_homework() -> None:
    """One `total` column for hw6 and hw5 rows would map both homeworks to one LMS assignment."""
    whole = [check("a", Status.PASSED, 2.0, 2.0), check("b", Status.FAILED, 0.0, 1.0)]
    hw6 = submission_result("alice", "hw6", [problem_result("p1", "", 3.0, whole)])
    hw5 = submission_result("bob", "hw5", [problem_result("p1", "", 3.0, whole[:1])])
    table = list(csv.DictReader(io.StringIO(grades_csv(GradeReport(submissions=[hw6, hw5])))))
    assert "total" not in table[0]
    cells = {row["student"]: (row["hw6/total"], row["hw5/total"]) for row in table}
    assert cells == {"alice": ("2", ""), "bob": ("", "2")}


# ---------------------------------------------------------------- results.json


def test_results_json_shape(report: GradeReport) -> None:
    data = json.loads(results_json(report))
    assert list(data) == ["submissions", "warnings"]
    assert [s["student"] for s in data["submissions"]] == sorted(STUDENTS)
    for sub in data["submissions"]:
        assert {"student", "homework", "score", "max_score", "problems"} <= set(sub)
        for problem in sub["problems"]:
            assert {"id", "score", "max_score", "checks"} <= set(problem)
            for c in problem["checks"]:
                assert {"id", "status", "score", "max_score", "message"} <= set(c)
                assert c["status"] in {s.value for s in Status}


def test_results_json_round_trips(report: GradeReport) -> None:
    back = GradeReport.model_validate_json(results_json(report))
    assert by_student(back) == by_student(report)
    assert back.warnings == report.warnings


# ---------------------------------------------------------------- Gradescope


def gradescope_problems(data: Any) -> list[str]:
    """Our own check of Gradescope's documented results.json shape; [] means valid."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["top level is not an object"]
    visibility = set(exports.GRADESCOPE_VISIBILITY)
    number = (int, float)
    if not isinstance(data.get("score"), number) and not all(
        "score" in t for t in data.get("tests", [])
    ):
        problems.append("no top-level score and a test without one")
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in visibility:
            problems.append(f"bad {key} {data[key]!r}")
    if not isinstance(data.get("output", ""), str):
        problems.append("output is not a string")
    tests = data.get("tests")
    if not isinstance(tests, list):
        return [*problems, "tests is not a list"]
    for i, test in enumerate(tests):
        where = f"tests[{i}]"
        for key, kind in (("name", str), ("output", str), ("score", number), ("max_score", number)):
            if not isinstance(test.get(key), kind) or isinstance(test.get(key), bool):
                problems.append(f"{where}.{key} missing or not {kind}")
        if test.get("visibility") not in visibility:
            problems.append(f"{where}.visibility {test.get('visibility')!r}")
        if "status" in test and test["status"] not in ("passed", "failed"):
            problems.append(f"{where}.status {test['status']!r}")
        for key in ("name_format", "output_format"):
            if key in test and test[key] not in ("text", "html", "simple_format", "md", "ansi"):
                problems.append(f"{where}.{key} {test[key]!r}")
        score, top = test.get("score"), test.get("max_score")
        if isinstance(score, number) and isinstance(top, number):
            if score > top:
                problems.append(f"{where}: score above max_score")
            if score < 0 and top != 0:
                problems.append(f"{where}: negative score outside a deduction")
    return problems


def test_schema_check_can_fail() -> None:
    bad = {
        "visibility": "sometimes",
        "tests": [{"name": 1, "score": 2, "max_score": 1, "output": "", "status": "meh"}],
    }
    found = gradescope_problems(bad)
    assert any("bad visibility" in p for p in found)
    assert any("name missing" in p for p in found)
    assert any("above max_score" in p for p in found)
    assert any("status" in p for p in found)
    assert any("tests[0].visibility" in p for p in found)


def test_gradescope_results_are_valid_for_everyone(report: GradeReport) -> None:
    for sub in report.submissions:
        data = gradescope_results(sub)
        assert gradescope_problems(data) == [], sub.student
        assert data["score"] == sub.score
        assert json.loads(json.dumps(data)) == data


def test_gradescope_one_test_per_check(report: GradeReport) -> None:
    sub = by_student(report)["alice"]
    tests = {t["name"].split(":")[0]: t for t in gradescope_results(sub)["tests"]}
    assert len(tests) == sum(len(p.checks) for p in sub.problems)
    assert tests["p1 equivalent"]["status"] == "passed"
    assert "answers.toml:6" in tests["p1 equivalent"]["output"]
    assert tests["p4b stm.equivalence"]["status"] == "failed"  # an error is a failure there
    out = tests["p4b stm.equivalence"]["output"]
    assert out.splitlines() == [
        "forward crashed",
        "at hw6.py:19",
        "hint: dedent `forward`",
        "Traceback (most recent call last):",
        "```",
        "ValueError: boom",
    ]
    assert tests["p4b stm.name"]["score"] == -0.5
    assert tests["p4b stm.name"]["max_score"] == 0


def test_gradescope_pending_is_zero_and_says_ta(report: GradeReport) -> None:
    tests = gradescope_results(by_student(report)["alice"])["tests"]
    pending = next(t for t in tests if t["name"].startswith("p3 derivation"))
    assert pending["score"] == 0
    assert pending["max_score"] == 6
    assert "TA will grade" in pending["output"]
    assert "status" not in pending
    skipped = next(t for t in tests if t["name"].startswith("p4b stm.backward"))
    assert "status" not in skipped


def test_gradescope_failed_submission(report: GradeReport) -> None:
    data = gradescope_results(by_student(report)["bob"])
    assert data["tests"] == []
    assert data["score"] == 0
    assert "Not graded: cannot tell" in data["output"]


def test_gradescope_visibility_is_checked(report: GradeReport) -> None:
    sub = by_student(report)["alice"]
    data = gradescope_results(sub, visibility="after_published")
    assert {t["visibility"] for t in data["tests"]} == {"after_published"}
    with pytest.raises(ValueError, match="visibility"):
        gradescope_results(sub, visibility="public")


def test_gradescope_output_drops_control_characters(report: GradeReport) -> None:
    tests = gradescope_results(by_student(report)["../evil"])["tests"]
    out = next(t for t in tests if t["name"].startswith("p2 mean"))["output"]
    assert "\x00" not in out and "\x1b" not in out and "\x07" not in out
    assert 'He said "<b>hi</b>" & left red | `tick` bell' in out


# ---------------------------------------------------------------- JUnit XML


def expected_counts(sub: SubmissionResult) -> Counter[str]:
    if sub.error:
        return Counter(tests=1, errors=1)
    statuses = [c.status for p in sub.problems for c in p.checks]
    return Counter(
        tests=len(statuses),
        failures=statuses.count(Status.FAILED),
        errors=statuses.count(Status.ERROR),
        skipped=statuses.count(Status.PENDING) + statuses.count(Status.SKIPPED),
    )


def test_junit_counts_match_the_report(report: GradeReport) -> None:
    root = ET.fromstring(junit_xml(report).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == sorted(STUDENTS)
    total: Counter[str] = Counter()
    for suite in suites:
        sub = by_student(report)[suite.get("name", "")]
        want = expected_counts(sub)
        total += want
        for key in ("tests", "failures", "errors", "skipped"):
            assert int(suite.get(key, "-1")) == want[key], (sub.student, key)
        cases = suite.findall("testcase")
        assert len(cases) == want["tests"]
        assert sum(c.find("failure") is not None for c in cases) == want["failures"]
        assert sum(c.find("error") is not None for c in cases) == want["errors"]
        assert sum(c.find("skipped") is not None for c in cases) == want["skipped"]
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key, "-1")) == total[key]


def test_junit_testcase_names(report: GradeReport) -> None:
    root = ET.fromstring(junit_xml(report).encode("utf-8"))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "alice")
    case = next(c for c in suite.iter("testcase") if c.get("name") == "stm.equivalence")
    assert case.get("classname") == "alice.p4b"
    assert case.get("time") == "0"
    error = case.find("error")
    assert error is not None
    assert error.get("message") == "forward crashed"
    assert "at hw6.py:19" in (error.text or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"homework": "hw6", "score": "5", "max_score": "22"}


def test_junit_failed_submission_is_one_error(report: GradeReport) -> None:
    root = ET.fromstring(junit_xml(report).encode("utf-8"))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "bob")
    (case,) = suite.findall("testcase")
    error = case.find("error")
    assert error is not None
    assert (error.get("message") or "").startswith("cannot tell which homework")


def test_junit_survives_hostile_text(report: GradeReport) -> None:
    text = junit_xml(report)
    assert "\x00" not in text and "\x1b" not in text and "\x07" not in text
    root = ET.fromstring(text.encode("utf-8"))
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "../evil")
    case = next(c for c in suite.iter("testcase") if c.get("name") == "mean")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == 'He said "<b>hi</b>" & left red | `tick` bell'
    body = failure.text or ""
    assert 'hint: He said "<b>hi</b>" & left red | `tick` bell' in body
    assert 'He said "<b>hi</b>" & left red | `tick` bell\nsecond line' in body


def test_raw_control_characters_would_break_the_xml() -> None:
    """Why the stripping matters: ElementTree writes \\x00 and no parser reads it back."""
    element = ET.Element("failure", message="a\x00b")
    with pytest.raises(ET.ParseError):
        ET.fromstring(ET.tostring(element))


# ---------------------------------------------------------------- feedback Markdown


def test_feedback_layout(report: GradeReport) -> None:
    text = feedback_markdown(by_student(report)["alice"])
    lines = text.splitlines()
    assert lines[0] == "# Feedback: alice · hw6"
    # stm.backward is "checked by the course staff" (a students' copy): the total says what
    # was checkable here rather than a bare 5 / 22
    assert (
        "**5 of 15 points checkable here; 1 checked by the course staff; 6 graded by a TA**"
        in lines
    )
    assert "## p4b · STMConvLayer · 0.5 / 9" in lines
    assert "- note: ignored ~backup" in lines
    assert "  - where: `hw6.py:19`" in lines
    assert "  - where: `answers.toml`" in lines
    assert "  - hint: dedent \\`forward\\`" in lines
    assert any(line.startswith("- ✅ **equivalent**") and "3 / 3" in line for line in lines)
    assert any(line.startswith("- ❌ **stm.name**") and "deduction -0.5" in line for line in lines)
    assert any(line.startswith("- ⚠️ **stm.equivalence**") for line in lines)
    assert any(line.startswith("- ➖ **stm.backward**") for line in lines)


def test_feedback_lists_ta_items(report: GradeReport) -> None:
    text = feedback_markdown(by_student(report)["alice"])
    assert "## Still to be graded by a TA" in text
    assert "These 6 points are not in the total above yet." in text
    assert "- ⏳ **p3 derivation** (up to 6 points): graded by a TA" in text


def test_feedback_details_fence_outgrows_backticks(report: GradeReport) -> None:
    lines = feedback_markdown(by_student(report)["alice"]).splitlines()
    start = lines.index("  - details:")
    assert lines[start + 1 : start + 7] == [
        "",
        "    ````",
        "    Traceback (most recent call last):",
        "    ```",
        "    ValueError: boom",
        "    ````",
    ]


def test_feedback_escapes_student_text(report: GradeReport) -> None:
    text = feedback_markdown(by_student(report)["../evil"])
    assert "\x00" not in text and "\x1b" not in text
    assert "\\<b>hi\\</b>" in text
    assert "\\| \\`tick\\`" in text
    table_row = next(line for line in text.splitlines() if line.startswith("| p2 "))
    # an unescaped pipe would add a column: only the 3 cell borders may be bare
    assert table_row.replace("\\|", "").count("|") == 3


def test_feedback_failed_submission(report: GradeReport) -> None:
    text = feedback_markdown(by_student(report)["bob"])
    assert "> **Not graded:** cannot tell which homework this is: add \\`homework\\`" in text
    assert "**Total: 0 / 0 points**" in text
    assert "##" not in text


# ---------------------------------------------------------------- partly graded checks


def partly_graded(student: str = "ann") -> SubmissionResult:
    """A values group of 12 (6 points): 2 right (1 point, awarded), 2 for a TA (up to 1 more),
    8 wrong; beside a wholly pending manual check and a passed one."""
    q2 = problem_result(
        "q2",
        "Backprop",
        8.5,
        [
            check("forward", Status.PASSED, 2.5, 2.5),
            check(
                "gradients", Status.PENDING, 1.0, 6.0, "for a TA: 2/12 right", pending_points=1.0
            ),
        ],
    )
    q3 = problem_result("q3", "Plots", 3.0, [check("plots", Status.PENDING, 0.0, 3.0, "by a TA")])
    return submission_result(student, "hw2", [q2, q3])


def test_a_pending_check_leaves_what_it_has_not_awarded_to_a_ta_unless_told_less() -> None:
    assert check("m", Status.PENDING, 0.0, 3.0).pending_points == 3
    assert not check("m", Status.PENDING, 0.0, 3.0).partly_decided
    assert check("v", Status.PENDING, 1.0, 6.0, pending_points=1.0).partly_decided
    assert check("v", Status.PENDING, 0.0, 6.0, pending_points=0.5).partly_decided  # all lost
    assert check("p", Status.PASSED, 3.0, 3.0).pending_points == 0
    assert check("f", Status.FAILED, 1.0, 3.0).pending_points == 0
    assert check("d", Status.PENDING, 0.0, 0.0).pending_points == 0  # a deduction: nothing to add


@pytest.mark.parametrize(
    ("status", "score", "pending"),
    [(Status.FAILED, 1.0, 1.0), (Status.PENDING, 1.0, 5.5), (Status.PENDING, 0.0, -1.0)],
)
def test_pending_points_never_exceed_what_a_ta_could_give(
    status: Status, score: float, pending: float
) -> None:
    with pytest.raises(ValueError, match="pending"):
        check("v", status, score, 6.0, pending_points=pending)


def test_a_partly_graded_check_in_every_export() -> None:
    sub = partly_graded()
    report = GradeReport(submissions=[sub])
    assert sub.score == 3.5  # the decided point of the gradients counts, the pending ones do not
    header, row = read_csv(grades_csv(report))
    cells = dict(zip(header, row, strict=True))
    assert cells["q2"] == "" and cells["total"] == ""  # a TA may still add: no grade yet
    assert cells["decided_points"] == "3.5"
    assert cells["pending"] == "2" and cells["pending_points"] == "4"  # 1 + 3, not 6 + 3
    data = gradescope_results(sub)
    assert gradescope_problems(data) == []
    assert data["score"] == 3.5
    assert "4 of these points are graded by a TA and are not included yet." in data["output"]
    tests = {t["name"]: t for t in data["tests"]}
    grads = tests["q2 gradients"]
    assert grads["score"] == 1 and grads["max_score"] == 6 and "status" not in grads
    assert grads["output"].splitlines()[0] == (
        "Partly graded: the 1 point shown is awarded for what was graded automatically; "
        "a TA will grade the rest (up to 1 more point)."
    )
    assert tests["q3 plots"]["output"].startswith("A TA will grade this part (up to 3 points)")
    text = feedback_markdown(sub)
    assert "Up to 4 more points are not in the total above yet" in text
    assert "- ⏳ **q2 gradients** (up to 1 point): for a TA: 2/12 right" in text
    assert "- ⏳ **q3 plots** (up to 3 points): by a TA" in text
    assert "· TA to grade · 1 / 6 so far, up to 1 more from a TA:" in text
    assert GradeReport.model_validate_json(results_json(report)) == report
    (case,) = [
        c
        for c in ET.fromstring(junit_xml(report).encode()).iter("testcase")
        if c.get("name") == "gradients"
    ]
    assert case.find("skipped") is not None  # CI does not go red while a TA has not looked


# ---------------------------------------------------------------- files


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_write_exports_layout(report: GradeReport, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_exports(report, out)
    assert all(p.is_file() for p in written)
    assert sorted(str(p.relative_to(out)) for p in written) == sorted(tree(out))
    stems = file_stems(report)
    for sub in report.submissions:
        stem = stems[(sub.student, sub.homework)]
        assert (out / "gradescope" / stem / "results.json").is_file()
        assert (out / "feedback" / f"{stem}.md").is_file()
    assert (out / "feedback" / "alice.md").is_file()
    assert (out / "feedback" / "张伟.md").is_file()
    assert {"grades.csv", "results.json", "junit.xml"} <= set(tree(out))
    saved = json.loads((out / "gradescope" / "alice" / "results.json").read_text("utf-8"))
    assert saved == gradescope_results(by_student(report)["alice"])


def test_evil_name_stays_inside(report: GradeReport, tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    written = write_exports(report, out)
    assert all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents] == []
    evil = [p for p in written if "evil" in p.name or "evil" in p.parent.name]
    assert len(evil) == 2
    assert not any(part.startswith(".") for p in evil for part in p.relative_to(out).parts)


@pytest.mark.parametrize("parts", [("..", "x.md"), ("feedback", "..", "..", "x.md"), ("/etc",)])
def test_last_guard_refuses_paths_outside(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="outside"):
        exports._inside(tmp_path / "out", *parts)
    assert exports._inside(tmp_path / "out", "feedback", "a..b.md").name == "a..b.md"


def test_exports_are_deterministic(report: GradeReport, tmp_path: Path) -> None:
    shuffled = list(report.submissions)
    random.Random(1).shuffle(shuffled)
    assert [s.student for s in shuffled] != [s.student for s in report.submissions]
    write_exports(report, tmp_path / "one")
    write_exports(report, tmp_path / "two")
    write_exports(report.model_copy(update={"submissions": shuffled}), tmp_path / "three")
    first = tree(tmp_path / "one")
    assert first == tree(tmp_path / "two") == tree(tmp_path / "three")
    assert grades_csv(report) == grades_csv(report)
    assert junit_xml(report) == junit_xml(report)


def test_csv_bytes_are_rfc4180(report: GradeReport, tmp_path: Path) -> None:
    write_exports(report, tmp_path)
    data = (tmp_path / "grades.csv").read_bytes()
    assert data.startswith(b"student,homework,")
    assert data.count(b"\r\n") == 1 + len(STUDENTS)
    assert "张伟".encode() in data


def test_gradescope_score_is_the_clamped_report_score() -> None:
    """Gradescope would sum the tests (-2); the report clamps a problem at 0, and wins."""
    problem = problem_result("p", "", 1.0, [check("x", Status.FAILED, -2.0, 0.0)])
    data = gradescope_results(submission_result("s", "hw6", [problem]))
    assert sum(t["score"] for t in data["tests"]) == -2
    assert data["score"] == 0


def test_plots_become_pngs_beside_the_other_exports(tmp_path: Path) -> None:
    from grader.results import Plot, ProblemResult, Series

    plot = Plot(
        title="t",
        xlabel="p",
        ylabel="err",
        series=[
            Series(label="fixed", panel="yours", x=[1.0, 2.0, 3.0], y=[1.0, None, 3.0]),
            Series(label="fixed", panel="reference", x=[1.0, 2.0, 3.0], y=[1.0, 2.0, 1.0]),
        ],
    )
    check = CheckResult(
        id="script.figure", status=Status.PASSED, score=1, max_score=1, message="ok", plot=plot
    )
    problem = ProblemResult(id="p5", score=1, max_score=1, checks=[check])
    sub = SubmissionResult(student="ann", homework="hw6", score=1, max_score=1, problems=[problem])
    report = GradeReport(submissions=[sub])
    written = write_exports(report, tmp_path / "a")
    (png,) = [p for p in written if p.suffix == ".png"]
    assert png == tmp_path / "a" / "figures" / "ann-p5.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    again = write_exports(report, tmp_path / "b")
    assert [p.read_bytes() for p in again if p.suffix == ".png"] == [png.read_bytes()]


def test_a_student_over_a_budget_is_not_graded_once_in_every_report() -> None:
    """A budget's reason already reads "not graded: ..." (`not_graded_message`); the CSV and the
    terminal say it once, with the reason whole."""
    from rich.console import Console

    from grader.ingest.budget import not_graded_message
    from grader.report.terminal import render_submission

    reason = "judging exceeded its 3 s of CPU time"
    over = failed_submission("mallory").model_copy(
        update={"homework": "hw6", "error": not_graded_message(reason)}
    )
    row = read_csv(grades_csv(GradeReport(submissions=[over])))[1]
    assert row[-1].startswith(f"not graded: {reason}; ask the course staff"), row
    console = Console(record=True, width=200)
    console.print(render_submission(over))
    text = console.export_text()
    assert text.count("not graded") == 1 and reason in text, text
