"""Containment tests for the sandbox: the real `SandboxRunner`, real subprocesses, hostile code.

Each test writes a tiny submission that misbehaves (prints fake results, loops, exits, hogs
memory, reads secrets, phones home, forks, rewrites the probe's output) and checks that the run
still ends, that the grader's process survives and that nothing the student did can pass for a
good observation. Nothing here is mocked: a sandbox that only looked safe under a mock would be
worse than none.

Sandbox starts cost ~3 s each (the probe imports torch), so related probes share one run through
module-scoped fixtures: several hostile files go into one plan, one file per probe, and each
test asserts on its own probe's outcome. Hostile code reports what it managed to do through the
tensor its `forward` returns (1.0 = it succeeded), so the test reads it from the output arrays;
every such detector has a positive control (a flag that must be 1, or the same probe run without
bubblewrap), so a detector that silently stopped working would fail the test instead of passing.

Filesystem, environment-of-other-processes and network isolation exist only under bubblewrap:
those tests are skipped, with the reason, where bwrap cannot create namespaces. Known holes are
kept as strict xfails with the precise reason, so a fix shows up as an XPASS to be unmarked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import textwrap
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import grader.sandbox.runner
from grader.sandbox.confinement import STARTUP_S, bubblewrap_available
from grader.sandbox.exchange import copy_submission, read_outcome
from grader.sandbox.jobs import Limits, ProbeOutcome, ProbeRequest, SandboxJob, SandboxResult
from grader.sandbox.observations import MAX_ARRAY_BYTES, ModuleObservation
from grader.sandbox.runner import SandboxRunner

REPO = Path(__file__).resolve().parents[2]
REFERENCE_FILE = REPO / "reference" / "mfdnn" / "hw6" / "p4_stm.py"
GRADER_SOURCE = Path(grader.sandbox.runner.__file__).resolve()

BWRAP = bubblewrap_available()
BWRAP_SKIP_REASON = (
    "bubblewrap is missing or cannot create namespaces here; filesystem, process and network "
    "isolation only exist under bwrap (the rlimits-only fallback does not claim them)"
)
NEEDS_BWRAP = pytest.mark.skipif(not BWRAP, reason=BWRAP_SKIP_REASON)
RUNNERS = [
    pytest.param(True, id="bwrap", marks=NEEDS_BWRAP),
    pytest.param(False, id="rlimits-only"),
]
IS_ROOT = os.getuid() == 0

INPUTS: dict[str, np.ndarray] = {
    "x0": np.ones((2, 3), np.float32),
    "g0": np.ones((2, 3)),
}
SEED = 1


# --------------------------------------------------------------------------------------------
# helpers


def probe_request(req_id: str, file: str, timeout_s: float = 20.0) -> ProbeRequest:
    """A `module` probe of class `M` in `file`, on input x0 with cotangent g0."""
    spec = {
        "file": file,
        "class_name": "M",
        "init_args": [],
        "seed": SEED,
        "inputs": ["x0"],
        "cotangent": "g0",
    }
    return ProbeRequest(id=req_id, kind="module", timeout_s=timeout_s, spec=spec)


def student_source(body: str, **constants: Any) -> str:
    """Student code: `NAME = repr(value)` lines the hostile body reads, then the body itself.

    Constants rather than str.format keep the braces of the Python body literal.
    """
    header = "".join(f"{name} = {value!r}\n" for name, value in constants.items())
    return header + textwrap.dedent(body)


def write_submission(folder: Path, files: Mapping[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run(
    folder: Path,
    requests: tuple[ProbeRequest, ...],
    use_bwrap: bool | None,
    limits: Limits | None = None,
) -> SandboxResult:
    job = SandboxJob(folder, requests, INPUTS, limits or Limits(wall_s=30))
    return SandboxRunner(use_bwrap=use_bwrap).run(job)


def observed(outcome: ProbeOutcome) -> ModuleObservation:
    assert outcome.problem is None, outcome.problem
    assert outcome.observation is not None
    return outcome.observation


def flags(outcome: ProbeOutcome) -> list[float]:
    """What a hostile probe reported through its forward output (1.0 = the attempt worked)."""
    obs = observed(outcome)
    assert obs.error is None, obs.error
    assert obs.forwards and obs.forwards[0].ok, obs.forwards
    return outcome.arrays["out0"].tolist()


def processes_with(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def leftovers(marker: str, grace_s: float = 2.0) -> list[int]:
    """Processes still carrying `marker` after a short grace period for the kernel to reap."""
    deadline = time.monotonic() + grace_s
    while (found := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def kill_all(pids: list[int]) -> None:
    """Clean up processes our own hostile submissions started, by pid."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# a normal module, and the same module printing fake results

