"""The cluster executor (`grade --scheduler`): jobs shipped to Dask workers as data, their raw
output read back by the TA's strict reader, worker deaths retried, worker killers failed.

The fast tests check the shipping and landing without Dask. The `sandbox` tests start a real
LocalCluster of two worker processes, each running the real sandbox, and compare its grades
with a local run's. A worker is killed for real (SIGKILL of its own process, from inside the
task, at a chosen moment): the stand-in for a probe that brings its host down, since the
sandbox itself leaves student code no way to.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.sandbox.cache import CachingRunner
from grader.sandbox.cluster import (
    KILLED_PROBLEM,
    _write_files,
    killed,
    land,
    run_shipped,
    ship,
)
from grader.sandbox.jobs import NOT_CACHED, ProbeRequest, SandboxJob, SandboxResult

ROOT = Path(__file__).resolve().parents[2]
HW4 = ROOT / "submissions" / "mfdnn" / "hw4"
STUDENTS = ("ana", "bruno", "chen")
KILL_MARK = b"# KILL-MY-WORKER"


def _job(folder: Path) -> SandboxJob:
    request = ProbeRequest("p1.run", "script", 5.0, {"file": "a.py"})
    return SandboxJob(folder, (request,), {"x": np.arange(3.0)})


def test_a_job_ships_the_files_the_scratch_copy_takes_as_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("print(1)\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "b.py").write_bytes(b"\x00\x01")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    payload = ship(_job(tmp_path))
    assert payload["files"] == [("a.py", b"print(1)\n"), ("pkg/b.py", b"\x00\x01")]
    assert not any(isinstance(v, Path) for v in payload.values())
    json.dumps({k: v for k, v in payload.items() if k not in ("files", "inputs")})


@pytest.mark.parametrize("rel", ["../x.py", "/etc/x.py", "a/../../x.py", ""])
def test_a_shipped_file_is_never_written_outside_the_copy(tmp_path: Path, rel: str) -> None:
    with pytest.raises(ValueError, match="outside the copy"):
        _write_files(tmp_path / "sub", [(rel, b"x")])


def _reply(files: dict[str, bytes], **run: Any) -> dict[str, Any]:
    probe = {"files": files, "returncode": 0, "stdout": "", "stderr": "", "timed_out": False}
    return {"isolation": "bubblewrap", "probes": {"p1.run": {**probe, "limit_hit": None, **run}}}


def test_what_comes_back_goes_through_the_strict_reader(tmp_path: Path) -> None:
    job = _job(tmp_path)
    forged = json.dumps({"id": "p9.other", "kind": "script"}).encode()
    result = land(job, _reply({"0.json": forged}), 1.0)
    assert result.outcomes["p1.run"].problem == "the observation was tampered with"
    result = land(job, _reply({"0.json": b"{not json"}), 1.0)
    assert "unreadable observation" in str(result.outcomes["p1.run"].problem)
    result = land(job, _reply({}, returncode=-9, limit_hit="memory limit"), 1.0)
    assert result.outcomes["p1.run"].observation is None
    assert result.limit_hit == "memory limit" and result.exit_code == -9
    assert "memory limit" in str(result.outcomes["p1.run"].problem)


def test_a_reply_missing_a_probe_is_a_problem_not_a_verdict(tmp_path: Path) -> None:
    result = land(_job(tmp_path), {"isolation": "bubblewrap", "probes": {}}, 1.0)
    assert result.outcomes["p1.run"].observation is None
    assert "no output came back" in str(result.outcomes["p1.run"].problem)
    assert result.extra[NOT_CACHED] is True
    with pytest.raises(ValueError):
        land(_job(tmp_path), {"probes": []}, 1.0)


class _Once:
    """A runner that returns one fixed result and counts its runs."""

    isolation = "bubblewrap"

    def __init__(self, result: SandboxResult) -> None:
        self.result = result
        self.runs = 0

    def run(self, job: SandboxJob) -> SandboxResult:
        self.runs += 1
        return self.result


def test_a_job_that_killed_workers_fails_saying_so_and_is_not_cached(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    job = _job(tmp_path / "sub")
    result = killed(job, 4, 1.0)
    assert result.outcomes["p1.run"].problem == KILLED_PROBLEM.format(n=4)
    assert result.extra[NOT_CACHED] is True
    inner = _Once(result)
    cache = CachingRunner(inner, tmp_path / "cache")
    cache.run(job)
    cache.run(job)
    assert inner.runs == 2  # run again next time: the cluster may have been at fault


def test_grade_says_how_to_get_dask_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    assert main([str(HW4 / "ana"), "--scheduler", "local:2"]) == 2
    assert "pip install 'grader[cluster]'" in capsys.readouterr().err


def test_a_scheduler_address_that_is_not_one_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("distributed")
    from grader.cli import main

    assert main([str(HW4 / "ana"), "--scheduler", "local:two"]) == 2
    assert "cannot use the Dask scheduler 'local:two'" in capsys.readouterr().err


# --- the real thing: a LocalCluster of two workers, each running the real sandbox -----------


def _kill_own_worker() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _shared_counter(folder: Path) -> int:
    (folder / f"started-{os.getpid()}-{os.urandom(4).hex()}").touch()
    return len(list(folder.glob("started-*")))


def _task_killing_at(folder: Path, nth: int) -> Any:
    """A task that runs jobs as usual, except that the `nth` job started kills its worker."""

    def task(payload: dict[str, Any]) -> dict[str, Any]:
        if _shared_counter(folder) == nth:
            _kill_own_worker()
        return run_shipped(payload)

    return task


def _task_killed_by_mark() -> Any:
    """A task whose worker dies whenever the job holds the killer's mark, however often."""

    def task(payload: dict[str, Any]) -> dict[str, Any]:
        if any(KILL_MARK in data for _, data in payload["files"]):
            _kill_own_worker()
        return run_shipped(payload)

    return task


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    pytest.importorskip("distributed")
    import cloudpickle

    from grader.sandbox.cluster import ClusterRunner

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    runner = ClusterRunner("local:2", allowed_failures=1)
    yield runner
    runner.shutdown()


