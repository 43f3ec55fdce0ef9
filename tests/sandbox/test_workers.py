"""Warm workers (`grader/workers.py`), for real: bubblewrap, torch, hostile code, one worker.

The promise of a warm worker is that a probe run in it is indistinguishable from a cold one (a
fresh sandbox and interpreter): the same observation for the same inputs, and nothing one run
leaves behind (processes, files in /tmp, /dev/shm, HOME or TMPDIR, patched modules, student
modules) reaches the next run in the same worker. Tests that reuse a worker check that they did
(`pool.started` stays 1), so they cannot pass by accident on fresh workers. Hostile code reports
what it sees through the tensor its `forward` returns, as in tests/sandbox/test_sandbox.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.ingest.submission import ingest
from grader.judges.kinds import plan_probe
from grader.pipeline import GradeOptions, grade
from grader.rubric import ModuleCheck, load_rubric
from grader.sandbox.confinement import bubblewrap_available
from grader.sandbox.jobs import Limits, ProbeOutcome, ProbeRequest, SandboxJob, SandboxResult
from grader.sandbox.observe import Observer
from grader.sandbox.runner import SandboxRunner

REPO = Path(__file__).resolve().parents[2]
INPUTS = {"x0": np.ones((2, 3), np.float32), "g0": np.ones((2, 3))}

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.skipif(
        not bubblewrap_available(),
        reason="warm workers run only under bubblewrap (without it every probe is cold)",
    ),
]


def request(req_id: str, file: str, timeout_s: float = 20.0, kind: str = "module") -> ProbeRequest:
    spec: dict[str, Any] = {"file": file, "seed": 7}
    if kind == "module":
        spec |= {"class_name": "M", "init_args": [], "inputs": ["x0"], "cotangent": "g0"}
    else:
        spec |= {"globals": ["values", "draws"]}
    return ProbeRequest(id=req_id, kind=kind, timeout_s=timeout_s, spec=spec)


def submission(root: Path, name: str, source: str, **constants: Any) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    header = "".join(f"{key} = {value!r}\n" for key, value in constants.items())
    (folder / "m.py").write_text(header + textwrap.dedent(source))
    return folder


def run_one(
    runner: SandboxRunner, folder: Path, req: ProbeRequest, limits: Limits | None = None
) -> tuple[ProbeOutcome, SandboxResult]:
    job = SandboxJob(folder, (req,), INPUTS, limits or Limits(wall_s=30))
    result = runner.run(job)
    return result.outcomes[req.id], result


def flags(outcome: ProbeOutcome) -> list[float]:
    obs = outcome.observation
    assert outcome.problem is None and obs is not None, outcome.problem
    assert obs.error is None, obs.error  # type: ignore[union-attr]
    return outcome.arrays["out0"].tolist()


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def without_timings(obs: Any) -> Any:
    dump = obs.model_dump(mode="json")
    for key in ("seconds", "run_seconds"):
        dump.pop(key, None)
    return dump


@pytest.fixture(scope="module")
def runner() -> Iterator[SandboxRunner]:
    """One warm runner, used by one thread at a time: every run lands in the same worker."""
    warm = SandboxRunner(use_bwrap=True, warm=True)
    yield warm
    warm.close()


def same_worker(runner: SandboxRunner) -> None:
    assert runner.pool.started == 1, runner.pool.failures
    assert runner.pool.failures == []


# --------------------------------------------------------------------------------------------
# the same observation as the cold path


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_warm_worker_observes_the_demo_class_as_the_cold_path(student: str) -> None:
    rubric = load_rubric(REPO / "rubrics" / "mfdnn" / "hw6.yaml")
    sub = ingest(REPO / "submissions" / "mfdnn" / "hw6" / student)
    checks = [(p, c) for p in rubric.problems for c in p.checks if isinstance(c, ModuleCheck)]
    assert checks
    warm, cold = SandboxRunner(use_bwrap=True, warm=True), SandboxRunner(use_bwrap=True, warm=False)
    try:
        seen = {}
        for label, runner in (("warm", warm), ("cold", cold)):
            observer = Observer(runner, plan_probe, run_seed=3)
            seen[label] = [observer.outcome(sub, p, c)[0] for p, c in checks]
        assert warm.pool.started == 1 and warm.pool.failures == []
    finally:
        warm.close()
    for got, want in zip(seen["warm"], seen["cold"], strict=True):
        assert got is not None and want is not None
        assert got.problem == want.problem
        assert want.observation is not None
        assert without_timings(got.observation) == without_timings(want.observation)
        assert got.arrays.keys() == want.arrays.keys()
        for key, array in want.arrays.items():
            assert got.arrays[key].dtype == array.dtype
            assert got.arrays[key].tobytes() == array.tobytes(), key


def test_grading_warm_and_cold_gives_identical_results(tmp_path: Path) -> None:
    folders = [REPO / "submissions" / "mfdnn" / "hw6" / name for name in ("alice", "bob")]
    reports = []
    for warm in (True, False):
        runner = SandboxRunner(use_bwrap=True, warm=warm)
        report = grade(folders, GradeOptions(jobs=2, select="not p5", runner=runner))
        reports.append(report.model_dump_json())
    assert reports[0] == reports[1]


SCRIPT = """
import random