NORMAL = """
import torch


class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((3,), 0.5))
        self.lin = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x) * self.w
"""

FAKE_OBSERVATION = {
    "kind": "module",
    "id": "p.m",
    "stage": "done",
    "forwards": [{"ok": True, "shape": [9, 9]}],
    "backward": {"ok": True, "has_grad": [True]},
}

PRINTING = student_source(
    """
    import json
    import os
    import sys

    import torch

    print(json.dumps(FAKE))
    print("tests/test_stm.py::test_forward PASSED")
    print("=============== 12 passed in 0.01s ===============")
    sys.stderr.write("stderr noise from import\\n")
    os.write(1, ("RAW-FD " + json.dumps(FAKE) + "\\n").encode())
    sys.__stdout__.write("DUNDER PASSED\\n")
    sys.__stdout__.flush()


    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.full((3,), 0.5))
            self.lin = torch.nn.Linear(3, 3)

        def forward(self, x):
            print(json.dumps(FAKE))
            print("FORWARD PASSED")
            return self.lin(x) * self.w
    """,
    FAKE=FAKE_OBSERVATION,
)


@pytest.fixture(scope="module", params=RUNNERS)
def normal_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SandboxResult:
    folder = write_submission(tmp_path_factory.mktemp("normal") / "sub", {"m.py": NORMAL})
    return run(folder, (probe_request("p.m", "m.py"),), request.param)


def expected_normal() -> dict[str, np.ndarray]:
    """The same module built here and given the probe's fresh weights: what the arrays must hold."""
    from grader.sandbox.inside.probe import _distinct_parameters, _reinitialise

    holder = torch.nn.Module()
    holder.w = torch.nn.Parameter(torch.full((3,), 0.5))
    holder.lin = torch.nn.Linear(3, 3)
    _reinitialise(_distinct_parameters(holder)[1], SEED)
    w, lin = holder.w, holder.lin
    x = torch.from_numpy(INPUTS["x0"])
    out = lin(x) * w
    (out * torch.from_numpy(INPUTS["g0"]).float()).sum().backward()
    tensors = [w, lin.weight, lin.bias]
    arrays = {"out0": out.detach().double().numpy()}
    for i, p in enumerate(tensors):
        arrays[f"param{i}"] = p.detach().double().numpy()
        assert p.grad is not None
        arrays[f"grad{i}"] = p.grad.double().numpy()
    return arrays


@pytest.mark.sandbox
def test_normal_module_is_observed(normal_run: SandboxResult) -> None:
    obs = observed(normal_run.outcomes["p.m"])
    assert normal_run.limit_hit is None and not normal_run.timed_out
    assert obs.stage == "done" and obs.error is None
    assert (obs.class_found, obs.is_module, obs.has_forward) == (True, True, True)
    assert [(p.name, p.shape, p.tensor) for p in obs.params] == [
        ("w", [3], 0),
        ("lin.weight", [3, 3], 1),
        ("lin.bias", [3], 2),
    ]
    assert obs.n_tensors == 3
    assert [(f.ok, f.shape) for f in obs.forwards] == [(True, [2, 3])]
    assert obs.backward is not None and obs.backward.ok
    assert obs.backward.has_grad == [True, True, True]
    arrays = normal_run.outcomes["p.m"].arrays
    expected = expected_normal()
    assert sorted(arrays) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(arrays[key], value, rtol=1e-6, err_msg=key)


@pytest.mark.sandbox
def test_printed_fake_results_only_land_in_printed(
    tmp_path: Path, normal_run: SandboxResult
) -> None:
    folder = write_submission(tmp_path / "sub", {"m.py": PRINTING})
    same_runner = normal_run.isolation == "bubblewrap"
    result = run(folder, (probe_request("p.m", "m.py"),), same_runner)
    obs = observed(result.outcomes["p.m"])
    clean = observed(normal_run.outcomes["p.m"])
    ignore = {"printed", "seconds"}
    assert obs.model_dump(exclude=ignore) == clean.model_dump(exclude=ignore)
    arrays, clean_arrays = result.outcomes["p.m"].arrays, normal_run.outcomes["p.m"].arrays
    assert sorted(arrays) == sorted(clean_arrays)
    for key, value in clean_arrays.items():
        np.testing.assert_array_equal(arrays[key], value, err_msg=key)
    assert "test_forward PASSED" in obs.printed.stdout
    assert obs.printed.stdout.count("FORWARD PASSED") == 2  # forward, then backward's forward
    assert json.dumps(FAKE_OBSERVATION) in obs.printed.stdout
    assert "stderr noise from import" in obs.printed.stderr
    # Writes that bypass sys.stdout reach the process's stdout, which the grader never parses.
    assert "RAW-FD" in result.stdout_tail and "DUNDER PASSED" in result.stdout_tail
    assert "RAW-FD" not in obs.printed.stdout