def _class(tmp_path: Path, killer: bool = False) -> Path:
    folder = tmp_path / "hw4"
    for student in STUDENTS:
        shutil.copytree(HW4 / student, folder / student)
    if killer:
        shutil.copytree(HW4 / STUDENTS[0], folder / "zed")
        with open(folder / "zed" / "lenet_original.py", "ab") as fh:
            fh.write(b"\n" + KILL_MARK + b"\n")
    return folder


def _grade(folder: Path, runner: Any) -> dict[str, Any]:
    from grader.pipeline import GradeOptions, grade
    from grader.report.exports import results_json

    report = grade([folder], GradeOptions(runner=runner, jobs=2))
    return json.loads(results_json(report))


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from grader.sandbox.runner import SandboxRunner

    return _grade(_class(tmp_path_factory.mktemp("local")), SandboxRunner())


def _by_student(grades: dict[str, Any]) -> dict[str, Any]:
    return {s["student"]: s for s in grades["submissions"]}


@pytest.mark.sandbox
def test_two_workers_grade_a_class_exactly_as_a_local_run(
    cluster: Any, local_grades: dict[str, Any], tmp_path: Path
) -> None:
    cluster.task = run_shipped
    graded = _grade(_class(tmp_path), cluster)
    assert graded == local_grades
    assert cluster.isolation == "bubblewrap"


@pytest.mark.sandbox
def test_a_worker_killed_mid_batch_changes_no_grade(
    cluster: Any, local_grades: dict[str, Any], tmp_path: Path
) -> None:
    starts = tmp_path / "starts"
    starts.mkdir()
    cluster.task = _task_killing_at(starts, nth=3)
    try:
        graded = _grade(_class(tmp_path), cluster)
    finally:
        cluster.task = run_shipped
    assert len(list(starts.glob("started-*"))) > 3  # the killed job ran again elsewhere
    assert graded == local_grades


@pytest.mark.sandbox
def test_a_probe_that_kills_its_workers_fails_that_student_only(
    cluster: Any, local_grades: dict[str, Any], tmp_path: Path
) -> None:
    cluster.task = _task_killed_by_mark()
    try:
        graded = _by_student(_grade(_class(tmp_path, killer=True), cluster))
    finally:
        cluster.task = run_shipped
    killer = graded.pop("zed")
    assert graded == _by_student(local_grades)
    probed = [c for p in killer["problems"] for c in p["checks"] if "killed" in c["message"]]
    assert probed, killer
    assert all(c["status"] in ("failed", "error") for c in probed)
    assert all(KILLED_PROBLEM.format(n=4) in c["message"] for c in probed)


@pytest.mark.sandbox
def test_a_cluster_batch_is_cached_in_the_tas_process_and_resumes_from_it(
    cluster: Any, local_grades: dict[str, Any], tmp_path: Path
) -> None:
    cluster.task = run_shipped
    cached = CachingRunner(cluster, tmp_path / "cache")
    folder = _class(tmp_path)
    assert _grade(folder, cached) == local_grades
    ran = cached.misses
    assert ran > 0 and cached.hits == 0
    assert _grade(folder, cached) == local_grades  # as `--resume` does: nothing runs again
    assert cached.misses == ran and cached.hits == ran


@pytest.mark.sandbox
def test_grade_scheduler_local_from_the_command_line(
    local_grades: dict[str, Any], tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    from grader.cli import main

    out = tmp_path / "results.json"
    folder = _class(tmp_path)
    args = [str(folder), "--scheduler", "local:1", "--no-cache", "-q", "--json", str(out)]
    assert main(args) == 0
    assert json.loads(out.read_text()) == local_grades


@pytest.mark.slow
def test_a_cluster_without_workers_fails_the_job_saying_so_instead_of_stalling(
    tmp_path: Path,
) -> None:
    pytest.importorskip("distributed")
    from grader.sandbox.cluster import ClusterRunner

    runner = ClusterRunner("local:0", no_workers_s=1.0)  # a scheduler whose workers are gone
    try:
        result = runner.run(_job(tmp_path))
    finally:
        runner.shutdown()
    assert "no cluster worker was running for 1 s" in str(result.outcomes["p1.run"].problem)
    assert result.extra[NOT_CACHED] is True
