"""Find submission folders: the folder itself, or each student folder under it."""

from __future__ import annotations

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


def discover(path: Path) -> list[Path]:
    """`grade submissions/alice` grades one student; `grade submissions/` grades each sub-folder.

    A folder with an answer sheet, code or a notebook at its top is one submission. Otherwise,
    if it has sub-folders, it is a class of them (a stray README or notes file beside the student
    folders does not make it a submission). A folder with only a writeup is one submission.
    """
    if not path.exists():
        raise UsageError(f"no such folder: {path}")
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder: pass a submission folder or a folder of them")
    if _has_code_or_sheet(path):
        return [path]
    students = _student_folders(path)
    if students:
        return students
    if any(p.suffix in WRITEUP and p.stem.lower() != "readme" for p in _files(path)):
        return [path]
    raise UsageError(f"{path} holds no submission files and no student folders")
