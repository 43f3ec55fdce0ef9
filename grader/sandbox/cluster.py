"""Probes run on a Dask cluster, everything else in the TA's process (`grade --scheduler`).

A `ClusterRunner` is a `Runner`: the observer, the cache, `--resume` and the progress bar use it
exactly as they use the local `SandboxRunner`. Per job it sends a Dask worker plain data: the
submission's files as bytes (exactly the files the local scratch copy takes, `copy_plan`), the
files the grader generated, the probe requests, the grader-drawn inputs and the limits; never the
reference or the rubric. The worker runs the job with its own `SandboxRunner` (the same sandbox,
limits and warm workers as a local run) and sends back each probe's raw output files and how its
process ended. The TA's process reads those files with the same strict reader as a local run
(`finish_outcome`), so a worker is trusted with running the sandbox, not with parsing what the
student's process wrote.

A worker that dies mid-job loses nothing: the scheduler runs the job again on another worker. A
job that keeps killing workers (the scheduler's `allowed-failures`, `KilledWorker`) ends as a
failed probe that says so, for that student only, and is not cached (it may have been the
cluster's fault). `distributed` is imported only here and only when a cluster is used: the grader
works without it (`pip install grader[cluster]`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from grader.errors import UsageError
from grader.sandbox.confinement import OUTPUT_TAIL, Completed
from grader.sandbox.exchange import _Capped, copy_plan, drop_scratch, finish_outcome, new_scratch
from grader.sandbox.jobs import (
    NOT_CACHED,
    Limits,
    ProbeOutcome,
    ProbeRequest,
    SandboxJob,
    SandboxResult,
)
from grader.sandbox.runner import SandboxRunner, summarise

LOCAL_PREFIX = "local:"  # `--scheduler local:2`: a LocalCluster of 2 one-thread workers
#: The raw output files a probe leaves (`inside/probe.py`); nothing else is shipped back.
OUTPUT_FILES = ("0.json", "0.bin", "0.arrays.json")
KILLED_PROBLEM = "the probe's run killed {n} cluster worker(s) in a row and was stopped"
KILLED_LIMIT = "killed its cluster worker"
WAIT_POLL_S = 5.0  # how often a waiting job checks that the cluster still has workers
#: How long a job waits on a cluster with no worker at all (a Slurm queue's wait for workers
#: included) before it fails, saying so, rather than stall the batch.
NO_WORKERS_S = 1800.0
OBSERVATION_BYTES = 8 * 2**20  # what `read_outcome` reads of an observation's JSON
WORKER_SECONDS = "worker_seconds"  # in `SandboxResult.extra`: the job's time on its worker
WORKER_WARM = "worker_warm"  # ... and whether that worker had warm sandboxes (not fallen back)


def ship(job: SandboxJob) -> dict[str, Any]:
    """The job as plain data for a worker: the submission's files as bytes, never a path.

    Exactly the files the local scratch copy takes (`copy_plan`: regular files, capped per file
    and in all), each read up to its planned size."""
    files: list[tuple[str, bytes]] = []
    for path, rel, size in copy_plan(job.submission_dir):
        with open(path, "rb") as source:
            files.append((rel, _Capped(source, size).read()))
    return {
        "files": files,
        "extra_files": dict(job.extra_files),
        "requests": [
            {"id": r.id, "kind": r.kind, "timeout_s": r.timeout_s, "spec": dict(r.spec)}
            for r in job.requests
        ],
        "inputs": {name: np.asarray(array) for name, array in job.inputs.items()},
        "limits": asdict(job.limits),
    }


def _write_files(root: Path, files: list[tuple[str, bytes]]) -> None:
    """The shipped files under `root`, only at plain relative paths (a bad one is a bug)."""
    for rel, data in files:
        path = PurePosixPath(rel)
        if not path.parts or path.is_absolute() or any(p in ("", ".", "..") for p in path.parts):
            raise ValueError(f"refusing to write shipped file {rel!r} outside the copy")
        target = root.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


_WORKER_RUNNER: list[SandboxRunner] = []
_WORKER_LOCK = threading.Lock()


def _worker_runner() -> SandboxRunner:
    """One SandboxRunner per worker process, so its warm sandboxes serve every job it gets."""
    with _WORKER_LOCK:
        if not _WORKER_RUNNER:
            _WORKER_RUNNER.append(SandboxRunner())
        return _WORKER_RUNNER[0]


def worker_isolation() -> str:
    """What a worker's sandbox is (run on each worker when the TA connects)."""
    return _worker_runner().isolation