import matplotlib.pyplot as plt
import numpy as np
import torch

draws = [random.random(), float(np.random.rand()), float(torch.rand(1))]
values = [1.0, 2.0, 4.0]
plt.plot([1, 2, 3], values, label="v")
plt.legend()
plt.show()
"""


def test_unseeded_generators_and_figures_are_the_same_warm_or_cold(
    runner: SandboxRunner, tmp_path: Path
) -> None:
    folder = submission(tmp_path, "script", SCRIPT)
    req = request("p.script", "m.py", kind="script")
    cold = SandboxRunner(use_bwrap=True, warm=False)
    got, _ = run_one(runner, folder, req)
    again, _ = run_one(runner, folder, req)
    want, _ = run_one(cold, folder, req)
    assert want.observation is not None and want.observation.error is None  # type: ignore[union-attr]
    for outcome in (got, again):
        assert without_timings(outcome.observation) == without_timings(want.observation)
        assert {k: v.tolist() for k, v in outcome.arrays.items()} == {
            k: v.tolist() for k, v in want.arrays.items()
        }
    same_worker(runner)


# --------------------------------------------------------------------------------------------
# nothing of one run reaches the next one in the same worker

POLLUTER = """
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

import helper_of_polluter  # a student module of this submission only

WROTE = []
for folder in ("/tmp", "/dev/shm", os.environ["HOME"], os.environ["TMPDIR"], "."):
    path = Path(folder) / "left-behind.txt"
    path.write_text("from the previous student")
    WROTE.append(float(path.exists()))
os.makedirs(os.path.join(os.environ["TMPDIR"], "mpl"), exist_ok=True)
Path(os.environ["TMPDIR"], "mpl", "matplotlibrc").write_text("lines.linewidth: 42\\n")
CHILD = subprocess.Popen([MARK, "300"], executable=shutil.which("sleep"), start_new_session=True)
json.dumps = lambda *args, **kwargs: "PATCHED"
torch.nn.functional.relu = lambda x, *args, **kwargs: x * 0 + 42
torch.manual_seed(1234)
os.environ["LEFT_BEHIND"] = "1"
sys.modules["numpy"].PATCHED = True


class M(torch.nn.Module):
    def forward(self, x):
        alive = float(CHILD.poll() is None)
        return torch.tensor([*WROTE, alive], dtype=torch.float64)
"""

DETECTOR = """
import importlib.util
import json
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
import torch

SEEN = [
    *(
        float((Path(folder) / "left-behind.txt").exists())
        for folder in ("/tmp", "/dev/shm", os.environ["HOME"], os.environ["TMPDIR"], ".")
    ),
    float(json.dumps([1]) == "PATCHED"),
    float(float(torch.nn.functional.relu(torch.zeros(1))) == 42.0),
    float("LEFT_BEHIND" in os.environ),
    float(hasattr(np, "PATCHED")),
    float(importlib.util.find_spec("helper_of_polluter") is not None),
    float("helper_of_polluter" in sys.modules),
    float(matplotlib.rcParams["lines.linewidth"] == 42),
]
OTHERS = []
for entry in Path("/proc").iterdir():
    if entry.name.isdigit() and int(entry.name) not in (1, os.getpid()):
        try:
            OTHERS.append((entry / "cmdline").read_bytes())
        except OSError:
            pass
SEEN.append(float(len(OTHERS)))
SEEN.append(float(os.getppid() == 1))  # control: the worker is PID 1 and the child's parent
SEEN.append(float(torch.initial_seed() == 7))  # control: the probe seeded torch from the plan


class M(torch.nn.Module):
    def forward(self, x):
        return torch.tensor(SEEN, dtype=torch.float64)
"""


def test_a_run_leaves_nothing_for_the_next_one(runner: SandboxRunner, tmp_path: Path) -> None:
    marker = f"grader-test-worker-{uuid.uuid4().hex}"
    polluter = submission(tmp_path, "polluter", POLLUTER, MARK=marker)
    (polluter / "helper_of_polluter.py").write_text("X = 1\n")
    detector = submission(tmp_path, "detector", DETECTOR)
    try:
        done, _ = run_one(runner, polluter, request("p.m", "m.py"))
        assert flags(done) == [1.0] * 6  # control: every file was written, the child ran
        time.sleep(0.5)
        left = processes_with(marker)
        seen, _ = run_one(runner, detector, request("p.m", "m.py"))
    finally:
        for pid in processes_with(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert left == [], "the polluter's background process survived its run"
    assert flags(seen) == [0.0] * 12 + [0.0, 1.0, 1.0]
    same_worker(runner)


# --------------------------------------------------------------------------------------------
# a child attacking its worker, hanging, or hitting limits; the worker carries on

KILLER = """
import os
import signal

