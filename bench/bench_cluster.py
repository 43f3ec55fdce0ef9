"""Benchmark: the same class graded on 1 local job, 2 local jobs and a Dask cluster (issue 17).

Builds a synthetic HW6 class of N students (``s000``, ``s001``, ...), each a copy of the demo
student alice whose ``ddescent.py`` is the real double-descent computation (random ReLU features,
an SVD per width, 12 lambdas) on a reduced grid of widths (``--step``: ``np.arange(1, 1501,
step)``), so every student costs real CPU in the sandbox. Only p5 is graded (``-k p5``: one script
probe per student), with no cache, in four fresh processes, one per mode:

- ``local1``: the local warm-worker runner, 1 job;
- ``local2``: the same, 2 jobs;
- ``cluster2``: ``--scheduler local:2``, a LocalCluster of 2 worker processes of 1 thread each
  (each running the same sandbox), 2 jobs on the TA's side;
- ``cluster2-kill``: the same, with one worker SIGKILLed (from outside, as a lost node would be)
  once half the class is graded; the nanny restarts it and the scheduler re-runs its job.

It reports each mode's wall time (grading only; the cluster's start is timed apart), the ratios,
the time per submission, and the per-submission overhead the cluster adds: per job, the time the
TA's process waited minus the time the job took on its worker (shipping the files, scheduling,
sending back and strictly reading the raw output). The four runs' grades must be identical: the
JSON of the results is compared, and the benchmark fails if they differ.

Run: ``python bench/bench_cluster.py [--n 200] [--step 30] [--no-write]``. The machine is shared:
the load averages before and after each mode are printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ALICE = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Cluster executor (issue 17)"
HEADING = "### Latest run (written by bench/bench_cluster.py"
MODES = ("local1", "local2", "cluster2", "cluster2-kill")
GRID_LINE = "num_params = np.arange(1, 1501, 10)"


def build_class(folder: Path, n: int, step: int) -> Path:
    """N students in `folder/hw6/`: alice's folder, her grid of widths cut to every `step`."""
    source = (ALICE / "ddescent.py").read_text()
    if GRID_LINE not in source:
        raise SystemExit(f"{ALICE}/ddescent.py no longer has {GRID_LINE!r}: update the bench")
    cls = folder / "hw6"
    for i in range(n):
        student = cls / f"s{i:03d}"
        shutil.copytree(ALICE, student)
        script = source.replace(GRID_LINE, f"num_params = np.arange(1, 1501, {step})")
        (student / "ddescent.py").write_text(f"# synthetic student {i}\n{script}")
    return cls


class Timed:
    """Wraps a runner: each job's wall time here and, on a cluster, its time on the worker."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.isolation = inner.isolation
        self.jobs: list[tuple[float, float | None]] = []
        self.in_flight = 0
        self.cold = 0  # cluster jobs run on a worker whose warm sandboxes failed to start
        self._lock = threading.Lock()

    def run(self, job: Any) -> Any:
        started = time.perf_counter()
        with self._lock:
            self.in_flight += 1
        try:
            result = self.inner.run(job)
        finally:
            with self._lock:
                self.in_flight -= 1
        waited = time.perf_counter() - started
        with self._lock:
            self.jobs.append((waited, result.extra.get("worker_seconds")))
            self.cold += result.extra.get("worker_warm") is False
        return result


def measure(mode: str, cls: Path, out: Path) -> None:
    """One mode, in this (fresh) process: grade `cls` -k p5 and write the figures to `out`."""
    sys.path.insert(0, str(ROOT))
    from grader.pipeline import GradeOptions, grade
    from grader.report.exports import results_json
    from grader.sandbox.runner import SandboxRunner

    load_before = os.getloadavg()
    started = time.perf_counter()
    if mode.startswith("cluster"):
        from grader.sandbox.cluster import ClusterRunner

        inner: Any = ClusterRunner("local:2")
    else:
        inner = SandboxRunner()
    startup = time.perf_counter() - started
    runner = Timed(inner)
    graded: list[str] = []
    killed: list[int] = []
    in_flight: list[int] = []  # jobs running when the worker was killed
    students = len(list(cls.iterdir()))

    def on_graded(result: Any) -> None:
        graded.append(result.student)
        if mode == "cluster2-kill" and len(graded) == students // 2 and not killed:
            pids = inner.client.run(os.getpid)  # {worker address: pid}
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            in_flight.append(runner.in_flight)

    jobs = 1 if mode == "local1" else 2
    options = GradeOptions(select="p5", jobs=jobs, runner=runner, on_graded=on_graded)
    started = time.perf_counter()
    report = grade([cls], options)
    wall = time.perf_counter() - started
    if hasattr(inner, "shutdown"):
        inner.shutdown()
    out.write_text(
        json.dumps(
            {
                "mode": mode,
                "jobs": jobs,
                "startup_s": startup,
                "wall_s": wall,
                "students": students,
                "job_times": runner.jobs,
                "cold_jobs": runner.cold,
                "killed_pids": killed,
                "in_flight_at_kill": in_flight,
                "load_before": load_before,
                "load_after": os.getloadavg(),
                "results": json.loads(results_json(report)),
            }
        )
    )


def run_modes(cls: Path, work: Path) -> dict[str, dict[str, Any]]:
    runs = {}
    for mode in MODES:
        out = work / f"{mode}.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "measure",
            mode,
            str(cls),
            str(out),
        ]
        print(f"$ {' '.join(command)}", flush=True)
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        runs[mode] = json.loads(out.read_text())
        print(f"  {mode}: {runs[mode]['wall_s']:.1f} s", flush=True)
    return runs


RUN_TIME = re.compile(r" in \d+(\.\d+)? s\b")


def grades(results: dict[str, Any]) -> dict[str, Any]:
    """Every student's total and every check's status, score and message: the results JSON less
    the script's run time that a `runs` message quotes ("ran to the end in 2 s")."""
    return {
        s["student"]: (
            s["score"],
            [
                (c["id"], c["status"], c["score"], RUN_TIME.sub(" in _ s", c["message"]))
                for p in s["problems"]
                for c in p["checks"]
            ],
        )
        for s in results["submissions"]
    }


