"""Run student code confined, and bring back observations.

Each run gets a fresh scratch folder holding a copy of the submission (regular files only:
symlinks are never followed out of it), the grader's inputs and plan, and the probe script.
Under bubblewrap the process sees a read-only system and Python, that scratch folder and nothing
else: no network, no `reference/`, no `rubrics/`, no classmates, no grader environment variables.
Without bubblewrap it still gets rlimits, a process group, a scrubbed environment and a scratch
copy, and the run says loudly what is not protected.

`Runner` is the seam: judges are unit-tested with `RecordedRunner`; the sandbox itself is always
tested for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError

from grader.observations import OBSERVATION, Observation, read_packed

PROBE_SCRIPT = Path(__file__).with_name("probe.py")
STARTUP_S = 30.0  # interpreter start and `import torch` on a loaded machine
SMALL_TMPFS_BYTES = 64 * 2**20  # RAM-backed mounts must not bypass the memory limit
PRIVATE_TMPFS_BYTES = 256 * 2**20  # HOME and TMPDIR: room for caches, not for a RAM hoard
MARKER_VAR = "GRADER_SANDBOX_RUN"
MAX_FILE_BYTES = 20 * 2**20
MAX_COPY_BYTES = 200 * 2**20
OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class Limits:
    wall_s: float = 120.0
    memory_mb: int = 3072
    threads: int = 1
    max_processes: int = 64
    max_file_mb: int = 64


@dataclass(frozen=True)
class ProbeRequest:
    """One thing to observe; `spec` is the JSON the probe script reads."""

    id: str
    kind: str
    timeout_s: float
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class SandboxJob:
    """What one sandbox run needs. `extra_files` (relative path -> text) are written into the
    scratch copy only, never into the submission: modules the grader assembled from a writeup
    or notebook (`grader.sources`)."""

    submission_dir: Path
    requests: tuple[ProbeRequest, ...]
    inputs: Mapping[str, np.ndarray]
    limits: Limits = Limits()
    extra_files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeOutcome:
    observation: Observation | None
    arrays: dict[str, np.ndarray]
    problem: str | None = None  # why there is no usable observation


@dataclass(frozen=True)
class SandboxResult:
    outcomes: dict[str, ProbeOutcome]
    exit_code: int | None
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    seconds: float
    isolation: str
    limit_hit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Runner(Protocol):
    isolation: str

    def run(self, job: SandboxJob) -> SandboxResult: ...


def bubblewrap_available() -> bool:
    """bwrap exists and can actually create namespaces here (some containers forbid it)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = subprocess.run(
        [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return probe.returncode == 0


WEAK_ISOLATION_WARNING = (
    "bubblewrap (bwrap) is not available: student code runs WITHOUT filesystem and network "
    "isolation. It still gets time, memory and process limits, a scrubbed environment and a "
    "scratch copy, but it could read files this user can read (including reference/) and reach "
    "the network. Install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap) before "
    "grading untrusted submissions."
)


WARM_VAR = "GRADER_WARM"  # "0": every probe in a process of its own (the cold path)


def warm_by_default() -> bool:
    return os.environ.get(WARM_VAR, "1").strip().lower() not in ("0", "no", "false", "off")


class SandboxRunner:
    """The real runner: bubblewrap when available, a clearly weaker fallback otherwise.

    Under bubblewrap, probes run in warm workers by default (`grader/workers.py`: a sandboxed
    interpreter that has imported torch once and forks a fresh child per probe); `warm=False`
    or `GRADER_WARM=0` runs each probe in a new sandbox and interpreter instead (the cold path),
    which is also what a probe falls back to when its worker fails. Without bubblewrap every
    probe is cold. `close()` stops the workers (a later run starts new ones).
    """

    def __init__(self, use_bwrap: bool | None = None, warm: bool | None = None) -> None:
        self.use_bwrap = bubblewrap_available() if use_bwrap is None else use_bwrap
        self.isolation = "bubblewrap" if self.use_bwrap else "rlimits-only"
        self.warm = self.use_bwrap and (warm_by_default() if warm is None else warm)
        self.pool: Any = None
        if self.warm:
            from grader.workers import WorkerPool  # workers.py builds on this module

            self.pool = WorkerPool()
            weakref.finalize(self, self.pool.close)

    def prestart(self) -> None:
        """Start one warm worker in the background (a no-op on the cold path)."""
        if self.pool is not None:
            self.pool.prestart()

    def close(self) -> None:
        """Stop the warm workers and remove their folders (the runner stays usable)."""
        if self.pool is not None:
            self.pool.close()

    def run(self, job: SandboxJob) -> SandboxResult:
        """Each probe in a process and a scratch copy of its own.

        Sharing one process would let code run by a later probe (a script's import-time code)
        rewrite an earlier probe's observation.
        """
        started = time.monotonic()
        outcomes: dict[str, ProbeOutcome] = {}
        runs: list[_Completed] = []
        for req in job.requests:
            limits = replace(job.limits, wall_s=min(job.limits.wall_s, req.timeout_s + STARTUP_S))
            outcome, completed = self._run_one(job, req, limits)
            outcomes[req.id] = outcome
            runs.append(completed)
        failed = [r for r in runs if r.timed_out or r.limit_hit or r.returncode]
        first = failed[0] if failed else (runs[0] if runs else _Completed(0, "", "", False, None))
        return SandboxResult(
            outcomes=outcomes,
            exit_code=first.returncode,
            timed_out=any(r.timed_out for r in runs),
            stdout_tail="".join(r.stdout for r in runs)[-OUTPUT_TAIL:],
            stderr_tail="".join(r.stderr for r in runs)[-OUTPUT_TAIL:],
            seconds=time.monotonic() - started,
            isolation=self.isolation,
            limit_hit=first.limit_hit,
        )

    def _run_one(
        self, job: SandboxJob, req: ProbeRequest, limits: Limits
    ) -> tuple[ProbeOutcome, _Completed]:
        if self.pool is not None:
            warm = self.pool.run(job, req, limits)
            if warm is not None:
                return warm
        with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
            scratch = Path(tmp)
            io_dir = scratch / "io"
            (io_dir / "out").mkdir(parents=True)
            for private in ("home", "tmp"):
                (scratch / private).mkdir()
            shutil.copy(PROBE_SCRIPT, io_dir / "probe.py")
            prepare_run(job, req, scratch / "sub", io_dir)
            completed = self._execute(scratch, limits)
            return finish_outcome(io_dir / "out", req, completed), completed

    def _execute(self, scratch: Path, limits: Limits) -> _Completed:
        inner_root = "/sandbox" if self.use_bwrap else str(scratch)
        argv = [sys.executable, "-I", "-B", f"{inner_root}/io/probe.py", f"{inner_root}/io"]
        env = sandbox_env(inner_root, limits)
        if self.use_bwrap:
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            return run_limited(
                bwrap_argv(scratch, inner_root) + setenv + argv,
                cwd=scratch / "sub",
                env=env,
                limits=limits,
            )
        marker = secrets.token_hex(16)
        try:
            return run_limited(
                argv, cwd=scratch / "sub", env={**env, MARKER_VAR: marker}, limits=limits
            )
        finally:
            kill_marked(marker)  # children that left the process group with setsid()


def prepare_run(job: SandboxJob, req: ProbeRequest, sub: Path, io_dir: Path) -> None:
    """The scratch copy of the submission in `sub`; the plan and inputs in `io_dir`."""
    copy_submission(job.submission_dir, sub)
    write_extra_files(sub, job.extra_files)
    (io_dir / "plan.json").write_text(json.dumps({"probes": [_plan_entry(0, req)]}))
    np.savez(io_dir / "inputs.npz", allow_pickle=False, **dict(job.inputs))


def finish_outcome(out_dir: Path, req: ProbeRequest, completed: _Completed) -> ProbeOutcome:
    outcome = read_outcome(out_dir, 0, req)
    if outcome.observation is None and completed.limit_hit:
        outcome = replace(outcome, problem=f"{outcome.problem} ({completed.limit_hit})")
    return outcome


def _plan_entry(index: int, req: ProbeRequest) -> dict[str, Any]:
    return {**req.spec, "id": req.id, "kind": req.kind, "index": index, "timeout_s": req.timeout_s}


def sandbox_env(inner_root: str, limits: Limits) -> dict[str, str]:
    """A scrubbed environment: nothing of the grader's own variables reaches student code."""
    threads = str(limits.threads)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": f"{inner_root}/home",
        "TMPDIR": f"{inner_root}/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{inner_root}/tmp/mpl",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "TORCH_NUM_THREADS": threads,
        **{k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }


def _python_roots() -> list[str]:
    """The interpreter and its packages: the only parts of the host filesystem student code sees."""
    roots = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent.parent),
    }
    return sorted(r for r in roots if r and Path(r).exists())


