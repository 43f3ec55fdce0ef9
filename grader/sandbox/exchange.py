"""What goes into a run and what comes back.

In: a scratch copy of the submission (regular files only: symlinks are never followed out of it),
the files the grader generated, the plan and the grader's inputs, and the probe script from
`inside/`. Out: per probe one JSON file and its packed arrays, read strictly (`read_outcome`):
anything malformed is a problem, never a verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from grader.ingest.files import iter_submission_files
from grader.sandbox.confinement import Completed
from grader.sandbox.jobs import ProbeOutcome, ProbeRequest, SandboxJob
from grader.sandbox.observations import OBSERVATION, Observation, ScriptObservation, read_packed

PROBE_SCRIPT = Path(__file__).with_name("inside") / "probe.py"


MAX_FILE_BYTES = 20 * 2**20


MAX_COPY_BYTES = 200 * 2**20


def prepare_run(job: SandboxJob, req: ProbeRequest, sub: Path, io_dir: Path) -> None:
    """The scratch copy of the submission in `sub`; the plan and inputs in `io_dir`."""
    copy_submission(job.submission_dir, sub)
    write_extra_files(sub, job.extra_files)
    (io_dir / "plan.json").write_text(json.dumps({"probes": [plan_entry(0, req)]}))
    np.savez(io_dir / "inputs.npz", allow_pickle=False, **dict(job.inputs))


def finish_outcome(out_dir: Path, req: ProbeRequest, completed: Completed) -> ProbeOutcome:
    outcome = read_outcome(out_dir, 0, req)
    if outcome.observation is None and completed.limit_hit:
        outcome = replace(outcome, problem=f"{outcome.problem} ({completed.limit_hit})")
    return outcome


def plan_entry(index: int, req: ProbeRequest) -> dict[str, Any]:
    return {**req.spec, "id": req.id, "kind": req.kind, "index": index, "timeout_s": req.timeout_s}


def read_outcome(out_dir: Path, index: int, req: ProbeRequest) -> ProbeOutcome:
    """Parse one probe's output strictly; anything malformed is a problem, never a verdict."""
    json_path = out_dir / f"{index}.json"
    if not json_path.is_file() or json_path.is_symlink():
        return ProbeOutcome(None, {}, "the process ended before this part was observed")
    try:
        raw = json.loads(json_path.read_bytes()[: 8 * 2**20])
        if raw.get("id") != req.id or raw.get("kind") != req.kind:
            return ProbeOutcome(None, {}, "the observation was tampered with")
        observation = OBSERVATION.validate_python(raw)
    except (ValueError, ValidationError, AttributeError, RecursionError) as exc:
        return ProbeOutcome(None, {}, f"unreadable observation ({type(exc).__name__})")
    bin_path, index_path = out_dir / f"{index}.bin", out_dir / f"{index}.arrays.json"
    if not bin_path.exists() and not index_path.exists():
        return ProbeOutcome(observation, {})
    try:
        if any(p.is_symlink() or not p.is_file() for p in (bin_path, index_path)):
            raise ValueError("missing or not a plain file")
        entries = json.loads(index_path.read_bytes()[: 8 * 2**20])
        arrays = read_packed(bin_path, entries)
    except (ValueError, OSError, RecursionError) as exc:
        return ProbeOutcome(observation, {}, f"unreadable arrays ({exc})")
    malformed = _malformed_series(observation, arrays)
    if malformed:  # the probe writes every curve as (n, 2) points: anything else is forged
        return ProbeOutcome(None, {}, f"the observation was tampered with ({malformed})")
    return ProbeOutcome(observation, arrays)


def _malformed_series(observation: Observation, arrays: dict[str, np.ndarray]) -> str:
    """The first figure series whose points are not an (n, 2) array, described; '' if none."""
    if not isinstance(observation, ScriptObservation):
        return ""
    for figure in observation.figures:
        for axes in figure.axes:
            for series in axes.series:
                xy = arrays.get(series.key)
                if xy is not None and (xy.ndim != 2 or xy.shape[1] != 2):
                    return f"figure series {series.key!r} of shape {list(xy.shape)}"
    return ""


def copy_plan(src: Path, skipped: list[str] | None = None) -> list[tuple[Path, str, int]]:
    """(path, relative path, size) of each file the scratch copy takes, in order.

    Regular files only (the bounded walk of `iter_submission_files`), each at most
    `MAX_FILE_BYTES`, `MAX_COPY_BYTES` in all; what is left out is added to `skipped`. The cache
    key hashes exactly these files, so it never reads a byte the copy would not copy.
    """
    skipped = [] if skipped is None else skipped
    plan: list[tuple[Path, str, int]] = []
    total = 0
    for path in iter_submission_files(src, skipped):
        rel = path.relative_to(src).as_posix()
        try:
            size = os.stat(path, follow_symlinks=False).st_size
        except OSError:
            skipped.append(f"{rel} (cannot be read)")
            continue
        if size > MAX_FILE_BYTES or total + size > MAX_COPY_BYTES:
            skipped.append(f"{rel} (too large)")
            continue
        plan.append((path, rel, size))
        total += size
    return plan