def report(runs: dict[str, dict[str, Any]], n: int, step: int) -> tuple[str, bool]:
    base = grades(runs["local1"]["results"])
    same = {mode: grades(run["results"]) == base for mode, run in runs.items()}
    scores = [total for total, _ in base.values()]
    lines = [
        f"{HEADING}, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC)",
        "",
        f"{n} synthetic students, `ddescent.py` at every {step}th width "
        f"({len(range(1, 1501, step))} widths), graded `-k p5` with no cache; "
        f"{platform.machine()}, {os.cpu_count()} cores, shared with other sessions "
        "(load averages below).",
        "",
        "| mode | jobs | wall s | vs 1 job | s per submission | start s | load before/after |",
        "|---|---|---|---|---|---|---|",
    ]
    one = runs["local1"]["wall_s"]
    for mode, run in runs.items():
        wall = run["wall_s"]
        load = f"{run['load_before'][0]:.1f} / {run['load_after'][0]:.1f}"
        lines.append(
            f"| {mode} | {run['jobs']} | {wall:.1f} | {one / wall:.2f}x | {wall / n:.2f} | "
            f"{run['startup_s']:.1f} | {load} |"
        )
    overheads = [
        waited - worker
        for mode in ("cluster2", "cluster2-kill")
        for waited, worker in runs[mode]["job_times"]
        if worker is not None
    ]
    if overheads:
        lines += [
            "",
            f"Cluster overhead per submission (TA's wait minus the job's time on its worker, "
            f"{len(overheads)} jobs): median {statistics.median(overheads) * 1000:.0f} ms, "
            f"max {max(overheads) * 1000:.0f} ms.",
        ]
    cold = {mode: runs[mode].get("cold_jobs", 0) for mode in ("cluster2", "cluster2-kill")}
    lines.append(f"Cluster jobs run on a worker fallen back to cold sandboxes: {cold}.")
    killed = runs["cluster2-kill"]["killed_pids"]
    lines += [
        f"cluster2 vs local2: {runs['local2']['wall_s'] / runs['cluster2']['wall_s']:.2f}x.",
        f"Killed worker run: worker pid {killed} SIGKILLed after {n // 2} students, "
        f"{runs['cluster2-kill']['in_flight_at_kill']} job(s) in flight then.",
        "Grades identical to the 1-job run (every check's status, score and message; a `runs` "
        "message's run time aside): "
        + ", ".join(f"{mode} {'yes' if ok else 'NO'}" for mode, ok in same.items())
        + f" (scores: {sorted(set(scores))}).",
    ]
    return "\n".join(lines) + "\n", all(same.values())


def write_results(section: str) -> None:
    """Put the latest run under SECTION, replacing the previous latest run only."""
    text = RESULTS.read_text(encoding="utf-8")
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n"
    start = text.index(SECTION) + len(SECTION) + 1
    heading = text.find("### Latest run (written by bench/bench_cluster.py", start)
    if heading >= 0:
        ends = [
            i for i in (text.find("\n## ", heading), text.find("\n### ", heading + 1)) if i >= 0
        ]
        end = min(ends) + 1 if ends else len(text)
        text = text[:heading] + section + "\n" + text[end:]
    else:
        text = text[:start] + "\n" + section + "\n" + text[start:]
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        measure(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description="local vs Dask cluster grading (issue 17)")
    parser.add_argument("--n", type=int, default=200, help="students in the synthetic class")
    parser.add_argument("--step", type=int, default=30, help="every step-th width of 1..1500")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        cls = build_class(Path(tmp), args.n, args.step)
        runs = run_modes(cls, Path(tmp))
    section, same = report(runs, args.n, args.step)
    print(section)
    if not args.no_write:
        write_results(section)
    if not same:
        raise SystemExit("grades differ between modes")


if __name__ == "__main__":
    main()
