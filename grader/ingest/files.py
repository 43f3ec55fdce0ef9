"""The files of a submission folder as every stage lists them: regular files only, bounded.

Hidden files, `__pycache__` and anything behind a symlink are left out, so neither ingest nor the
sandbox's scratch copy ever follows a link out of the folder.

A submission is untrusted, so is the shape of its folder: the walk keeps its own stack (1,500
nested folders cannot raise `RecursionError`, as `os.walk` did), goes at most `MAX_DEPTH` folders
deep, looks at no more than `MAX_ENTRIES` entries in all, and says what it left out. Reads go
through `read_capped`, which never reads more than the cap, whatever size the file claims (a
sparse 1 TiB file costs nothing). Every stage (ingest, the scratch copy, the cache key) walks
through `iter_submission_files`, so they all see the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.ingest import budget

MAX_DEPTH = 32
"""Folders below the submission root; real projects nest a handful."""
MAX_ENTRIES = 50_000
"""Directory entries looked at per submission (a dataset of small images fits)."""
MAX_SKIP_NOTES = 20
"""Skipped entries named one by one; the rest are counted in one more note."""


class _Skipped:
    """Notes on what the walk left out, named up to `MAX_SKIP_NOTES`, then counted."""

    def __init__(self, into: list[str] | None) -> None:
        self.into = into
        self.more = 0

    def add(self, note: str) -> None:
        if self.into is None:
            return
        if len(self.into) < MAX_SKIP_NOTES:
            self.into.append(note)
        else:
            self.more += 1

    def close(self) -> None:
        if self.into is not None and self.more:
            self.into.append(f"{self.more} more entries (symlinks, special files, too deep)")


def iter_submission_files(root: Path, skipped: list[str] | None = None) -> list[Path]:
    """Regular files under `root` (sorted), hidden ones and anything behind a symlink left out.

    Iterative, at most `MAX_DEPTH` deep and `MAX_ENTRIES` entries; what it leaves out (besides
    hidden files and `__pycache__`) is added to `skipped` as "<path> (<why>)".
    """
    found: list[Path] = []
    notes = _Skipped(skipped)
    seen = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        budget.check()
        folder, depth = stack.pop()
        entries: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        break
                    entries.append(entry)
        except OSError as exc:
            notes.add(f"{_rel(folder, root)} (folder cannot be read: {exc.strerror})")
            continue
        subfolders: list[Path] = []
        for entry in sorted(entries, key=lambda e: e.name):
            path = folder / entry.name
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    kind = "symlink" if _is_dir_link(path) else "symlink or special file"
                    notes.add(f"{_rel(path, root)} ({kind})")
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name == "__pycache__":
                        continue
                    if depth + 1 > MAX_DEPTH:
                        notes.add(f"{_rel(path, root)} (folders nested over {MAX_DEPTH} deep)")
                    else:
                        subfolders.append(path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(path)
                else:
                    notes.add(f"{_rel(path, root)} (symlink or special file)")
            except OSError as exc:
                notes.add(f"{_rel(path, root)} (cannot be read: {exc.strerror})")
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))
        if seen > MAX_ENTRIES:
            notes.add(f"everything after the first {MAX_ENTRIES} entries (too many files)")
            break
    notes.close()
    return sorted(found)


def _is_dir_link(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."


class TooLarge(Exception):
    """A file over the cap it was read with; `size` is what it claims (stat), for the message."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(f"{size} bytes, over the {cap}-byte limit")
        self.size = size
        self.cap = cap


def read_capped(path: Path, cap: int) -> bytes:
    """The bytes of `path`, never reading more than `cap` of them.

    The size is checked before reading (a sparse 1 TiB file is refused without a read), and the
    read itself stops at `cap + 1` bytes whatever the file turns out to hold. Raises TooLarge
    or OSError.
    """
    size = os.stat(path, follow_symlinks=False).st_size
    if size > cap:
        raise TooLarge(size, cap)
    with open(path, "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise TooLarge(len(data), cap)
    return data