# --------------------------------------------------------------------------------------------
# time: the probe's own alarm, then the wall-clock kill

SPINNER = """
import torch


class M(torch.nn.Module):
    def forward(self, x):
        while True:
            pass
"""

STUBBORN_SPINNER_BODY = """
import shutil
import subprocess

import torch

# A child too, so the kill must take the process's descendants with it.
subprocess.Popen([MARK, "300"], executable=shutil.which("sleep"))


class M(torch.nn.Module):
    def forward(self, x):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
"""


def spin_requests(timeout_s: float) -> tuple[ProbeRequest, ...]:
    """A normal probe first: the probe's alarm also covers its `import torch` (2-3 s), which the
    first probe of a plan pays, and the spinner's short alarm must fire in the student's loop."""
    return (probe_request("p.warm", "good.py"), probe_request("p.m", "m.py", timeout_s))


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", RUNNERS)
def test_infinite_forward_hits_the_probe_timeout(use_bwrap: bool, tmp_path: Path) -> None:
    folder = write_submission(tmp_path / "sub", {"good.py": NORMAL, "m.py": SPINNER})
    limits = Limits(wall_s=30)
    started = time.monotonic()
    result = run(folder, spin_requests(timeout_s=2), use_bwrap, limits)
    elapsed = time.monotonic() - started
    assert observed(result.outcomes["p.warm"]).stage == "done"
    obs = observed(result.outcomes["p.m"])
    assert obs.error is not None and obs.error.type == "ProbeTimeout"
    assert obs.stage == "forward 0" and obs.forwards == []
    assert 2 <= obs.seconds < 10
    assert not result.timed_out  # the probe stopped itself; the wall clock was not needed
    assert elapsed < limits.wall_s


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", RUNNERS)
def test_swallowed_timeout_is_stopped_by_the_wall_clock(use_bwrap: bool, tmp_path: Path) -> None:
    marker = f"grader-test-spin-{uuid.uuid4().hex}"
    source = student_source(STUBBORN_SPINNER_BODY, MARK=marker)
    folder = write_submission(tmp_path / "sub", {"good.py": NORMAL, "m.py": source})
    limits = Limits(wall_s=7)
    started = time.monotonic()
    try:
        result = run(folder, spin_requests(timeout_s=1), use_bwrap, limits)
        elapsed = time.monotonic() - started
        left = leftovers(marker)
    finally:
        kill_all(processes_with(marker))
    assert observed(result.outcomes["p.warm"]).stage == "done"  # written before the spin
    outcome = result.outcomes["p.m"]
    assert result.timed_out
    assert result.limit_hit is not None and result.limit_hit.startswith("time limit")
    assert outcome.observation is None and outcome.problem is not None
    # The spinner never ends by itself: finishing at all shows the kill. The bound leaves room
    # for what is not the student's time (interpreter start and `import torch`, before the
    # clock starts: seconds on a loaded machine), not a speed claim.
    assert elapsed < limits.wall_s + STARTUP_S
    assert left == [], f"the student's child survived the wall-clock kill: pids {left}"


# --------------------------------------------------------------------------------------------
# leaving early: sys.exit, KeyboardInterrupt and os._exit at import

EXITS = {
    "sysexit.py": "import sys\n\nsys.exit(0)\n",
    "kbint.py": "raise KeyboardInterrupt\n",
    "osexit.py": "import os\n\nos._exit(0)\n",
}


@pytest.fixture(scope="module", params=RUNNERS)
def exits_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SandboxResult:
    """One plan, os._exit last: it ends the process, so nothing after it could be observed."""
    folder = write_submission(tmp_path_factory.mktemp("exits") / "sub", EXITS)
    requests = tuple(probe_request(f"p.{name[:-3]}", name) for name in EXITS)
    return run(folder, requests, request.param)


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("probe", "exception"), [("sysexit", "SystemExit"), ("kbint", "KeyboardInterrupt")]
)
def test_exit_at_import_is_an_error(exits_run: SandboxResult, probe: str, exception: str) -> None:
    obs = observed(exits_run.outcomes[f"p.{probe}"])
    assert obs.error is not None and obs.error.type == exception
    assert obs.stage == "import"
    assert obs.class_found is None and obs.forwards == [] and obs.backward is None


