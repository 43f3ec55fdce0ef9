"""Cache what student code produced, so re-grading after a rubric change runs no student code.

The key covers everything that can change an observation: the submission's files (paths and
bytes), the probe plan (files, classes, seeds, globals, time limits), the grader's inputs, the
probe script and the grader's version. Points, tolerances and partial credit are not in it: they
only change judging, which always runs. Entries are written atomically (temp dir, then rename),
so an interrupted batch leaves whole entries or none, and `--resume` simply reuses them.
Entries are read back through the same strict validation as fresh sandbox output: numeric
dtypes only, every array inside its file, nothing unpickled.

Arrays are stored packed, one file per probe with an index in `meta.json`, rather than as `.npz`:
a module probe sends ~390 arrays, and opening a zip member per array made reading the cache most
of the cost of re-grading a class (~75 ms a student, against ~2 ms packed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from grader import __version__
from grader.observations import MAX_ARRAY_BYTES, OBSERVATION
from grader.sandbox import (
    PROBE_SCRIPT,
    ProbeOutcome,
    Runner,
    SandboxJob,
    SandboxResult,
    iter_submission_files,
)

CACHE_FORMAT = 2  # 2: packed arrays


def job_key(job: SandboxJob) -> str:
    digest = hashlib.sha256()
    digest.update(f"grader {__version__} cache {CACHE_FORMAT}\n".encode())
    digest.update(PROBE_SCRIPT.read_bytes())
    for path in iter_submission_files(job.submission_dir):
        digest.update(str(path.relative_to(job.submission_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for req in job.requests:
        plan = {"id": req.id, "kind": req.kind, "timeout": req.timeout_s, "spec": req.spec}
        digest.update(json.dumps(plan, sort_keys=True, default=str).encode())
    for name in sorted(job.inputs):
        array = np.ascontiguousarray(job.inputs[name])
        digest.update(f"{name}{array.dtype}{array.shape}".encode() + array.tobytes())
    limits = job.limits
    digest.update(f"{limits.memory_mb} {limits.threads}".encode())
    return digest.hexdigest()


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
        if not result.timed_out:  # a wall-clock kill may be the machine's load: retry next time
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
            "observation": outcome.observation.model_dump(mode="json")
            if outcome.observation
            else None,
            "arrays": _pack(staging / f"{index}.bin", outcome.arrays),
        }
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
            raw = item["observation"]
            observation = OBSERVATION.validate_python(raw) if raw is not None else None
            arrays = _unpack(entry / f"{item['index']}.bin", item["arrays"])
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
    except (OSError, KeyError, TypeError, ValueError):
        return None  # absent or damaged: run again


def _pack(path: Path, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Write the arrays back to back; return where each one is."""
    index = []
    offset = 0
    with path.open("wb") as fh:
        for name, array in sorted(arrays.items()):
            data = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d
            fh.write(data.tobytes())
            index.append(
                {"name": name, "dtype": data.dtype.str, "shape": list(data.shape), "at": offset}
            )
            offset += data.nbytes
    return index


def _unpack(path: Path, index: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The arrays `_pack` wrote, each checked (numeric dtype, inside the file) before use."""
    size = path.stat().st_size
    if size > MAX_ARRAY_BYTES:
        raise ValueError("cached arrays exceed the size limit")
    buffer = bytearray(path.read_bytes())  # writable, like arrays loaded from a probe's output
    arrays: dict[str, np.ndarray] = {}
    for entry in index:
        dtype = np.dtype(str(entry["dtype"]))
        if dtype.kind not in "biuf" or dtype.hasobject:
            raise ValueError(f"cached array {entry['name']!r} has dtype {dtype}")
        shape = tuple(int(n) for n in entry["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        start = int(entry["at"])
        if min(count, start, *shape, 0) < 0 or start + count * dtype.itemsize > size:
            raise ValueError(f"cached array {entry['name']!r} lies outside its file")
        flat = np.frombuffer(buffer, dtype=dtype, count=count, offset=start)
        arrays[str(entry["name"])] = flat.reshape(shape)
    return arrays