import torch

RESULTS = []
for target in (1, os.getppid(), -1):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGSTOP):
        try:
            os.kill(target, sig)
        except OSError:
            pass
RESULTS.append(float(os.getppid() == 1))
RESULTS.append(float(os.path.exists("/proc/1")))
try:
    with open("/proc/1/mem", "rb") as fh:
        RESULTS.append(1.0)
except OSError:
    RESULTS.append(0.0)


class M(torch.nn.Module):
    def forward(self, x):
        return torch.tensor(RESULTS, dtype=torch.float64)
"""

GOOD = """
import torch


class M(torch.nn.Module):
    def forward(self, x):
        return x * 2
"""

STUBBORN = """
import torch


class M(torch.nn.Module):
    def forward(self, x):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
"""

HOG = """
import numpy as np
import torch

HOARD = np.ones(2 * 2**30 // 8)  # 2 GiB under a 1 GiB limit


class M(torch.nn.Module):
    def forward(self, x):
        return x
"""

SUICIDE = """
import os
import signal

import torch

os.kill(os.getpid(), signal.SIGKILL)
"""


def assert_good(runner: SandboxRunner, tmp_path: Path, name: str) -> None:
    folder = submission(tmp_path, name, GOOD)
    outcome, result = run_one(runner, folder, request("p.m", "m.py"))
    assert outcome.observation is not None and outcome.observation.error is None  # type: ignore[union-attr]
    assert outcome.arrays["out0"].tolist() == [[2.0] * 3] * 2
    assert result.limit_hit is None and not result.timed_out


def test_a_child_cannot_kill_or_read_its_worker(runner: SandboxRunner, tmp_path: Path) -> None:
    outcome, _ = run_one(runner, submission(tmp_path, "killer", KILLER), request("p.m", "m.py"))
    assert flags(outcome) == [1.0, 1.0, 0.0]  # still PID 1's child; /proc/1/mem unreadable
    assert_good(runner, tmp_path, "after-killer")
    same_worker(runner)


def test_a_hanging_child_is_stopped_and_the_worker_goes_on(
    runner: SandboxRunner, tmp_path: Path
) -> None:
    folder = submission(tmp_path, "stubborn", STUBBORN)
    started = time.monotonic()
    outcome, result = run_one(runner, folder, request("p.m", "m.py", timeout_s=1), Limits(wall_s=4))
    assert time.monotonic() - started < 4 + 5
    assert result.timed_out and result.limit_hit == "time limit (4 s)"
    assert outcome.observation is None and "time limit" in (outcome.problem or "")
    assert_good(runner, tmp_path, "after-stubborn")
    same_worker(runner)


def test_memory_and_kills_are_reported_with_their_limit(
    runner: SandboxRunner, tmp_path: Path
) -> None:
    hog, _ = run_one(
        runner, submission(tmp_path, "hog", HOG), request("p.m", "m.py"), Limits(memory_mb=1024)
    )
    assert hog.observation is not None and hog.observation.error is not None
    assert hog.observation.error.type == "MemoryError"
    dead, result = run_one(runner, submission(tmp_path, "suicide", SUICIDE), request("p.m", "m.py"))
    assert dead.observation is None
    assert result.limit_hit == "killed (memory or time limit)" and result.exit_code == -9
    assert "killed (memory or time limit)" in (dead.problem or "")
    assert_good(runner, tmp_path, "after-limits")
    same_worker(runner)


def test_a_dead_worker_is_replaced_and_the_probe_runs_cold(tmp_path: Path) -> None:
    """The worker's whole sandbox killed from outside in the middle of a run (what the grader
    does to a worker that misbehaves): the probe still gets its observation, cold, and the next
    probe gets a fresh worker."""
    runner = SandboxRunner(use_bwrap=True, warm=True)
    try:
        assert_good(runner, tmp_path, "first")
        [worker] = runner.pool._idle
        slow = submission(tmp_path, "slow", "import time\ntime.sleep(3)\n" + textwrap.dedent(GOOD))

        def kill_soon() -> None:
            time.sleep(1.0)
            os.kill(worker.sandbox_pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        outcome, _ = run_one(runner, slow, request("p.m", "m.py"))
        killer.join()
        assert outcome.observation is not None and outcome.observation.error is None  # type: ignore[union-attr]
        assert runner.pool.failures and worker.runs == 2
        assert not worker.dir.exists()
        assert_good(runner, tmp_path, "after")
        assert runner.pool.started == 2
    finally:
        runner.close()


def test_close_leaves_no_process_and_no_folder(tmp_path: Path) -> None:
    runner = SandboxRunner(use_bwrap=True, warm=True)
    assert_good(runner, tmp_path, "one")
    [worker] = runner.pool._idle
    pid = worker.sandbox_pid
    runner.close()
    assert not worker.dir.exists()
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the kernel reaps the namespace
            os.kill(pid, 0)
            time.sleep(0.1)
    assert_good(runner, tmp_path, "two")  # a closed runner starts a new worker when used again
    runner.close()


def test_a_prestarted_worker_serves_the_first_probe(tmp_path: Path) -> None:
    """`prestart` is what the CLI calls before its own `import torch`: the first probe must use
    that worker (waiting for it if it is still starting), not start a second one."""
    runner = SandboxRunner(use_bwrap=True, warm=True)
    try:
        runner.prestart()
        assert_good(runner, tmp_path, "first")  # at once: the worker is still importing torch
        assert_good(runner, tmp_path, "second")
        assert runner.pool.started == 1, runner.pool.failures
    finally:
        runner.close()


def test_a_prestarted_worker_nobody_used_is_stopped_by_close() -> None:
    runner = SandboxRunner(use_bwrap=True, warm=True)
    runner.prestart()
    [starting] = runner.pool._starting
    runner.close()  # returns at once, while the worker may still be starting
    worker = starting.result(timeout=60)
    assert worker is not None
    for _ in range(100):  # its start ends, then the callback kills it
        if not worker.dir.exists():
            break
        time.sleep(0.1)
    assert not worker.dir.exists()
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(worker.sandbox_pid, 0)
            time.sleep(0.1)


def test_the_cold_path_stays_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_WARM", "0")
    assert SandboxRunner(use_bwrap=True).pool is None
    monkeypatch.delenv("GRADER_WARM")
    assert SandboxRunner(use_bwrap=True).pool is not None
    assert SandboxRunner(use_bwrap=False, warm=True).pool is None  # no bubblewrap: always cold


def _probe_module() -> Any:
    """probe.py as a module (it imports nothing from the grader: it runs alone in the sandbox)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "probe_for_test", REPO / "grader" / "sandbox" / "inside" / "probe.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wiping_keeps_the_sandboxs_own_mounts_and_empties_the_way_to_them(tmp_path: Path) -> None:
    """A venv under /tmp (a clone in /tmp, say) is a read-only mount inside the tmpfs the worker
    wipes: the mount and the directories leading to it stay, everything else goes. Before this,
    every run ended 'unclean' there and each probe paid for a new worker."""
    probe = _probe_module()
    venv = tmp_path / "clone" / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "lib" / "torch.py").write_text("# the mount's content: not the child's to remove\n")
    (tmp_path / "clone" / "left-by-a-student.txt").write_text("x")
    (tmp_path / "clone" / "hidden" / "deep").mkdir(parents=True)
    (tmp_path / "stray.npy").write_bytes(b"x")
    kept = frozenset({str(venv)})
    assert probe._wipe(str(tmp_path), kept) is True
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "clone",
        "clone/.venv",
        "clone/.venv/lib",
        "clone/.venv/lib/torch.py",
    ]


