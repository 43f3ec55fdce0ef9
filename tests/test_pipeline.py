"""Tests for grader.pipeline's gathering of submissions (grading itself: tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.courses import load_catalog
from grader.errors import UsageError
from grader.pipeline import ingest_all

ROOT = Path(__file__).resolve().parent.parent


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


def test_a_stated_homework_is_only_ever_an_id(tmp_path: Path) -> None:
    """What a student writes is matched against known ids, never used as a path."""
    courses = tmp_path / "courses"
    _course(courses, "mfdnn", "hw6")
    catalog = load_catalog([courses])
    for stated in ("../hw6", "/etc/hw6", "hw6.yaml", "mfdnn/../mfdnn/hw6", "hw7", ""):
        assert catalog.lookup(stated) is None, stated