def run_shipped(payload: dict[str, Any]) -> dict[str, Any]:
    """On a worker: run a shipped job in this worker's sandbox; return the raw output as data.

    Each probe's output files are read here only as bytes, capped at what the TA's reader would
    read (the observation JSON) or the file-size limit (the arrays); parsing them is the TA's."""
    runner = _worker_runner()
    limits = Limits(**payload["limits"])
    requests = tuple(ProbeRequest(**r) for r in payload["requests"])
    probes: dict[str, dict[str, Any]] = {}

    def keep(req: ProbeRequest, out_dir: Path, completed: Completed) -> None:
        probes[req.id] = {
            "files": _harvest(out_dir, limits.max_file_mb * 2**20),
            "returncode": completed.returncode,
            "stdout": completed.stdout,
            "stderr": completed.stderr,
            "timed_out": completed.timed_out,
            "limit_hit": completed.limit_hit,
        }

    folder = new_scratch("run")
    try:
        submission = folder / "submission"
        submission.mkdir()
        _write_files(submission, payload["files"])
        job = SandboxJob(submission, requests, payload["inputs"], limits, payload["extra_files"])
        seconds = runner.run(job, keep=keep).seconds
    finally:
        drop_scratch(folder)
    warm = runner.pool is not None and not runner.pool.disabled  # cold: slower, as locally
    return {"isolation": runner.isolation, "probes": probes, "seconds": seconds, "warm": warm}


def _harvest(out_dir: Path, max_bytes: int) -> dict[str, bytes]:
    """The probe's output files as bytes: plain files only, each read up to its cap."""
    found: dict[str, bytes] = {}
    for name in OUTPUT_FILES:
        path = out_dir / name
        if path.is_symlink() or not path.is_file():
            continue
        cap = OBSERVATION_BYTES if name.endswith(".json") else max_bytes
        with open(path, "rb") as fh:
            found[name] = fh.read(cap)
    return found


def land(job: SandboxJob, reply: Mapping[str, Any], seconds: float) -> SandboxResult:
    """A worker's reply read in the TA's process: each probe's files through the strict reader
    (`finish_outcome`), its run summed up as a local run's (`summarise`)."""
    isolation = reply.get("isolation")
    probes = reply.get("probes")
    if not isinstance(isolation, str) or not isinstance(probes, Mapping):
        raise ValueError("unreadable reply from a cluster worker")
    outcomes: dict[str, ProbeOutcome] = {}
    runs: list[Completed] = []
    for req in job.requests:
        outcome, completed = _land_probe(req, probes.get(req.id))
        outcomes[req.id] = outcome
        runs.append(completed)
    result = summarise(outcomes, runs, seconds, isolation)
    if any(not isinstance(probes.get(req.id), Mapping) for req in job.requests):
        result.extra[NOT_CACHED] = True  # the worker's failing, not the student's: run it again
    worker_seconds = reply.get("seconds")
    if isinstance(worker_seconds, float):  # the sandbox's own time there: the rest is overhead
        result.extra[WORKER_SECONDS] = worker_seconds
    result.extra[WORKER_WARM] = reply.get("warm") is True
    return result


def _land_probe(req: ProbeRequest, probe: Any) -> tuple[ProbeOutcome, Completed]:
    if not isinstance(probe, Mapping):
        missing = Completed(None, "", "", False, "no output came back from the cluster worker")
        return ProbeOutcome(None, {}, "no output came back from the cluster worker"), missing
    completed = Completed(
        _int_or_none(probe.get("returncode")),
        str(probe.get("stdout", ""))[-OUTPUT_TAIL:],
        str(probe.get("stderr", ""))[-OUTPUT_TAIL:],
        probe.get("timed_out") is True,
        _str_or_none(probe.get("limit_hit")),
    )
    files = probe.get("files")
    folder = new_scratch("run")
    try:
        out_dir = folder / "out"
        out_dir.mkdir()
        if isinstance(files, Mapping):
            for name in OUTPUT_FILES:
                data = files.get(name)
                if isinstance(data, bytes):
                    (out_dir / name).write_bytes(data)
        return finish_outcome(out_dir, req, completed), completed
    finally:
        drop_scratch(folder)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) else None


def killed(
    job: SandboxJob, failures: int, seconds: float, isolation: str = "bubblewrap"
) -> SandboxResult:
    """The result of a job that killed `failures` workers in a row: each probe failed, saying
    so, and marked not to be cached."""
    return failed(job, KILLED_PROBLEM.format(n=failures), seconds, isolation)


def failed(job: SandboxJob, problem: str, seconds: float, isolation: str) -> SandboxResult:
    """Each probe of the job failed for `problem`, the cluster's doing: not cached."""
    outcomes = {req.id: ProbeOutcome(None, {}, problem) for req in job.requests}
    runs = [Completed(None, "", problem, False, KILLED_LIMIT) for _ in job.requests]
    result = summarise(outcomes, runs, seconds, isolation)
    result.extra[NOT_CACHED] = True
    return result


