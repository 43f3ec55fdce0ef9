"""The review walk in process (the pty test in tests/scenarios/test_review_cli.py drives the
real command): order, answers, re-asking, saving at once, and decisions the next grade applies."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from grader.pipeline import Batch
from grader.results import CheckResult, GradeReport, Status, problem_result, submission_result
from grader.review import Reviews, apply_reviews, load_reviews, reviewed_folders
from grader.reviewing import pending_items, walk


def _batch(tmp_path: Path) -> Batch:
    class_dir = tmp_path / "hw6"
    subs = []
    for name in ("bob", "ann"):
        (class_dir / name).mkdir(parents=True)
        (class_dir / name / "writeup.md").write_text(f"# {name}\n")
        checks = [
            CheckResult(id=c, status=Status.PENDING, score=0, max_score=m, message="by a TA")
            for c, m in (("proof", 3.0), ("plot", 1.0))
        ]
        first = problem_result(
            "p1",
            "",
            2.0,
            [CheckResult(id="n", status=Status.PASSED, score=2, max_score=2, message="ok")],
        )
        subs.append(submission_result(name, "hw6", [first, problem_result("p3", "", 4.0, checks)]))
    folders = reviewed_folders([(n, class_dir / n, ["writeup.md"]) for n in ("bob", "ann")])
    return Batch(GradeReport(submissions=subs), folders)


def _asker(answers: list[str]) -> tuple[list[str], object]:
    asked: list[str] = []
    given: Iterator[str] = iter(answers)

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(given)

    return asked, ask


def test_items_go_by_problem_then_check_then_student(tmp_path: Path) -> None:
    items = pending_items(_batch(tmp_path), {}, "problem")
    assert [(i.check.id, i.student) for i in items] == [
        ("proof", "ann"),
        ("proof", "bob"),
        ("plot", "ann"),
        ("plot", "bob"),
    ]
    by_student = pending_items(_batch(tmp_path / "x"), {}, "student")
    assert [i.student for i in by_student] == ["ann", "ann", "bob", "bob"]


def test_each_decision_is_saved_at_once_and_applied_by_the_next_grade(tmp_path: Path) -> None:
    batch = _batch(tmp_path)
    class_dir = tmp_path / "hw6"
    reviews = Reviews(path=class_dir / "reviews.toml")
    items = pending_items(batch, {}, "problem")
    # ann proof: a typo and too many points are asked again, then 2 with a comment;
    # bob proof: skipped; ann plot: pass, no comment; then quit
    asked, ask = _asker(["two", "9", "2", "good start", "s", "p", "", "q"])
    out = io.StringIO()
    decided = walk(items, reviews, "tess", ask, Console(file=out, width=120))
    assert decided == 2
    assert sum(p.startswith("points") for p in asked) == 6
    assert "'two' is not a number" in out.getvalue()
    assert "points must be between 0 and 3" in out.getvalue()
    saved = load_reviews(class_dir)
    assert [(d.student, d.check, d.points, d.comment) for d in saved.decisions] == [
        ("ann", "plot", 1.0, ""),
        ("ann", "proof", 2.0, "good start"),
    ]
    reviewed = apply_reviews(batch.report, batch.folders)
    ann = next(s for s in reviewed.submissions if s.student == "ann")
    bob = next(s for s in reviewed.submissions if s.student == "bob")
    assert (ann.score, bob.score) == (5.0, 2.0)  # 2 automatic + 2 + 1; bob only automatic
    assert reviewed.warnings == []
