"""Cache what student code produced, so re-grading after a rubric change runs no student code.

The key covers everything that can change an observation: the submission's files as the scratch
copy takes them (paths and bytes, read within the copy's caps), the probe plan (files, classes,
seeds, globals, time limits), the grader's inputs, the probe script and the grader's version.
Points, tolerances and partial credit are not in it: they only change judging, which always
runs. Entries are written atomically (temp dir, then rename), so an interrupted batch leaves
whole entries or none, and `--resume` simply reuses them.
Entries are read back through the same strict validation as fresh sandbox output: numeric
dtypes only, every array inside its file, nothing unpickled.

Arrays are stored as the probe writes them, packed in one file per probe, with the index in
`meta.json`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from grader import __version__
from grader.sandbox.exchange import PROBE_SCRIPT, copy_plan
from grader.sandbox.jobs import NOT_CACHED, ProbeOutcome, Runner, SandboxJob, SandboxResult
from grader.sandbox.observations import OBSERVATION, read_packed, write_packed

CACHE_FORMAT = 3  # 2: packed arrays; 3: observations in their own JSON files


def job_key(job: SandboxJob) -> str:
    digest = hashlib.sha256()
    digest.update(f"grader {__version__} cache {CACHE_FORMAT}\n".encode())
    digest.update(_probe_digest())
    # Exactly the files the scratch copy takes (`copy_plan`: bounded walk, at most 20 MiB per
    # file and 200 MiB in all), read in blocks up to their planned size: a sparse 1 TiB file is
    # skipped by the copy, so it is never read here either. The files left out are keyed by
    # name only (they change nothing the sandbox can see).
    skipped: list[str] = []
    for path, rel, size in copy_plan(job.submission_dir, skipped):
        digest.update(rel.encode() + b"\0")
        digest.update(_file_digest(path, size))
    digest.update("\0".join(skipped).encode())
    for req in job.requests:
        plan = {"id": req.id, "kind": req.kind, "timeout": req.timeout_s, "spec": req.spec}
        digest.update(json.dumps(plan, sort_keys=True, default=str).encode())
    for name in sorted(job.inputs):
        array = np.ascontiguousarray(job.inputs[name])
        digest.update(f"{name}{array.dtype}{array.shape}".encode() + array.tobytes())
    limits = job.limits
    digest.update(f"{limits.memory_mb} {limits.threads}".encode())
    if job.environment is not None:
        # a course environment, prepared again (its record of what it installed), changes what
        # an import finds; jobs without one keep the keys they always had
        digest.update(f"env {job.environment}".encode())
        digest.update(_file_digest(job.environment / "grader-env.json", 1 << 20))
    return digest.hexdigest()


def _file_digest(path: Path, size: int) -> bytes:
    """SHA-256 of the first `size` bytes of `path`, remembered per (file, size, mtime): every
    probe of a student keys the same files, and each is read once per batch."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return b"unreadable"
    return _cached_digest(str(path), size, info.st_mtime_ns, info.st_ino)


@functools.lru_cache(maxsize=4096)
def _cached_digest(path: str, size: int, mtime_ns: int, inode: int) -> bytes:
    digest = hashlib.sha256()
    left = size
    try:
        with open(path, "rb") as fh:
            while left > 0:
                block = fh.read(min(left, 2**22))
                if not block:
                    break
                digest.update(block)
                left -= len(block)
    except OSError:
        return b"unreadable"
    return digest.digest()


@functools.cache
def _probe_digest() -> bytes:
    return hashlib.sha256(PROBE_SCRIPT.read_bytes()).digest()


class CachingRunner:
    """Wraps a runner; serves repeated jobs from `cache_dir`."""

    def __init__(self, inner: Runner, cache_dir: Path) -> None:
        self.inner = inner
        self.cache_dir = cache_dir
        self.isolation = inner.isolation
        self.hits = 0
        self.misses = 0

    def run(self, job: SandboxJob) -> SandboxResult:
        entry = self.cache_dir / job_key(job)
        cached = _load(entry, job)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        result = self.inner.run(job)
        # A wall-clock kill may be the machine's load, and a job that killed cluster workers
        # may have met a failing cluster: neither is kept, both run again next time.
        if not result.timed_out and not result.extra.get(NOT_CACHED):
            _store(entry, result)
        return result


def _store(entry: Path, result: SandboxResult) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    meta: dict[str, Any] = {
        "exit_code": result.exit_code,
        "timed_out": result.timed_out,
        "stdout_tail": result.stdout_tail,
        "stderr_tail": result.stderr_tail,
        "seconds": result.seconds,
        "isolation": result.isolation,
        "limit_hit": result.limit_hit,
        "outcomes": {},
    }
    for index, (probe, outcome) in enumerate(sorted(result.outcomes.items())):
        meta["outcomes"][probe] = {
            "index": index,
            "problem": outcome.problem,
            "observed": outcome.observation is not None,
            "arrays": write_packed(staging / f"{index}.bin", outcome.arrays),
        }
        if outcome.observation is not None:  # read back by pydantic's own JSON parser
            (staging / f"{index}.json").write_text(outcome.observation.model_dump_json())
    (staging / "meta.json").write_text(json.dumps(meta))
    try:
        os.replace(staging, entry)
    except OSError:  # another worker stored the same entry first
        shutil.rmtree(staging, ignore_errors=True)


def _load(entry: Path, job: SandboxJob) -> SandboxResult | None:
    try:
        meta = json.loads((entry / "meta.json").read_text())
        outcomes = {}
        for req in job.requests:
            item = meta["outcomes"][req.id]
            observation = (
                OBSERVATION.validate_json((entry / f"{item['index']}.json").read_bytes())
                if item["observed"]
                else None
            )
            arrays = read_packed(entry / f"{item['index']}.bin", item["arrays"])
            outcomes[req.id] = ProbeOutcome(observation, arrays, item["problem"])
        return SandboxResult(
            outcomes=outcomes,
            exit_code=meta["exit_code"],
            timed_out=meta["timed_out"],
            stdout_tail=meta["stdout_tail"],
            stderr_tail=meta["stderr_tail"],
            seconds=meta["seconds"],
            isolation=meta["isolation"],
            limit_hit=meta["limit_hit"],
        )
    except (OSError, KeyError, TypeError, ValueError, ValidationError):
        return None  # absent or damaged: run again
