"""Tests for grader.pipeline's gathering of submissions.

Grading itself: tests/scenarios/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.courses import load_catalog
from grader.errors import UsageError
from grader.pipeline import _homework_of, ingest_all

ROOT = Path(__file__).resolve().parents[2]


def test_class_folder_name_gives_the_homework_when_nothing_else_does(tmp_path: Path) -> None:
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "hw6.yaml").write_text("not read here\n")
    (rubrics / "hw2.yaml").write_text("not read here\n")
    cls = tmp_path / "submissions"
    (cls / "hw2" / "amir").mkdir(parents=True)
    (cls / "hw2" / "amir" / "notes.md").write_text("My answers.\n\n## 1\n\nSee below.\n")
    (cls / "hw2" / "bea").mkdir()
    (cls / "hw2" / "bea" / "answers.toml").write_text('homework = "hw6"\n')
    (cls / "carl").mkdir()
    (cls / "carl" / "notes.md").write_text("Nothing that names a homework.\n")
    subs = {s.student: s for s in ingest_all([cls], load_catalog([rubrics]))}
    assert subs["amir"].homework == "rubrics/hw2"  # a folder of rubrics is a course of its own
    assert "homework rubrics/hw2 taken from the class folder's name" in subs["amir"].notes
    assert subs["bea"].homework == "hw6"  # the answer sheet says so: it wins
    assert subs["carl"].homework is None  # `submissions` is no homework's name


def _course(root: Path, course: str, *homeworks: str) -> Path:
    folder = root / course
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(f"id: {course}\n")
    for homework in homeworks:
        (folder / f"{homework}.yaml").write_text("not read here\n")
    return folder


def test_a_homework_id_several_courses_have_needs_its_course(tmp_path: Path) -> None:
    """`hw2` in two courses: a class folder `dl/hw2/` or `mfdnn-hw2/`, or a sheet's `course`,
    says which; the short id alone is ambiguous and decides nothing."""
    courses = tmp_path / "courses"
    _course(courses, "dl", "hw2")
    _course(courses, "mfdnn", "hw2", "hw6")
    catalog = load_catalog([courses])
    assert catalog.lookup("hw2") is None and catalog.lookup("hw6") is not None
    assert catalog.lookup("hw2", "dl") == catalog.lookup("dl/hw2")
    with pytest.raises(UsageError, match="several courses"):
        catalog.find("hw2")
    cls = tmp_path / "submissions"
    for folder in ("dl/hw2/ann", "mfdnn-hw2/bo", "hw2/cy"):
        (cls / folder).mkdir(parents=True)
        (cls / folder / "notes.md").write_text("Answers.\n")
    (cls / "hw2" / "dee").mkdir()
    (cls / "hw2" / "dee" / "answers.toml").write_text('homework = "hw2"\ncourse = "mfdnn"\n')
    subs = {s.student: s for s in ingest_all([cls], catalog)}
    assert subs["ann"].homework == "dl/hw2"
    assert subs["bo"].homework == "mfdnn/hw2"
    assert subs["cy"].homework is None  # `hw2` alone names no single homework
    assert catalog.lookup(subs["dee"].homework or "", subs["dee"].course) is not None
    # a sheet's bare `hw2` inside a course's class folder is that course's
    (cls / "dl" / "hw2" / "eve").mkdir()
    (cls / "dl" / "hw2" / "eve" / "answers.toml").write_text('homework = "hw2"\n')
    (cls / "hw2" / "fred").mkdir()
    (cls / "hw2" / "fred" / "answers.toml").write_text('homework = "hw2"\n')
    subs = {s.student: s for s in ingest_all([cls], catalog)}
    assert _homework_of(subs["eve"], catalog) == catalog.lookup("dl/hw2")
    assert _homework_of(subs["fred"], catalog) is None  # `hw2/` says no more than the sheet


def test_a_stated_homework_is_only_ever_an_id(tmp_path: Path) -> None:
    """What a student writes is matched against known ids, never used as a path."""
    courses = tmp_path / "courses"
    _course(courses, "mfdnn", "hw6")
    catalog = load_catalog([courses])
    for stated in ("../hw6", "/etc/hw6", "hw6.yaml", "mfdnn/../mfdnn/hw6", "hw7", ""):
        assert catalog.lookup(stated) is None, stated


def _answers_only(folder: Path, homework: str, extra: str = "") -> Path:
    """Alice's answer sheet under another name and homework: no code, so no sandbox runs."""
    folder.mkdir(parents=True)
    sheet = (ROOT / "submissions" / "mfdnn" / "hw6" / "alice" / "answers.toml").read_text(
        encoding="utf-8"
    )
    sheet = sheet.replace('homework = "hw6"', f"homework = {homework}")
    (folder / "answers.toml").write_text(extra + sheet, encoding="utf-8")
    return folder


