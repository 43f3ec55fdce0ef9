"""Tests for grader.discover: one submission folder, or a class folder of student folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from grader.courses import load_catalog
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
    """Course folders hold class folders (`submissions/mfdnn/hw6/alice`)."""
    students = discover(ROOT / "submissions", load_catalog().names)
    hw6 = ["alice", "bob", "carol", "dave", "erin", "frank", "gwen"]
    assert [p.name for p in students if p.parent.name == "hw6"] == hw6
    classes = {f"{p.parent.parent.name}/{p.parent.name}" for p in students}
    assert {"mfdnn/hw6", "mfdnn/hw3", "dl/hw2"} <= classes
    assert discover(ROOT / "submissions" / "mfdnn" / "hw6" / "alice") == [
        ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
    ]


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
    """`submissions/dl/hw2/amir` beside `submissions/mfdnn/hw6/alice`: every student of both is
    graded."""
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


# --- ids: folders that share a name are never one student -----------------------------------


def test_a_unique_name_is_the_id(tmp_path: Path) -> None:
    from grader.discover import submission_ids

    cls = tmp_path / "class"
    found = [(cls, _folder(cls / "alice", "a.py")), (cls, _folder(cls / "bob", "a.py"))]
    assert submission_ids(found) == {f.resolve(): f.name for _, f in found}


def test_namesakes_are_told_apart_by_their_path_below_the_graded_folder(tmp_path: Path) -> None:
    from grader.discover import submission_ids

    cls = tmp_path / "class"
    top, nested = _folder(cls / "alice", "a.py"), _folder(cls / "hw6" / "alice", "a.py")
    ids = submission_ids([(cls, top), (cls, nested)])
    assert ids == {top.resolve(): "alice", nested.resolve(): "hw6/alice"}


def test_namesakes_in_two_graded_folders_get_their_parents_names(tmp_path: Path) -> None:
    from grader.discover import submission_ids

    one, two = tmp_path / "sec1", tmp_path / "x" / "sec2"
    a, b = _folder(one / "alice", "a.py"), _folder(two / "alice", "a.py")
    single = _folder(tmp_path / "y" / "sec1" / "alice", "a.py")  # `sec1/alice` twice: one more
    ids = submission_ids([(one, a), (two, b), (single, single)])
    assert ids == {
        a.resolve(): f"{tmp_path.name}/sec1/alice",
        b.resolve(): "x/sec2/alice",
        single.resolve(): "y/sec1/alice",
    }
    assert len(set(ids.values())) == 3


def test_one_folder_reached_twice_is_one_submission(tmp_path: Path) -> None:
    from grader.discover import submission_ids

    cls = tmp_path / "class"
    alice = _folder(cls / "alice", "a.py")
    assert submission_ids([(cls, alice), (alice, alice)]) == {alice.resolve(): "alice"}


def test_seed_001_titled_hw_1_is_graded_as_the_homework_its_content_is(
    recorded_runner: Any,
) -> None:
    """Seed 001 is a student's Homework 3 titled "HW 1" by the student's slip: no course has an
    hw1, and its content (the starter's unused train_test_split, softplus, class MLP) names
    mfdnn/hw3 alone."""
    from grader.pipeline import GradeOptions, grade

    seed = ROOT / "tests" / "data" / "hw1" / "seed-001"
    options = GradeOptions(select="p5a", jobs=1, runner=recorded_runner())
    (sub,) = grade([seed], options).submissions
    assert sub.homework == "mfdnn/hw3"
    assert any("titled hw1" in note and "mfdnn/hw3" in note for note in sub.notes)


def test_one_course_folder_reached_twice_is_one_course() -> None:
    """`--rubrics rubrics/` beside `--course rubrics/mfdnn` (or the plugin's rubric folder beside
    the default) names mfdnn twice: one course, not "two courses are named 'mfdnn'"."""
    rubrics = ROOT / "rubrics"
    once = load_catalog([rubrics])
    twice = load_catalog([rubrics, rubrics / "mfdnn", rubrics / "mfdnn" / ".." / "mfdnn"])
    assert [h.qualified for h in twice.homeworks] == [h.qualified for h in once.homeworks]


def test_two_folders_with_one_course_id_are_still_a_conflict(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "course.yaml").write_text("id: same\n", encoding="utf-8")
    with pytest.raises(UsageError, match="two courses are named 'same'"):
        load_catalog([tmp_path / "a", tmp_path / "b"])