@pytest.mark.sandbox
def test_os_exit_at_import_leaves_no_observation(exits_run: SandboxResult) -> None:
    outcome = exits_run.outcomes["p.osexit"]
    assert exits_run.exit_code == 0  # a clean exit status must not be mistaken for success
    assert outcome.observation is None
    assert outcome.problem is not None and "ended before" in outcome.problem


# --------------------------------------------------------------------------------------------
# memory

MEMORY_HOG = """
import numpy as np
import torch


class M(torch.nn.Module):
    def forward(self, x):
        chunks = []
        try:
            for _ in range(256):  # 256 x 32 MiB = 8 GiB, every page written
                chunks.append(np.ones(2**22))
        finally:
            print(f"allocated {32 * len(chunks)} MiB")
        return x
"""


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("use_bwrap", RUNNERS)
def test_memory_hog_gets_a_memory_error(use_bwrap: bool, tmp_path: Path) -> None:
    folder = write_submission(tmp_path / "sub", {"m.py": MEMORY_HOG})
    limits = Limits(wall_s=60, memory_mb=1024)  # torch's import needs ~650 MiB of it
    result = run(folder, (probe_request("p.m", "m.py"),), use_bwrap, limits)
    obs = observed(result.outcomes["p.m"])
    assert len(obs.forwards) == 1 and not obs.forwards[0].ok
    assert obs.forwards[0].error is not None and obs.forwards[0].error.type == "MemoryError"
    assert obs.stage == "done" and not result.timed_out  # the probe itself carried on
    allocated = [int(n) for n in re.findall(r"allocated (\d+) MiB", obs.printed.stdout)]
    assert len(allocated) == 2  # forward, then backward's forward
    assert all(0 < n < limits.memory_mb for n in allocated), allocated


TMPFS_FILLER_BODY = """
import os
from pathlib import Path

import torch


def fill(folder, total_mib):
    written = 0
    block = b"x" * 2**25
    try:
        for i in range(total_mib // 32):
            Path(folder, f"fill{i}.bin").write_bytes(block)
            written += 32
    except OSError:
        pass
    return written


FLAGS = [float(fill(os.environ["TMPDIR"], TOTAL_MIB))]


class M(torch.nn.Module):
    def forward(self, x):
        return torch.tensor(FLAGS, dtype=torch.float64)
"""


@pytest.mark.sandbox
@pytest.mark.slow
@NEEDS_BWRAP
def test_files_in_tmpdir_count_against_the_memory_limit(tmp_path: Path) -> None:
    limits = Limits(wall_s=30, memory_mb=1024)
    source = student_source(TMPFS_FILLER_BODY, TOTAL_MIB=limits.memory_mb + 128)
    folder = write_submission(tmp_path / "sub", {"m.py": source})
    result = run(folder, (probe_request("p.m", "m.py"),), True, limits)
    [written_mib] = flags(result.outcomes["p.m"])
    assert written_mib < limits.memory_mb


# --------------------------------------------------------------------------------------------
# isolation: files, environment, network, writes, symlinks (one run, one probe per attack)

FLAGS_MODULE = """

class M(torch.nn.Module):
    def forward(self, x):
        return torch.tensor(FLAGS, dtype=torch.float64)
"""

READ_FILES_BODY = """
import os
from pathlib import Path

import torch


def readable(path):
    try:
        Path(path).read_bytes()
    except OSError:
        return 0.0
    return 1.0


def listable(path):
    try:
        os.listdir(path)
    except OSError:
        return 0.0
    return 1.0


FLAGS = [readable(p) for p in TARGETS] + [listable(PARENT), readable("local.txt")]
"""

READ_ENV_BODY = """
import os
from pathlib import Path

import torch


def in_other_processes():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (KEY + "=").encode() in (entry / "environ").read_bytes():
                    return 1.0
            except OSError:
                pass
    return 0.0


FLAGS = [
    float(KEY in os.environ),
    float(any(VALUE in v for v in os.environ.values())),
    in_other_processes(),
    float(os.environ.get("MPLBACKEND") == "Agg"),  # control: the sandbox's own variable
]
"""

CONNECT_BODY = """
import socket

import torch


def connect():
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2) as conn:
            conn.sendall(b"stolen answers")
    except OSError:
        return 0.0
    return 1.0


FLAGS = [connect()]
"""

