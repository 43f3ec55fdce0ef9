"""Tests for grader.discover: one submission folder, or a class folder of student folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.discover import discover, is_submission
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
    students = discover(ROOT / "submissions")
    assert [p.name for p in students] == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert discover(ROOT / "submissions" / "alice") == [ROOT / "submissions" / "alice"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["stm.py"], True),
        (["answers.toml"], True),
        (["notebook.ipynb"], True),
        (["writeup.pdf"], True),
        (["README.md"], False),
        (["readme.MD"], False),
        ([".hidden.py"], False),
        (["data.csv", "weights.pt"], False),
        (["sub/stm.py"], False),
        ([], False),
    ],
)
def test_is_submission(tmp_path: Path, files: list[str], expected: bool) -> None:
    assert is_submission(_folder(tmp_path / "f", *files)) is expected


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")
def test_symlinks_are_neither_files_nor_students(tmp_path: Path) -> None:
    outside = _folder(tmp_path / "outside", "stm.py")
    cls = _folder(tmp_path / "class")
    (cls / "link.py").symlink_to(outside / "stm.py")
    (cls / "mallory").symlink_to(outside, target_is_directory=True)
    _folder(cls / "alice", "stm.py")
    assert not is_submission(cls)
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
