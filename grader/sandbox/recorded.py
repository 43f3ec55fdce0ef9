"""Sandbox runs recorded once and replayed, so judges are tested without running student code.

`RecordingRunner` runs a job in the real sandbox (bubblewrap, a fresh process per probe) and keeps
what the probe wrote, byte for byte, with a small manifest; `RecordedRunner` hands the same job
back from that recording. The replay goes through the same strict reader as a live run
(`exchange.finish_outcome` -> `read_outcome` -> `observations`), so a judge under test meets
exactly what it would meet in a real batch, malformed observations included.

One recording is one job: the submission's files, the probe plan (file, class, seeds, time
limits), the inputs the grader drew and the limits, all hashed into `recording_key`. Module inputs
are drawn per student and per run seed (`observe.derive_seed`), so a recording holds for one
(student, probe, run seed); a job that differs in anything the probe could see has no recording
and is refused loudly (`NoRecording`), never answered with another job's observation.

Layout, one folder per job (`<student>--<key prefix>/`):

    manifest.json           key, probe script hash, the job's plan, the result's exit code,
                            time-out, output tails, isolation, and per probe its process's end
    <probe id>/0.json       the probe's files, as `inside/probe.py` wrote them to `out/`
    <probe id>/0.bin
    <probe id>/0.arrays.json

The key leaves out the probe script itself: an edit to `inside/probe.py` does not silently change
which recording a job finds, and the manifest's `probe_sha256` says which probe made it, so a test
can tell stale recordings apart (tests/data/recorded/README.md says how to record them again).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from grader.ingest.files import iter_submission_files
from grader.sandbox.confinement import Completed
from grader.sandbox.exchange import PROBE_SCRIPT, finish_outcome
from grader.sandbox.jobs import Limits, ProbeOutcome, ProbeRequest, SandboxJob, SandboxResult
from grader.sandbox.runner import SandboxRunner
from grader.sandbox.workers import Keep

RECORDING_FORMAT = 1
MANIFEST = "manifest.json"
OUT_FILES = ("0.json", "0.bin", "0.arrays.json")  # what the probe writes for its one plan entry


class NoRecording(LookupError):
    """A job no recording matches: it is a test's setup that changed, never a verdict."""