WRITE_BODY = """
from pathlib import Path

import torch


def wrote(path, text):
    try:
        Path(path).write_text(text)
    except OSError:
        return 0.0
    return 1.0


FLAGS = [
    wrote("data.txt", "overwritten in the scratch copy"),  # control: allowed, and harmless
    wrote("write.py", "# overwritten"),
    wrote(ORIGINAL + "/data.txt", "overwritten through the original path"),
    wrote(ESCAPE, "escaped"),
]
"""

FOLLOW_LINKS_BODY = """
from pathlib import Path

import torch


def readable(path):
    try:
        Path(path).read_bytes()
    except OSError:
        return 0.0
    return 1.0


FLAGS = [readable("link.txt"), readable("linkdir/secret.txt"), readable("local.txt")]
"""

ISOLATION_PROBES = ("files", "env", "net", "write", "links")
SECRET_TEXT = "the answer key\n"
ORIGINAL_DATA = b"the student's own data\n"


@dataclass
class IsolationRun:
    result: SandboxResult
    sub: Path
    targets: list[Path]
    escape: Path
    original_bytes: dict[str, bytes]
    received: bytes | None


def _listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener


def _received(listener: socket.socket) -> bytes | None:
    """What reached the listener during the run, or None if nobody connected."""
    listener.settimeout(0.5)
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return None
    with conn:
        conn.settimeout(0.5)
        try:
            return conn.recv(1024)
        except OSError:
            return b""


def _isolation_files(root: Path, sub: Path, targets: list[Path], port: int, value: str):
    return {
        "files.py": student_source(
            READ_FILES_BODY + FLAGS_MODULE, TARGETS=[str(t) for t in targets], PARENT=str(root)
        ),
        "env.py": student_source(READ_ENV_BODY + FLAGS_MODULE, KEY="GRADER_SECRET", VALUE=value),
        "net.py": student_source(CONNECT_BODY + FLAGS_MODULE, PORT=port),
        "write.py": student_source(
            WRITE_BODY + FLAGS_MODULE, ORIGINAL=str(sub), ESCAPE=str(root / "escaped.txt")
        ),
        "links.py": student_source(FOLLOW_LINKS_BODY + FLAGS_MODULE),
        "local.txt": "a file of the submission itself\n",
    }


def isolation_run(root: Path, use_bwrap: bool) -> Iterator[IsolationRun]:
    """Secrets next to the submission, in the grader's environment and on a local port; then one
    sandbox run in which each hostile file tries one way to reach them."""
    secret = root / "secret.txt"
    secret.write_text(SECRET_TEXT)
    sub = root / "sub"
    targets = [secret, REFERENCE_FILE, GRADER_SOURCE, sub / "local.txt"]
    value = f"s3cret-{uuid.uuid4().hex}"
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(_listener())
        write_submission(
            sub, _isolation_files(root, sub, targets, listener.getsockname()[1], value)
        )
        (sub / "data.txt").write_bytes(ORIGINAL_DATA)
        (sub / "link.txt").symlink_to(secret)
        (sub / "linkdir").symlink_to(root, target_is_directory=True)
        original_bytes = {p.name: p.read_bytes() for p in sub.iterdir() if not p.is_symlink()}
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        mp.setenv("GRADER_SECRET", value)
        # A process holding the secret in its initial environment (/proc/<pid>/environ).
        sleeper = stack.enter_context(subprocess.Popen(["sleep", "120"]))
        stack.callback(sleeper.kill)
        requests = tuple(probe_request(f"p.{name}", f"{name}.py") for name in ISOLATION_PROBES)
        result = run(sub, requests, use_bwrap)
        received = _received(listener)
        yield IsolationRun(result, sub, targets, root / "escaped.txt", original_bytes, received)


@pytest.fixture(scope="module")
def bwrap_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolationRun]:
    if not BWRAP:
        pytest.skip(BWRAP_SKIP_REASON)
    yield from isolation_run(tmp_path_factory.mktemp("isolation-bwrap"), use_bwrap=True)


@pytest.fixture(scope="module")
def fallback_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolationRun]:
    yield from isolation_run(tmp_path_factory.mktemp("isolation-fallback"), use_bwrap=False)


@pytest.mark.sandbox
def test_bwrap_hides_files_outside_the_submission(bwrap_isolation: IsolationRun) -> None:
    for target in bwrap_isolation.targets:
        assert target.read_bytes(), f"{target} must exist and be readable here for the test"
    got = flags(bwrap_isolation.result.outcomes["p.files"])
    secret, reference, grader_source, original_copy, parent, local = got
    assert (secret, reference, grader_source, original_copy) == (0.0, 0.0, 0.0, 0.0)
    assert parent == 0.0, "the student could list the folder holding other submissions"
    assert local == 1.0, "control: the student must be able to read its own files"