def bwrap_argv(
    scratch: Path,
    inner_root: str,
    *,
    sub: Path | None = None,
    io_dir: Path | None = None,
    out_dir: Path | None = None,
    warm: bool = False,
) -> list[str]:
    """bubblewrap's arguments: `scratch/sub` read-write as the working folder, `scratch/io`
    (probe, plan, inputs) read-only with `scratch/io/out` read-write on top, private tmpfs
    mounts for HOME, TMPDIR, /tmp and /dev/shm. A warm worker (`warm`) names its own folders,
    runs as PID 1 of the sandbox (so no process in there can signal it) and reports its host PID
    on an info fd instead of dying with the thread that started it."""
    sub = sub or scratch / "sub"
    io_dir = io_dir or scratch / "io"
    out_dir = out_dir or io_dir / "out"
    argv = [
        "bwrap",
        "--unshare-all",
        *(["--as-pid-1"] if warm else ["--die-with-parent"]),
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--size",
        str(SMALL_TMPFS_BYTES),
        "--tmpfs",
        "/tmp",
    ]
    for system_dir in (
        "/usr",
        "/bin",
        "/lib",
        "/lib64",
        "/sbin",
        "/etc/alternatives",
        "/etc/fonts",
        "/etc/ld.so.cache",
        "/etc/localtime",
    ):
        if Path(system_dir).exists():
            argv += ["--ro-bind", system_dir, system_dir]
    for root in _python_roots():
        if not root.startswith("/usr"):
            argv += ["--ro-bind", root, root]
    argv += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(SMALL_TMPFS_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--bind",
        str(sub),
        f"{inner_root}/sub",
        "--ro-bind",
        str(io_dir),
        f"{inner_root}/io",
        "--bind",
        str(out_dir),
        f"{inner_root}/io/out",
        "--size",
        str(PRIVATE_TMPFS_BYTES),
        "--tmpfs",
        f"{inner_root}/home",
        "--size",
        str(PRIVATE_TMPFS_BYTES),
        "--tmpfs",
        f"{inner_root}/tmp",
        # The root and /dev are bwrap's own tmpfs mounts holding the mount points above: read
        # only, or a student could park files there (uncapped, in RAM) for the next student
        # in a warm worker, or rename /sandbox itself to swap in their code for later runs.
        *("--remount-ro", "/", "--remount-ro", "/dev"),
        "--chdir",
        f"{inner_root}/sub",
    ]
    return argv