def recording_key(job: SandboxJob) -> str:
    """Everything the probe could see of a job, hashed: files, plan, inputs, generated sources
    and limits (like `cache.job_key`, but without the probe script and the grader's version,
    which the manifest records instead)."""
    digest = hashlib.sha256(f"grader recording {RECORDING_FORMAT}\n".encode())
    for path in iter_submission_files(job.submission_dir):
        digest.update(str(path.relative_to(job.submission_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for req in job.requests:
        digest.update(json.dumps(_plan(req), sort_keys=True, default=str).encode() + b"\0")
    for name in sorted(job.inputs):
        array = np.ascontiguousarray(job.inputs[name])
        digest.update(f"{name}{array.dtype}{array.shape}".encode() + array.tobytes())
    for rel in sorted(job.extra_files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(job.extra_files[rel].encode()).digest())
    digest.update(json.dumps(dataclasses.asdict(job.limits), sort_keys=True).encode())
    return digest.hexdigest()


def probe_sha256() -> str:
    """The hash of the probe script that recordings made now would come from."""
    return hashlib.sha256(PROBE_SCRIPT.read_bytes()).hexdigest()


def _plan(req: ProbeRequest) -> dict[str, Any]:
    return {"id": req.id, "kind": req.kind, "timeout": req.timeout_s, "spec": dict(req.spec)}


def read_manifests(folder: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every recording under `folder` (any depth), by key."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(folder.rglob(MANIFEST)):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != RECORDING_FORMAT:
            raise ValueError(f"{path}: recording format {manifest.get('format')!r}, not 1")
        if manifest["key"] in found:
            raise ValueError(f"{path}: the same job is recorded twice")
        found[manifest["key"]] = (path.parent, manifest)
    return found


class RecordedRunner:
    """Replays recordings made by `RecordingRunner`; refuses any job it has no recording of.

    Refusals raise `NoRecording` and are also kept in `refused`: the grading pipeline turns an
    exception from a runner into a grader-bug verdict for that check, so a test reads `refused`
    to fail loudly (tests/conftest.py does after every test).
    """

    isolation = "bubblewrap"  # RecordingRunner records under bubblewrap only

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.recordings = read_manifests(folder) if folder.is_dir() else {}
        self.refused: list[str] = []
        self.replayed: set[str] = set()
        self._lock = threading.Lock()

    def run(self, job: SandboxJob) -> SandboxResult:
        key = recording_key(job)
        if key not in self.recordings:
            message = self._refusal(job, key)
            with self._lock:
                self.refused.append(message)
            raise NoRecording(message)
        folder, manifest = self.recordings[key]
        with self._lock:
            self.replayed.add(key)
        outcomes: dict[str, ProbeOutcome] = {}
        for req in job.requests:
            run = manifest["runs"][req.id]
            completed = Completed(
                run["returncode"], "", "", bool(run["timed_out"]), run["limit_hit"]
            )
            outcomes[req.id] = finish_outcome(folder / probe_folder(req.id), req, completed)
        result = manifest["result"]
        return SandboxResult(
            outcomes=outcomes,
            exit_code=result["exit_code"],
            timed_out=bool(result["timed_out"]),
            stdout_tail=result["stdout_tail"],
            stderr_tail=result["stderr_tail"],
            seconds=float(result["seconds"]),
            isolation=result["isolation"],
            limit_hit=result["limit_hit"],
        )

    def _refusal(self, job: SandboxJob, key: str) -> str:
        """What changed, as far as the manifests tell: same student and probes, other job."""
        ids = [req.id for req in job.requests]
        student = job.submission_dir.name
        near = [
            str(folder.relative_to(self.folder))
            for folder, manifest in self.recordings.values()
            if manifest["job"]["student"] == student and manifest["job"]["probes"] == ids
        ]
        why = (
            f"recordings of the same student and probes differ in files, plan or inputs: {near}"
            if near
            else "nothing is recorded for this student and these probes"
        )
        return (
            f"no recording of {student}'s {', '.join(ids)} (key {key[:12]}) under {self.folder}: "
            f"{why}; record them again (tests/data/recorded/README.md)"
        )


class _CapturingRunner(SandboxRunner):
    """The real cold runner, keeping a copy of each probe's `out/` files before they are read."""

    def __init__(self) -> None:
        super().__init__(warm=False)  # bubblewrap if available: RecordingRunner insists on it
        self._local = threading.local()

    def _run_one(
        self, job: SandboxJob, req: ProbeRequest, limits: Limits, keep: Keep | None = None
    ) -> tuple[ProbeOutcome, Completed]:
        self._local.captured = None
        outcome, completed = super()._run_one(job, req, limits, keep)
        captured = self._local.captured
        if captured is None:
            raise RuntimeError("the sandbox ran without passing through _execute: nothing recorded")
        self._local.runs.append((req, captured, completed))
        return outcome, completed

    def _execute(self, scratch: Path, limits: Limits, environment: Path | None = None) -> Completed:
        completed = super()._execute(scratch, limits, environment)
        out = scratch / "io" / "out"
        self._local.captured = {
            name: (out / name).read_bytes()
            for name in OUT_FILES
            if (out / name).is_file() and not (out / name).is_symlink()
        }
        return completed

    def run_captured(
        self, job: SandboxJob
    ) -> tuple[SandboxResult, list[tuple[ProbeRequest, dict[str, bytes], Completed]]]:
        self._local.runs = []
        result = self.run(job)
        return result, self._local.runs


class RecordingRunner:
    """Runs each job in the real sandbox (cold, under bubblewrap) and records it under `folder`.

    Recording an existing job again replaces its recording. Without bubblewrap it refuses to start:
    a recording must show what the real confinement lets a probe see.
    """

    isolation = "bubblewrap"

    def __init__(self, folder: Path) -> None:
        self.inner = _CapturingRunner()
        if self.inner.isolation != "bubblewrap":
            raise RuntimeError("recording needs bubblewrap (bwrap) on this machine")
        self.folder = folder
        self.recorded: list[Path] = []

    def close(self) -> None:
        self.inner.close()

    def run(self, job: SandboxJob) -> SandboxResult:
        result, runs = self.inner.run_captured(job)
        self.recorded.append(self._store(job, result, runs))
        return result

    def _store(
        self,
        job: SandboxJob,
        result: SandboxResult,
        runs: list[tuple[ProbeRequest, dict[str, bytes], Completed]],
    ) -> Path:
        key = recording_key(job)
        student = job.submission_dir.name
        manifest = {
            "format": RECORDING_FORMAT,
            "key": key,
            "probe_sha256": probe_sha256(),
            "job": {
                "student": student,
                "probes": [req.id for req in job.requests],
                "plan": [_plan(req) for req in job.requests],
                "inputs": {n: list(np.shape(a)) for n, a in sorted(job.inputs.items())},
                "generated": sorted(job.extra_files),
            },
            "result": {
                "exit_code": result.exit_code,
                "timed_out": result.timed_out,
                "stdout_tail": result.stdout_tail,
                "stderr_tail": result.stderr_tail,
                "seconds": round(result.seconds, 3),
                "isolation": result.isolation,
                "limit_hit": result.limit_hit,
            },
            "runs": {
                req.id: {
                    "returncode": completed.returncode,
                    "timed_out": completed.timed_out,
                    "limit_hit": completed.limit_hit,
                }
                for req, _, completed in runs
            },
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
        for req, files, _ in runs:
            probe_dir = staging / probe_folder(req.id)
            probe_dir.mkdir()
            for name, data in files.items():
                (probe_dir / name).write_bytes(data)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        entry = self.folder / f"{_safe(student)}--{key[:12]}"
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(staging, entry)
        return entry


def probe_folder(probe: str) -> str:
    """The folder of a recording that holds one probe's files (a probe id made safe)."""
    return _safe(probe)


def _safe(name: str) -> str:
    """A folder name from a student's or probe's name (no separators, nothing hidden)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return cleaned[:80] or "_"