def test_mount_points_are_read_from_mountinfo() -> None:
    probe = _probe_module()
    points = probe._mount_points()
    assert "/" in points and "/proc" in points


def test_a_vanished_wipe_folder_is_not_clean(tmp_path: Path) -> None:
    assert _probe_module()._wipe(str(tmp_path / "gone")) is False


def test_a_worker_that_fails_to_start_says_why_and_leaves_the_probe_to_the_cold_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its log was read after `kill()` had closed it: ValueError escaped the pool (seen on a
    loaded Dask worker), failing the student's check instead of running the probe cold."""
    from grader.sandbox import workers

    def no_pid(fd: int) -> int:
        raise workers.WorkerError("bwrap gave no child pid (simulated)")

    monkeypatch.setattr(workers, "_read_child_pid", no_pid)
    with pytest.raises(workers.WorkerError, match="simulated"):
        workers.Worker(threads=1)
    runner = SandboxRunner(use_bwrap=True, warm=True)
    folder = submission(tmp_path, "ok", GOOD)
    result = runner.run(SandboxJob(folder, (request("p", "m.py"),), INPUTS))
    assert result.outcomes["p"].observation is not None, result.outcomes["p"].problem
    assert runner.pool is not None and runner.pool.disabled and runner.pool.started == 0
    assert "simulated" in runner.pool.failures[0]
