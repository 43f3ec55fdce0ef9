"""Find submission folders: the folder itself, or each student folder under it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Sequence
from pathlib import Path

from grader.errors import UsageError
from grader.ingest.files import MAX_ENTRIES

CODE_OR_SHEET = {".py", ".ipynb"}
WRITEUP = {".md", ".txt", ".pdf", ".tex"}


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


def submission_ids(found: Sequence[tuple[Path, Path]]) -> dict[Path, str]:
    """A unique id per submission folder, for results, caches and exports alike.

    `found` holds (the folder graded, a submission folder found in it). A folder's id is its
    name, as long as no other submission in the batch has that name; folders that share a name
    (two sections' `alice`, or `class/alice` beside `class/hw6/alice`) are told apart by their
    paths below the folder graded (`alice` and `hw6/alice`), or, when several graded folders
    hold the same path, by as many of their parent folders' names as it takes. Keys are the
    resolved folders, so one folder reached twice (`grade class class/alice`) is one submission.
    """
    where: dict[Path, Path] = {}
    for root, folder in found:
        where.setdefault(folder.resolve(), root.resolve())
    by_name: dict[str, list[Path]] = {}
    for folder in where:
        by_name.setdefault(folder.name, []).append(folder)
    ids: dict[Path, str] = {}
    for name, folders in by_name.items():
        if len(folders) == 1:
            ids[folders[0]] = name
            continue
        below = {f: _below(f, where[f]) for f in folders}
        if len(set(below.values())) == len(folders):
            ids.update(below)
            continue
        depth = 2
        while len({_tail(f, depth) for f in folders}) < len(folders):
            depth += 1
        ids.update({f: _tail(f, depth) for f in folders})
    return ids


def _below(folder: Path, root: Path) -> str:
    """`hw6/alice` for `class/hw6/alice` graded as part of `class`; the name for the root itself."""
    if folder == root:
        return folder.name
    return folder.relative_to(root).as_posix() if folder.is_relative_to(root) else folder.name


def _tail(folder: Path, depth: int) -> str:
    """The folder's last `depth` path parts: `sec1/alice`."""
    return "/".join(folder.parts[-depth:])