@dataclass(frozen=True)
class _Completed:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    limit_hit: str | None


def run_limited(argv: list[str], cwd: Path, env: dict[str, str], limits: Limits) -> _Completed:
    """Start in a new process group with rlimits; on timeout kill the whole group."""
    memory = limits.memory_mb * 2**20
    file_size = limits.max_file_mb * 2**20

    def confine() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(limits.wall_s * max(limits.threads, 1)) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        if os.getuid() != 0:  # root ignores RLIMIT_NPROC; bwrap's PID namespace contains root
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes,) * 2)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=confine,
        )
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)
        limit_hit = (
            f"time limit ({limits.wall_s:g} s)" if timed_out else _signal_limit(proc.returncode)
        )
        return _Completed(proc.returncode, _tail(out), _tail(err), timed_out, limit_hit)


def kill_marked(marker: str) -> None:
    """Kill every process still carrying this run's marker in its environment (Linux /proc)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _signal_limit(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    return {
        -signal.SIGXCPU: "CPU time limit",
        -signal.SIGXFSZ: "file size limit",
        -signal.SIGKILL: "killed (memory or time limit)",
        -signal.SIGSEGV: "crashed (segmentation fault; often the memory limit)",
    }.get(returncode, f"killed by signal {-returncode}")


def _tail(fh: Any) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - OUTPUT_TAIL))
    return fh.read().decode("utf-8", errors="replace")


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


def iter_submission_files(root: Path, skipped: list[str] | None = None) -> list[Path]:
    """Regular files under `root`, hidden ones and anything behind a symlink left out."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in list(dirs):
            if name.startswith(".") or name == "__pycache__" or (base / name).is_symlink():
                dirs.remove(name)
                if (base / name).is_symlink() and skipped is not None:
                    skipped.append(f"{(base / name).relative_to(root)} (symlink)")
        for name in files:
            path = base / name
            if name.startswith("."):
                continue
            if path.is_symlink() or not path.is_file():
                if skipped is not None:
                    skipped.append(f"{path.relative_to(root)} (symlink or special file)")
                continue
            found.append(path)
    return sorted(found)