@pytest.mark.sandbox
def test_bwrap_hides_the_graders_environment(bwrap_isolation: IsolationRun) -> None:
    in_env, value_in_env, in_proc, control = flags(bwrap_isolation.result.outcomes["p.env"])
    assert control == 1.0
    assert in_env == 0.0 and value_in_env == 0.0
    assert in_proc == 0.0, "another process's environment was readable through /proc"


@pytest.mark.sandbox
def test_bwrap_blocks_the_network(bwrap_isolation: IsolationRun) -> None:
    assert flags(bwrap_isolation.result.outcomes["p.net"]) == [0.0]
    assert bwrap_isolation.received is None


@pytest.mark.sandbox
def test_bwrap_writes_stay_in_the_scratch_copy(bwrap_isolation: IsolationRun) -> None:
    scratch, own_source, original, escape = flags(bwrap_isolation.result.outcomes["p.write"])
    assert (scratch, own_source) == (1.0, 1.0), "control: writing its own scratch copy works"
    assert (original, escape) == (0.0, 0.0)
    now = {p.name: p.read_bytes() for p in bwrap_isolation.sub.iterdir() if not p.is_symlink()}
    assert now == bwrap_isolation.original_bytes
    assert not bwrap_isolation.escape.exists()


@pytest.mark.sandbox
@pytest.mark.parametrize("which", ["bwrap", "fallback"])
def test_symlinks_out_of_the_submission_are_not_followed(
    request: pytest.FixtureRequest, which: str
) -> None:
    if which == "bwrap" and not BWRAP:
        pytest.skip(BWRAP_SKIP_REASON)
    iso: IsolationRun = request.getfixturevalue(f"{which}_isolation")
    assert (iso.sub / "link.txt").read_text() == SECRET_TEXT  # the links do lead out
    assert (iso.sub / "linkdir" / "secret.txt").read_text() == SECRET_TEXT
    link, linkdir, local = flags(iso.result.outcomes["p.links"])
    assert local == 1.0
    assert (link, linkdir) == (0.0, 0.0)