def copy_submission(src: Path, dst: Path) -> list[str]:
    """Copy regular files only; symlinks and oversized files are skipped and reported."""
    skipped: list[str] = []
    dst.mkdir(parents=True, exist_ok=True)
    for path, rel, size in copy_plan(src, skipped):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb") as source, open(target, "wb") as copy:
            # at most the size planned: a file that grew since is cut, never read further
            shutil.copyfileobj(_Capped(source, size), copy)
    return skipped


class _Capped:
    """A binary file object that reads at most `left` bytes."""

    def __init__(self, fh: Any, left: int) -> None:
        self.fh = fh
        self.left = left

    def read(self, size: int = -1) -> bytes:
        want = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(want) if want > 0 else b""
        self.left -= len(data)
        return data


SCRATCH_PATTERN = re.compile(r"^grader-(?:worker|run)-(\d+)-")
_LIVE_SCRATCH: set[Path] = set()  # this process's scratch folders, for a SIGTERM's clean-up
_swept = threading.Lock()
_SWEPT: list[bool] = []


def new_scratch(kind: str) -> Path:
    """A fresh scratch folder in the temp dir, named with this process's id (`grader-<kind>-
    <pid>-...`), so that a later grader can tell it from a live one and remove it if this
    process was killed before it could (`remove_stale_scratch`)."""
    with _swept:
        if not _SWEPT:
            _SWEPT.append(True)
            remove_stale_scratch()
    folder = Path(tempfile.mkdtemp(prefix=f"grader-{kind}-{os.getpid()}-"))
    _LIVE_SCRATCH.add(folder)
    return folder


def drop_scratch(folder: Path) -> bool:
    """Remove a folder made by `new_scratch` (iteratively: see `remove_tree`)."""
    _LIVE_SCRATCH.discard(folder)
    return remove_tree(folder)


def live_scratch() -> list[Path]:
    """This process's scratch folders not yet removed."""
    return list(_LIVE_SCRATCH)


def remove_stale_scratch(tmp: Path | None = None) -> list[str]:
    """Remove scratch folders that graders killed by a signal (SIGKILL, or SIGTERM without the
    handler) left in the temp dir: those of this user whose process no longer exists. Returns
    their names."""
    removed: list[str] = []
    tmp = Path(tempfile.gettempdir()) if tmp is None else tmp
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return removed
    for entry in entries:
        match = SCRATCH_PATTERN.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            if entry.is_symlink() or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            if remove_tree(Path(entry.path)):
                removed.append(entry.name)
        except (OSError, OverflowError):  # alive under another user, or unreadable: keep it
            continue
    return removed


def remove_tree(root: Path, keep_root: bool = False) -> bool:
    """Remove `root` and everything under it, whatever its depth; True if all of it went.

    Student code in the scratch copy can leave a folder chain thousands deep (`shutil.rmtree`
    recurses once per level, raises RecursionError near 1,000, and paths past 4,096 bytes fail
    anyway), and folders without permissions. Nothing here recurses or builds a long path: each
    folder met is first moved up to sit directly in `root` (a rename within one file system),
    then emptied of its files and removed, so every path used is two names below `root`.
    Symlinks are removed, never followed. Call it only when no process can write in `root`.
    """
    try:
        if not root.is_dir() or root.is_symlink():
            if root.is_symlink() or root.exists():
                root.unlink()
            return True
    except OSError:
        return False
    ok = True
    pending: list[Path] = [root]  # folders to empty: `root` and folders directly in it
    emptied: list[Path] = []  # emptied folders directly in `root`, removed at the end
    while pending:
        folder = pending.pop()
        with contextlib.suppress(OSError):
            folder.chmod(0o700)
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    ok = _remove_entry(entry, folder == root, root, pending) and ok
        except OSError:
            ok = False
        if folder != root:
            emptied.append(folder)
    for folder in emptied:
        try:
            folder.rmdir()
        except OSError:
            ok = False
    if not keep_root:
        try:
            root.rmdir()
        except OSError:
            ok = False
    return ok


def _remove_entry(entry: os.DirEntry[str], top: bool, root: Path, pending: list[Path]) -> bool:
    """Unlink a file or link; a folder is queued, moved up into `root` first unless `top`."""
    try:
        if not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
            return True
        os.chmod(entry.path, 0o700)  # to list it, and to move it (its `..` changes)
        if top:
            pending.append(Path(entry.path))
            return True
        flat = root / f".grader-rm-{len(pending)}-{entry.inode()}"
        while os.path.lexists(flat):
            flat = flat.with_name(flat.name + "x")
        os.rename(entry.path, flat)
        pending.append(flat)
        return True
    except OSError:
        return False


def write_extra_files(dst: Path, files: Mapping[str, str]) -> None:
    """Write generated sources into the scratch copy `dst`, only at plain relative paths.

    A path that is absolute, climbs out (`..`), is hidden or is too large is a grader bug, not
    something a student did: it raises ValueError rather than writing outside the copy.
    """
    for rel, text in files.items():
        parts = Path(rel).parts
        if (
            not parts
            or Path(rel).is_absolute()
            or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
        ):
            raise ValueError(f"refusing to write generated file {rel!r} outside the copy")
        data = text.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"generated file {rel!r} is too large")
        target = dst.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_bytes(data)