def test_a_homework_a_student_names_is_only_matched_against_known_rubrics(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    _answers_only(cls / "alice", '"hw6"')
    _answers_only(cls / "mallory", '"hw7"', extra="# a comment line first\n")
    evil = _answers_only(cls / "eve", '"../../eve/mine"')
    (evil / "mine.yaml").write_text(
        (ROOT / "rubrics" / "mfdnn" / "hw6.yaml").read_text(encoding="utf-8")
    )
    from grader.pipeline import GradeOptions, grade

    subs = {s.student: s for s in grade([cls], GradeOptions(select="p4a")).submissions}
    assert subs["alice"].error is None and subs["alice"].homework == "mfdnn/hw6"
    line = 1 + next(  # the line of `homework =` in the sheet
        i
        for i, text in enumerate((cls / "mallory" / "answers.toml").read_text().splitlines())
        if text.startswith("homework")
    )
    assert subs["mallory"].error == (
        f"mallory: answers.toml, line {line}: homework = 'hw7' is not a homework graded here "
        "(graded here: dl/hw2, mfdnn/hw2, mfdnn/hw3, mfdnn/hw4, mfdnn/hw6); write one of them, "
        "or the course staff can pass --homework"
    )
    assert subs["eve"].error is not None
    assert "eve: answers.toml, line" in subs["eve"].error
    assert "'../../eve/mine' is not a homework graded here" in subs["eve"].error


def test_an_unknown_homework_leaves_one_student_unrecognised_and_grades_the_rest(
    tmp_path: Path,
) -> None:
    from grader.pipeline import GradeOptions, grade

    cls = tmp_path / "class"
    _answers_only(cls / "alice", '"hw6"')
    _answers_only(cls / "mallory", '"hw7"')
    evil = _answers_only(cls / "eve", f'"{(tmp_path / "class" / "eve" / "mine").as_posix()}"')
    (evil / "mine.yaml").write_text(
        (ROOT / "rubrics" / "mfdnn" / "hw6.yaml").read_text(encoding="utf-8")
    )
    options = GradeOptions(select="not p5")
    together = {s.student: s for s in grade([cls], options).submissions}
    alone = grade([cls / "alice"], options).submissions[0]
    assert together["alice"].model_dump() == alone.model_dump()
    for name in ("mallory", "eve"):
        sub = together[name]
        assert (sub.homework, sub.score, sub.max_score, sub.problems) == ("unknown", 0, 0, [])
        assert sub.error is not None and sub.error.startswith(f"{name}: answers.toml, line ")


def test_namesakes_are_graded_apart_each_as_alone(tmp_path: Path) -> None:
    from grader.pipeline import GradeOptions, grade

    cls = tmp_path / "class"
    right = _answers_only(cls / "alice", '"hw6"')
    wrong = _answers_only(cls / "hw6" / "alice", '"hw6"')
    sheet = (wrong / "answers.toml").read_text()
    (wrong / "answers.toml").write_text(sheet.replace("params_naive = 213504", "params_naive = 1"))
    options = GradeOptions(select="not p5")
    together = {s.student: s for s in grade([cls], options).submissions}
    assert sorted(together) == ["alice", "hw6/alice"]
    for student, folder in (("alice", right), ("hw6/alice", wrong)):
        alone = grade([folder], options).submissions[0]
        assert together[student].model_dump() == {**alone.model_dump(), "student": student}
    assert together["alice"].score == together["hw6/alice"].score + 1


def test_no_advice_to_pass_homework_when_it_was_passed(tmp_path: Path) -> None:
    from grader.pipeline import GradeOptions, grade

    folder = tmp_path / "zoe"
    folder.mkdir()
    (folder / "report.md").write_text("# Homework 2\n\n## Problem 1\n\nSee below.\n")
    guessed = grade([folder], GradeOptions(select="p1"))
    assert any("pass --homework" in n for n in guessed.submissions[0].notes)
    told = grade([folder], GradeOptions(select="p1", homework="mfdnn/hw2"))
    assert told.submissions[0].homework == "mfdnn/hw2"
    assert not any("--homework" in n for n in told.submissions[0].notes)


def test_a_title_several_courses_share_is_decided_by_the_content(tmp_path: Path) -> None:
    """Seed 004 is titled "HW 2" (dl and mfdnn both have an hw2) and names VGG and the teacher
    network: dl's. A title alone, with no course's names in the text, still needs --homework."""
    seed = ROOT / "tests" / "data" / "writeups" / "seeds" / "004_a6cb54df6c65d9b2.txt"
    folder = tmp_path / "s004"
    folder.mkdir()
    (folder / "writeup.txt").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (sub,) = ingest_all([folder], load_catalog([ROOT / "rubrics"]))
    assert sub.homework == "dl/hw2"
    assert any("several courses have" in n and "graded as dl/hw2" in n for n in sub.notes)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "report.md").write_text("# Homework 2\n\n## Problem 1\n\nSee below.\n")
    (sub,) = ingest_all([bare], load_catalog([ROOT / "rubrics"]))
    assert sub.homework is None and any("pass --homework" in n for n in sub.notes)