def test_copy_submission_skips_symlinks(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET_TEXT)
    sub = write_submission(tmp_path / "sub", {"m.py": NORMAL})
    (sub / "link.txt").symlink_to(tmp_path / "secret.txt")
    (sub / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    skipped = copy_submission(sub, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["m.py"]
    assert any(s.startswith("link.txt") for s in skipped)
    assert any(s.startswith("linkdir") for s in skipped)


@pytest.mark.sandbox
def test_detectors_see_what_the_fallback_does_not_hide(fallback_isolation: IsolationRun) -> None:
    """Without bwrap the same hostile files do reach the secrets: proof that every detector the
    bwrap tests rely on can fire, and a record of what the fallback (as its warning says) does
    not protect. The environment is scrubbed in both runners; /proc is not."""
    outcomes = fallback_isolation.result.outcomes
    assert flags(outcomes["p.files"]) == [1.0] * 6
    assert flags(outcomes["p.env"]) == [0.0, 0.0, 1.0, 1.0]
    assert flags(outcomes["p.net"]) == [1.0]
    assert fallback_isolation.received == b"stolen answers"
    assert flags(outcomes["p.write"]) == [1.0] * 4
    assert fallback_isolation.escape.exists()


# --------------------------------------------------------------------------------------------
# processes: many children, some detached into their own session

SPAWNER_BODY = """
import shutil
import subprocess

import torch

SLEEP = shutil.which("sleep")
SPAWNED = None


def spawn(n, tag, detach):
    count = 0
    for _ in range(n):
        try:
            subprocess.Popen(
                [MARK + "-" + tag, "300"],
                executable=SLEEP,
                start_new_session=detach,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            break
        count += 1
    return count


class M(torch.nn.Module):
    def forward(self, x):
        global SPAWNED
        if SPAWNED is None:  # forward runs twice (forward, then backward)
            SPAWNED = [spawn(150, "plain", False), spawn(50, "detached", True)]
        return torch.tensor(SPAWNED, dtype=torch.float64)
"""


@dataclass
class SpawnRun:
    use_bwrap: bool
    result: SandboxResult
    limits: Limits
    seconds: float
    plain_left: list[int]
    detached_left: list[int]


@pytest.fixture(scope="module", params=RUNNERS)
def spawn_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SpawnRun]:
    marker = f"grader-test-spawn-{uuid.uuid4().hex}"
    source = student_source(SPAWNER_BODY, MARK=marker)
    folder = write_submission(tmp_path_factory.mktemp("spawn") / "sub", {"m.py": source})
    limits = Limits(wall_s=30)
    started = time.monotonic()
    try:
        result = run(folder, (probe_request("p.m", "m.py"),), request.param, limits)
        seconds = time.monotonic() - started
        plain_left = leftovers(f"{marker}-plain")
        detached_left = leftovers(f"{marker}-detached", grace_s=0.5)
        yield SpawnRun(request.param, result, limits, seconds, plain_left, detached_left)
    finally:
        kill_all(processes_with(marker))


@pytest.mark.sandbox
@pytest.mark.slow
def test_spawning_children_does_not_hang_the_run(spawn_run: SpawnRun) -> None:
    plain, detached = flags(spawn_run.result.outcomes["p.m"])
    assert plain >= 1 and detached >= 1  # control: the attack itself ran
    assert not spawn_run.result.timed_out
    assert spawn_run.seconds < spawn_run.limits.wall_s


@pytest.mark.sandbox
@pytest.mark.slow
def test_children_do_not_outlive_the_run(spawn_run: SpawnRun) -> None:
    assert spawn_run.plain_left == [], f"{len(spawn_run.plain_left)} children survived"


@pytest.mark.sandbox
@pytest.mark.slow
def test_detached_children_do_not_outlive_the_run(spawn_run: SpawnRun) -> None:
    """setsid() children leave the process group: bwrap's PID namespace or the fallback's
    environment marker still finds and kills them."""
    left = spawn_run.detached_left
    assert left == [], f"{len(left)} setsid children survived the run"


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.xfail(
    IS_ROOT,
    strict=True,
    reason="HOLE (grader running as root): run_limited skips RLIMIT_NPROC for uid 0 and nothing "
    "else (no cgroup pids.max) caps processes, so Limits.max_processes is not enforced",
)
def test_process_count_is_capped(spawn_run: SpawnRun) -> None:
    plain, detached = flags(spawn_run.result.outcomes["p.m"])
    assert plain + detached < spawn_run.limits.max_processes


# --------------------------------------------------------------------------------------------
# the output folder is writable by student code: everything read back is untrusted

BROKEN = """
import torch


class M(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("not implemented")
"""

FORGE_BODY = """
import json
import sys
from pathlib import Path

import torch

OUT = Path(sys.argv[1]) / "out"  # the probe's argv names its io folder
for index in range(8):  # try to overwrite every probe's observation with a passing-looking one
    (OUT / f"{index}.json").write_text(json.dumps({"kind": "module", "id": f"p.{index}",
                                                   "stage": "done", "forwards": [{"ok": True}]}))


class M(torch.nn.Module):
    def forward(self, x):
        return x
"""


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_later_probe_cannot_forge_an_earlier_observation(tmp_path: Path) -> None:
    """Each probe runs in its own process and scratch folder: a later file's import-time code
    cannot reach an earlier probe's output."""
    files = {"broken.py": BROKEN, "evil.py": student_source(FORGE_BODY)}
    folder = write_submission(tmp_path / "sub", files)
    requests = (probe_request("p.0", "broken.py"), probe_request("p.1", "evil.py"))
    result = run(folder, requests, None)
    broken = observed(result.outcomes["p.0"])
    assert broken.forwards and not broken.forwards[0].ok  # still the real, failing forward
    assert observed(result.outcomes["p.1"]).stage == "done"  # control: the forger ran


# --- the grader's reader of probe output, fed hostile files directly ------------------------


def _arrays(out: Path, entries: list[dict[str, Any]], data: bytes) -> None:
    """The probe's array files, written by hand: `0.bin` and its index `0.arrays.json`."""
    (out / "0.bin").write_bytes(data)
    (out / "0.arrays.json").write_text(json.dumps(entries))


def _good_output(out: Path, req: ProbeRequest) -> None:
    (out / "0.json").write_text(json.dumps({"kind": "module", "id": req.id, "stage": "done"}))
    _arrays(out, [{"name": "out0", "dtype": "<f8", "shape": [3], "at": 0}], np.ones(3).tobytes())


def _garbage(out: Path, req: ProbeRequest) -> None:
    (out / "0.json").write_bytes(b"\x00\xff{not json")


def _other_id(out: Path, req: ProbeRequest) -> None:
    (out / "0.json").write_text(json.dumps({"kind": "module", "id": "p.other", "stage": "done"}))


def _symlink(out: Path, req: ProbeRequest) -> None:
    forged = out.parent / "forged.json"
    forged.write_text(json.dumps({"kind": "module", "id": req.id, "stage": "done"}))
    (out / "0.json").symlink_to(forged)


def _pickled(out: Path, req: ProbeRequest) -> None:
    """An object array (what unpickling would need) declared in the index."""
    (out / "0.json").write_text(json.dumps({"kind": "module", "id": req.id, "stage": "done"}))
    _arrays(out, [{"name": "out0", "dtype": "|O", "shape": [1], "at": 0}], bytes(8))


def _index_symlink(out: Path, req: ProbeRequest) -> None:
    _good_output(out, req)
    forged = out.parent / "forged.arrays.json"
    forged.write_text("[]")
    (out / "0.arrays.json").unlink()
    (out / "0.arrays.json").symlink_to(forged)


def _bin_without_index(out: Path, req: ProbeRequest) -> None:
    _good_output(out, req)
    (out / "0.arrays.json").unlink()


def _deep_json(out: Path, req: ProbeRequest) -> None:
    (out / "0.json").write_text("[" * 100_000)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (_garbage, "unreadable observation"),
        (_other_id, "tampered"),
        (_symlink, "ended before"),
        (_pickled, "unreadable arrays"),
        (_index_symlink, "unreadable arrays"),
        (_bin_without_index, "unreadable arrays"),
        (_deep_json, "unreadable observation"),
    ],
)
def test_tampered_output_is_a_problem(tmp_path: Path, tamper: Any, problem: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    req = probe_request("p.0", "m.py")
    tamper(out, req)
    outcome = read_outcome(out, 0, req)
    assert outcome.problem is not None and problem in outcome.problem
    assert outcome.arrays == {}


def test_untampered_output_is_read(tmp_path: Path) -> None:
    """Control for the cases above."""
    out = tmp_path / "out"
    out.mkdir()
    req = probe_request("p.0", "m.py")
    _good_output(out, req)
    outcome = read_outcome(out, 0, req)
    assert outcome.problem is None and outcome.arrays["out0"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.slow
def test_array_bomb_is_rejected_before_it_is_inflated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    req = probe_request("p.0", "m.py")
    _good_output(out, req)
    claimed = (MAX_ARRAY_BYTES + 2**25) // 8
    _arrays(out, [{"name": "out0", "dtype": "<f8", "shape": [claimed], "at": 0}], bytes(2**20))
    tracemalloc.start()
    try:
        outcome = read_outcome(out, 0, req)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.problem is not None and "unreadable arrays" in outcome.problem
    assert peak < MAX_ARRAY_BYTES // 4


WRITE_EVERYWHERE = r"""
import json, os
def writes(path):
    try:
        with open(path, "w") as fh:
            fh.write("x")
    except OSError:
        return False
    return True
places = ["/x", "/etc/x", "/dev/x", "/sandbox/x", "/sandbox/sub/x", "/sandbox/io/out/x",
          "/tmp/x", "/dev/shm/x", "/sandbox/home/x", "/sandbox/tmp/x", "/dev/null"]
result = {p: writes(p) for p in places}
try:
    os.rename("/sandbox", "/S")
    result["rename /sandbox"] = True
except OSError:
    result["rename /sandbox"] = False
print(json.dumps(result))
"""


@pytest.mark.sandbox
@NEEDS_BWRAP
@pytest.mark.parametrize("warm", [False, True])
def test_the_sandbox_root_and_dev_are_read_only(tmp_path: Path, warm: bool) -> None:
    """Only the scratch copy, the output folder and the size-capped tmpfs mounts are writable:
    a file parked in / or /dev would outlive the run in a warm worker (and sit in RAM outside
    the memory limit), and renaming /sandbox would swap the next student's folder for one's own.
    """
    from grader.sandbox.confinement import bwrap_argv, inner_python, launched

    for name in ("sub", "io", "io/out"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    argv = bwrap_argv(tmp_path, "/sandbox", warm=warm)
    done = subprocess.run(
        [*argv, *launched([inner_python(), "-I", "-c", WRITE_EVERYWHERE], "/sandbox")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wrote = json.loads(done.stdout.splitlines()[-1])
    writable = {"/sandbox/sub/x", "/sandbox/io/out/x", "/tmp/x", "/dev/shm/x"}
    writable |= {"/sandbox/home/x", "/sandbox/tmp/x", "/dev/null"}  # the controls
    assert {place for place, ok in wrote.items() if ok} == writable
