"""Find submission folders: the folder itself, or each student folder under it."""

from __future__ import annotations

from pathlib import Path

from grader.errors import UsageError

SUBMISSION_SUFFIXES = {".py", ".ipynb", ".md", ".txt", ".toml", ".pdf"}


def is_submission(folder: Path) -> bool:
    """A folder holding submission files directly (not only student sub-folders)."""
    return any(
        p.is_file()
        and not p.is_symlink()
        and p.suffix in SUBMISSION_SUFFIXES
        and not p.name.startswith(".")
        and p.name.lower() != "readme.md"
        for p in folder.iterdir()
    )


def discover(path: Path) -> list[Path]:
    """`grade submissions/alice` grades one student; `grade submissions/` grades each sub-folder."""
    if not path.exists():
        raise UsageError(f"no such folder: {path}")
    if not path.is_dir():
        raise UsageError(f"{path} is not a folder: pass a submission folder or a folder of them")
    if is_submission(path):
        return [path]
    students = sorted(
        p
        for p in path.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "_"))
    )
    if not students:
        raise UsageError(f"{path} holds no submission files and no student folders")
    return students
