"""Find submission folders: the folder itself, or each student folder under it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection
from pathlib import Path

from grader.errors import UsageError
from grader.ingest.files import MAX_ENTRIES

CODE_OR_SHEET = {".py", ".ipynb"}
WRITEUP = {".md", ".txt", ".pdf"}


def _files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    ]


def _has_code_or_sheet(folder: Path) -> bool:
    """Whether `folder` holds code or an answer sheet at its top: at most `MAX_ENTRIES` entries
    looked at (a student's folder of a million files costs no more), never a recursion."""
    try:
        with os.scandir(folder) as listing:
            for entry in itertools.islice(listing, MAX_ENTRIES):
                path = Path(entry.path)
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                if path.suffix in CODE_OR_SHEET or entry.name == "answers.toml":
                    return True
    except OSError:
        return False
    return False


def _student_folders(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir()
        and not p.is_symlink()
        and not p.name.startswith((".", "_"))
        and p.name != "__pycache__"
    )


def discover(path: Path, homeworks: Collection[str] = ()) -> list[Path]:
    """`grade submissions/alice` grades one student; `grade submissions/` grades each sub-folder.

    A folder with an answer sheet, code or a notebook at its top is one submission. Otherwise,
    if it has sub-folders, it is a class of them (a stray README or notes file beside the student
    folders does not make it a submission). A folder with only a writeup is one submission.

    Course staff keep one class folder per homework side by side (`submissions/hw2/alice`): a
    sub-folder named after a known homework (one of `homeworks`, the rubrics' names) that holds
    student folders and no submission files of its own is such a class, and its students are
    graded with the rest. Only the rubric's name makes a folder a class: a student who put their
    code in `alice/src/` is still one submission.
    """
    if not path.exists():
        raise UsageError(f"no such folder: {path}")
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder: pass a submission folder or a folder of them")
    if _has_code_or_sheet(path):
        return [path]
    students = _student_folders(path)
    if students:
        found: list[Path] = []
        for folder in students:
            nested = _student_folders(folder) if _is_homework_class(folder, homeworks) else []
            found.extend(nested or [folder])
        return found
    if any(p.suffix in WRITEUP and p.stem.lower() != "readme" for p in _files(path)):
        return [path]
    raise UsageError(f"{path} holds no submission files and no student folders")


def _is_homework_class(folder: Path, homeworks: Collection[str]) -> bool:
    return folder.name.lower() in homeworks and not _has_code_or_sheet(folder)


def class_homework(folder: Path, homeworks: Collection[str]) -> str | None:
    """The homework a student folder's class folder is named after (`hw2` for `.../hw2/alice`)."""
    parent = folder.resolve().parent.name.lower()
    return parent if parent in homeworks else None
