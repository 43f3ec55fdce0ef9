"""What goes into a run and what comes back.

In: a scratch copy of the submission (regular files only: symlinks are never followed out of it),
the files the grader generated, the plan and the grader's inputs, and the probe script from
`inside/`. Out: per probe one JSON file and its packed arrays, read strictly (`read_outcome`):
anything malformed is a problem, never a verdict.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from grader.ingest.files import iter_submission_files
from grader.sandbox.confinement import Completed
from grader.sandbox.jobs import ProbeOutcome, ProbeRequest, SandboxJob
from grader.sandbox.observations import OBSERVATION, read_packed

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
    return ProbeOutcome(observation, arrays)


def copy_submission(src: Path, dst: Path) -> list[str]:
    """Copy regular files only; symlinks and oversized files are skipped and reported."""
    skipped: list[str] = []
    total = 0
    dst.mkdir(parents=True, exist_ok=True)
    for path in iter_submission_files(src, skipped):
        rel = path.relative_to(src)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES or total + size > MAX_COPY_BYTES:
            skipped.append(f"{rel} (too large)")
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        total += size
    return skipped


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
