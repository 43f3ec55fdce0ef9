"""Reviews applied to a graded batch: decided points count, overrides show, and a decision that
no longer fits is reopened and reported, never kept or dropped silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.report.exports import grades_csv
from grader.results import (
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)
from grader.review import (
    Decision,
    Override,
    Regrade,
    Reviews,
    apply_reviews,
    fingerprint,
    reviewed_folders,
    save_reviews,
)


def _student(class_dir: Path, name: str) -> Path:
    folder = class_dir / name
    folder.mkdir(parents=True)
    (folder / "writeup.md").write_text(f"# {name}\n\nproof\n")
    return folder


def _result(name: str) -> SubmissionResult:
    proof = CheckResult(
        id="proof",
        status=Status.PENDING,
        score=0.0,
        max_score=6.0,
        message="graded by a TA",
        details=["proof"],
    )
    count = CheckResult(
        id="count", status=Status.FAILED, score=0.0, max_score=2.0, message="1,234 is not it"
    )
    p1 = problem_result("p1", "", 2.0, [count])
    p3 = problem_result("p3", "", 6.0, [proof])
    return submission_result(name, "hw6", [p1, p3])


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, GradeReport]:
    class_dir = tmp_path / "hw6"
    for name in ("ann", "ben"):
        _student(class_dir, name)
    return class_dir, GradeReport(submissions=[_result("ann"), _result("ben")])


def _folders(class_dir: Path) -> dict:
    return reviewed_folders([(name, class_dir / name, ["writeup.md"]) for name in ("ann", "ben")])


def _print_of(class_dir: Path, report: GradeReport, student: str, problem: str, check: str) -> str:
    sub = next(s for s in report.submissions if s.student == student)
    found = next(c for p in sub.problems if p.id == problem for c in p.checks if c.id == check)
    return fingerprint(_folders(class_dir)[student].files_digest, found)


def _save(class_dir: Path, *entries: Decision | Override | Regrade) -> None:
    reviews = Reviews(path=class_dir / "reviews.toml")
    for entry in entries:
        reviews.add(entry)
    save_reviews(reviews)


def _check(report: GradeReport, student: str, cid: str) -> CheckResult:
    sub = next(s for s in report.submissions if s.student == student)
    return next(c for p in sub.problems for c in p.checks if c.id == cid)


def test_a_decision_counts_in_the_total_and_the_grade_sheet(batch) -> None:
    class_dir, report = batch
    fp = _print_of(class_dir, report, "ann", "p3", "proof")
    _save(
        class_dir,
        Decision(
            student="ann",
            problem="p3",
            check="proof",
            points=4,
            comment="ok",
            by="ta",
            fingerprint=fp,
        ),
    )
    reviewed = apply_reviews(report, _folders(class_dir))
    check = _check(reviewed, "ann", "proof")
    assert (check.status, check.score, check.pending_points) == (Status.FAILED, 4.0, 0.0)
    assert check.review is not None and check.review.applied and not check.review.overridden
    assert check.message == "graded by a TA: ok"
    ann = reviewed.submissions[0]
    assert ann.score == 4.0
    assert reviewed.warnings == []
    row = next(line for line in grades_csv(reviewed).splitlines() if line.startswith("ann"))
    assert ",4," in row
    # ben is untouched: still pending
    assert _check(reviewed, "ben", "proof").status is Status.PENDING


def test_pass_awards_all_that_was_pending(batch) -> None:
    class_dir, report = batch
    fp = _print_of(class_dir, report, "ben", "p3", "proof")
    _save(
        class_dir,
        Decision(student="ben", problem="p3", check="proof", result="pass", fingerprint=fp),
    )
    check = _check(apply_reviews(report, _folders(class_dir)), "ben", "proof")
    assert (check.status, check.score) == (Status.PASSED, 6.0)


def test_an_override_replaces_an_automatic_verdict_and_says_so(batch) -> None:
    class_dir, report = batch
    fp = _print_of(class_dir, report, "ann", "p1", "count")
    _save(
        class_dir,
        Override(
            student="ann",
            problem="p1",
            check="count",
            points=2,
            reason="your count is right for the bias-free variant",
            fingerprint=fp,
        ),
    )
    reviewed = apply_reviews(report, _folders(class_dir))
    check = _check(reviewed, "ann", "count")
    assert (check.status, check.score) == (Status.PASSED, 2.0)
    assert check.review is not None and check.review.overridden
    assert check.review.automatic_status is Status.FAILED
    assert check.review.automatic_message == "1,234 is not it"
    assert reviewed.submissions[0].score == 2.0


def test_a_changed_file_reopens_exactly_that_students_decision(batch) -> None:
    class_dir, report = batch
    entries = [
        Decision(
            student=name,
            problem="p3",
            check="proof",
            points=3,
            fingerprint=_print_of(class_dir, report, name, "p3", "proof"),
        )
        for name in ("ann", "ben")
    ]
    _save(class_dir, *entries)
    (class_dir / "ann" / "writeup.md").write_text("# ann\n\nanother proof\n")
    reviewed = apply_reviews(report, _folders(class_dir))
    ann, ben = _check(reviewed, "ann", "proof"), _check(reviewed, "ben", "proof")
    assert ann.status is Status.PENDING and ann.score == 0.0 and ann.pending_points == 6.0
    assert ann.review is not None and ann.review.state == "reopened"
    assert ben.status is Status.FAILED and ben.score == 3.0
    assert len(reviewed.warnings) == 1
    assert reviewed.warnings[0].startswith("ann p3 proof: the TA's decision was reopened")
    assert "reviews.toml:" in reviewed.warnings[0]


def test_points_that_no_longer_fit_reopen_the_decision(batch) -> None:
    class_dir, report = batch
    fp = _print_of(class_dir, report, "ann", "p3", "proof")
    _save(class_dir, Decision(student="ann", problem="p3", check="proof", points=7, fingerprint=fp))
    reviewed = apply_reviews(report, _folders(class_dir))
    assert _check(reviewed, "ann", "proof").status is Status.PENDING
    assert "7 points awarded, but the check now leaves 6" in reviewed.warnings[0]


def test_two_entries_for_one_check_are_a_conflict_not_a_guess(batch) -> None:
    class_dir, report = batch
    fp = _print_of(class_dir, report, "ann", "p3", "proof")
    block = (
        '\n[[decision]]\nstudent = "ann"\nproblem = "p3"\ncheck = "proof"\npoints = {}\n'
        f'fingerprint = "{fp}"\n'
    )
    text = "version = 1\n" + block.format(1) + block.format(5)
    (class_dir / "reviews.toml").write_text(text)
    reviewed = apply_reviews(report, _folders(class_dir))
    assert _check(reviewed, "ann", "proof").status is Status.PENDING
    assert "lines 3, 10: 2 [[decision]] entries for ann/p3/proof" in reviewed.warnings[0]


def test_an_entry_for_a_check_that_is_gone_is_reported(batch) -> None:
    class_dir, report = batch
    _save(class_dir, Decision(student="ann", problem="p9", check="x", points=1, fingerprint="f"))
    reviewed = apply_reviews(report, _folders(class_dir))
    assert "ann has no check p9/x in hw6: this entry is not applied" in reviewed.warnings[0]


def test_open_regrade_requests_are_reported(batch) -> None:
    class_dir, report = batch
    _save(class_dir, Regrade(student="ben", problem="p1", check="count", request="recount"))
    reviewed = apply_reviews(report, _folders(class_dir))
    assert "1 open regrade request(s): ben p1/count" in reviewed.warnings[0]


def test_a_broken_reviews_file_is_reported_and_the_batch_is_graded(batch) -> None:
    class_dir, report = batch
    (class_dir / "reviews.toml").write_text("version = 1\n[[decision]]\nstudent = \n")
    reviewed = apply_reviews(report, _folders(class_dir))
    assert [s.score for s in reviewed.submissions] == [0.0, 0.0]
    assert "reviews.toml:3: not valid TOML" in reviewed.warnings[0]
