"""The files of a submission folder as every stage lists them: regular files only.

Hidden files, `__pycache__` and anything behind a symlink are left out, so neither ingest nor the
sandbox's scratch copy ever follows a link out of the folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def iter_submission_files(root: Path, skipped: list[str] | None = None) -> list[Path]:
    """Regular files under `root`, hidden ones and anything behind a symlink left out."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in list(dirs):
            if name.startswith(".") or name == "__pycache__" or (base / name).is_symlink():
                dirs.remove(name)
                if (base / name).is_symlink() and skipped is not None:
                    skipped.append(f"{(base / name).relative_to(root)} (symlink)")
        for name in files:
            path = base / name
            if name.startswith("."):
                continue
            if path.is_symlink() or not path.is_file():
                if skipped is not None:
                    skipped.append(f"{path.relative_to(root)} (symlink or special file)")
                continue
            found.append(path)
    return sorted(found)
