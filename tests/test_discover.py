"""Tests for grader.discover: one submission folder, or a class folder of student folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.discover import discover
from grader.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent


def _folder(path: Path, *files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("x = 1\n")
    return path


def test_a_submission_folder_is_graded_alone(tmp_path: Path) -> None:
    alice = _folder(tmp_path / "alice", "answers.toml", "stm.py")
    assert discover(alice) == [alice]


def test_a_class_folder_gives_its_students_sorted(tmp_path: Path) -> None:
    cls = _folder(tmp_path / "class", "README.md")
    for name in ("carol", "alice", "bob"):
        _folder(cls / name, "stm.py")
    _folder(cls / ".git", "config.txt")
    _folder(cls / "_template", "answers.toml")
    assert [p.name for p in discover(cls)] == ["alice", "bob", "carol"]


def test_the_demo_class() -> None:
    homeworks = {p.stem for p in (ROOT / "rubrics").glob("*.yaml")}
    students = discover(ROOT / "submissions", homeworks)
    # submissions/mfdnn/ holds a course's classes (rubrics/mfdnn/, issue 12): not a student
    students = [p for p in students if not (ROOT / "rubrics" / p.name).is_dir()]
    hw6 = ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert [p.name for p in students if p.parent.name == "submissions"] == hw6
    assert {p.parent.name for p in students} == {"submissions", "hw1", "hw2"}
    assert discover(ROOT / "submissions" / "alice") == [ROOT / "submissions" / "alice"]


@pytest.mark.parametrize(
    ("files", "alone"),
    [
        (["stm.py"], True),
        (["answers.toml"], True),
        (["notebook.ipynb"], True),
        (["writeup.pdf"], False),
        (["NOTES.md"], False),
        ([".hidden.py"], False),
        (["data.csv", "weights.pt"], False),
    ],
)
def test_code_or_a_sheet_at_the_top_makes_one_submission(
    tmp_path: Path, files: list[str], alone: bool
) -> None:
    """Beside student folders, only code or an answer sheet makes the folder itself a submission."""
    folder = _folder(tmp_path / "f", *files)
    _folder(folder / "alice", "stm.py")
    assert discover(folder) == ([folder] if alone else [folder / "alice"])


def test_a_writeup_only_folder_is_one_submission(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "bob", "hw6.md")
    assert discover(folder) == [folder]


def test_the_sample_scenarios_folder_is_a_class() -> None:
    """tests/data/hw6 has a SCENARIOS.md beside its scenario folders: still a class."""
    scenarios = discover(ROOT / "tests" / "data" / "hw6")
    assert len(scenarios) > 10 and all(p.parent.name == "hw6" for p in scenarios)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")
def test_symlinks_are_neither_files_nor_students(tmp_path: Path) -> None:
    outside = _folder(tmp_path / "outside", "stm.py")
    cls = _folder(tmp_path / "class")
    (cls / "link.py").symlink_to(outside / "stm.py")
    (cls / "mallory").symlink_to(outside, target_is_directory=True)
    _folder(cls / "alice", "stm.py")
    assert [p.name for p in discover(cls)] == ["alice"]


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        discover(tmp_path / "nope")


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "stm.py"
    path.write_text("x = 1\n")
    with pytest.raises(UsageError, match="is not a folder"):
        discover(path)


def test_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no submission files and no student folders"):
        discover(_folder(tmp_path / "empty", "README.md"))


def test_a_folder_named_after_a_homework_is_a_class_of_its_own(tmp_path: Path) -> None:
    """`submissions/hw2/amir` beside `submissions/alice`: every student of both is graded."""
    cls = _folder(tmp_path / "submissions")
    _folder(cls / "alice", "answers.toml")
    _folder(cls / "hw2" / "amir", "answers.toml")
    _folder(cls / "hw2" / "bea", "writeup.md")
    found = discover(cls, homeworks={"hw2", "hw6"})
    assert [p.relative_to(cls).as_posix() for p in found] == ["alice", "hw2/amir", "hw2/bea"]
    assert discover(cls / "hw2", homeworks={"hw2"}) == [cls / "hw2" / "amir", cls / "hw2" / "bea"]


@pytest.mark.parametrize(
    ("homeworks", "files"),
    [
        ({"hw6"}, []),  # no rubric is called src: a student's own sub-folder
        ({"src"}, ["answers.toml"]),  # named like a rubric, but holds a submission itself
    ],
)
def test_other_sub_folders_stay_inside_their_student(
    tmp_path: Path, homeworks: set[str], files: list[str]
) -> None:
    cls = _folder(tmp_path / "class")
    _folder(cls / "src", *files)
    _folder(cls / "src" / "part1", "stm.py")
    assert discover(cls, homeworks=homeworks) == [cls / "src"]