class NoWorkers(RuntimeError):
    """The cluster has had no worker for too long to wait for one."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no cluster worker was running for {seconds:g} s; grade again later")


class ClusterRunner:
    """Runs each job on a Dask worker (see the module's docstring). Thread-safe: the grading
    session's threads each wait for their own job's future.

    `address` is a scheduler's (`tcp://host:8786`) or `local:N`, a LocalCluster of N one-thread
    worker processes on this machine (tests, benchmarks). `allowed_failures` applies to the
    LocalCluster only; a remote scheduler has its own (`distributed.scheduler.allowed-failures`).
    """

    def __init__(
        self,
        address: str,
        allowed_failures: int = 3,
        task: Any = None,
        connect_timeout_s: float = 60.0,
        no_workers_s: float = NO_WORKERS_S,
    ) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise UsageError(
                "--scheduler needs Dask distributed: pip install 'grader[cluster]'"
            ) from exc
        self.address = address
        self.allowed_failures = allowed_failures
        self.task = task or run_shipped
        self.no_workers_s = no_workers_s
        self.cluster: Any = None
        try:
            if address.startswith(LOCAL_PREFIX):
                workers = int(address.removeprefix(LOCAL_PREFIX) or "1")
                config = {
                    "distributed.scheduler.allowed-failures": allowed_failures,
                    # one job per worker thread where the scheduler queues: fewer bystanders
                    "distributed.scheduler.worker-saturation": 1.0,
                }
                with dask.config.set(config):
                    self.cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        memory_limit=0,  # the sandbox limits each probe's memory itself
                        dashboard_address=":0",  # any free port: never a clash with 8787
                    )
                self.client = Client(self.cluster, timeout=connect_timeout_s)
            else:
                self.client = Client(address, timeout=connect_timeout_s)
        except (OSError, ValueError, TimeoutError) as exc:
            if self.cluster is not None:
                self.cluster.close()
            raise UsageError(f"cannot use the Dask scheduler {address!r}: {exc}") from exc
        self._futures: set[Any] = set()
        self._lock = threading.Lock()
        self.isolation = self._workers_isolation()
        weakref.finalize(self, _shut, self.client, self.cluster)

    def _workers_isolation(self) -> str:
        """bubblewrap only if every worker has it: the weakest worker's sandbox is the class's."""
        found = set(self.client.run(worker_isolation).values())
        if not found:
            return "bubblewrap"  # no worker yet (an adaptive cluster): each reply says its own
        return "bubblewrap" if found == {"bubblewrap"} else "rlimits-only"

    def slots(self) -> int:
        """How many probes the cluster runs at once now (its workers' threads)."""
        return sum(self.client.nthreads().values())

    def run(self, job: SandboxJob) -> SandboxResult:
        """The job on a worker; a job the scheduler gave up on as a worker killer is tried once
        more under a new key before it is failed (see `_attempt`)."""
        started = time.monotonic()
        payload = ship(job)
        deaths = 0
        for _ in range(2):
            try:
                reply, died = self._attempt(payload)
            except NoWorkers as exc:
                return failed(job, str(exc), time.monotonic() - started, self.isolation)
            if reply is not None:
                return land(job, reply, time.monotonic() - started)
            deaths += died
        return killed(job, deaths, time.monotonic() - started, self.isolation)

    def _attempt(self, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, int]:
        """(the worker's reply, 0), or (None, workers that died running it) on `KilledWorker`.

        The scheduler counts a death against every task assigned to the dying worker, the ones
        waiting behind the culprit too: a second attempt (a new key, a fresh count) tells a
        bystander, which then runs normally, from a job that really kills its workers."""
        from distributed import KilledWorker

        future = self.client.submit(self.task, payload, pure=False, retries=1)
        with self._lock:
            self._futures.add(future)
        try:
            return self._wait(future), 0
        except KilledWorker as exc:
            return None, int(exc.allowed_failures) + 1
        finally:
            with self._lock:
                self._futures.discard(future)

    def _wait(self, future: Any) -> dict[str, Any]:
        """The job's reply; NoWorkers once the cluster has had no worker for `no_workers_s`
        (every worker gone, none started): the batch ends, saying so, instead of waiting for
        ever. A long job on live workers is waited for: its own limits end it there."""
        last_seen = time.monotonic()
        while True:
            try:
                return dict(future.result(timeout=WAIT_POLL_S))
            except TimeoutError:
                if self.client.nthreads():
                    last_seen = time.monotonic()
                elif time.monotonic() - last_seen > self.no_workers_s:
                    future.cancel()
                    raise NoWorkers(self.no_workers_s) from None

    def close(self) -> None:
        """The batch is over or interrupted: cancel the jobs still queued or running (the
        client stays connected, so the runner stays usable)."""
        with self._lock:
            pending, self._futures = list(self._futures), set()
        if pending:
            self.client.cancel(pending)

    def shutdown(self) -> None:
        """Disconnect, and stop the LocalCluster if this runner started one."""
        self.close()
        _shut(self.client, self.cluster)


def _shut(client: Any, cluster: Any) -> None:
    client.close()
    if cluster is not None:
        cluster.close()
