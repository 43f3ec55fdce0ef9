"""Find submission folders: the folder itself, or each student folder under it."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from grader.errors import UsageError

CODE_OR_SHEET = {".py", ".ipynb"}
WRITEUP = {".md", ".txt", ".pdf"}


def _files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    ]


def _has_code_or_sheet(folder: Path) -> bool:
    return any(p.suffix in CODE_OR_SHEET or p.name == "answers.toml" for p in _files(folder))


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
    """`grade submissions/mfdnn/hw6/alice` grades one student; `grade submissions/` grades each
    sub-folder.

    A folder with an answer sheet, code or a notebook at its top is one submission. Otherwise,
    if it has sub-folders, it is a class of them (a stray README or notes file beside the student
    folders does not make it a submission). A folder with only a writeup is one submission.

    Course staff keep one class folder per homework side by side (`submissions/dl/hw2/alice`): a
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
        return [found for folder in students for found in _expand(folder, homeworks, 0)]
    if any(p.suffix in WRITEUP and p.stem.lower() != "readme" for p in _files(path)):
        return [path]
    raise UsageError(f"{path} holds no submission files and no student folders")


MAX_CLASS_DEPTH = 2  # a course folder holding class folders holding students


def _expand(folder: Path, names: Collection[str], depth: int) -> list[Path]:
    """A class folder (named after a homework or a course, holding no submission files of its
    own) stands for its sub-folders; any other folder is one submission."""
    if depth < MAX_CLASS_DEPTH and _is_class(folder, names):
        inner = _student_folders(folder)
        if inner:
            return [found for sub in inner for found in _expand(sub, names, depth + 1)]
    return [folder]


def _is_class(folder: Path, names: Collection[str]) -> bool:
    return folder.name.lower() in names and not _has_code_or_sheet(folder)
