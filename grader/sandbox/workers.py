"""Warm sandbox workers: import torch once per worker, not once per probe.

A worker is one bubblewrap sandbox, confined exactly like a cold probe's (`bwrap_argv`,
`sandbox_env`), whose PID 1 is `probe.py --serve` (the "zygote"): it imports torch, numpy and
matplotlib once and then, per request on a control socket, forks a child that runs the probe's
usual code path (`probe.run_plan`) next to the student's code. The child closes the control
socket, takes its stdout and stderr from fds the grader passes along, sets its rlimits, seeds
every generator from the request and runs. The zygote enforces the wall-clock limit, then kills
every other process in the sandbox (it is PID 1 of the PID namespace), wipes the tmpfs mounts
(/tmp, /dev/shm, HOME, TMPDIR) and replies. The grader reads the outcome with `read_outcome`,
exactly as for a cold run, and empties the worker's scratch folders.

Per worker, on the host: `sub/` (the scratch copy, read-write inside), `io/` (the probe, plan and
inputs, read-only inside) and `out/` (read-write, mounted over `io/out`). Only the grader writes
`sub/` and `io/` between runs, when no process of the sandbox is alive.

Any doubt about a worker (it died, hung, sent garbage, could not tidy up after a run) retires it:
its whole sandbox is killed, and the probe in flight, if it has no reply, runs on the cold path.
SECURITY.md ("Warm workers") says what is shared between runs and why that is safe.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.sandbox.confinement import (
    STARTUP_S,
    Completed,
    bwrap_args_fd,
    bwrap_argv,
    inner_python,
    launched,
    output_tail,
    sandbox_env,
    signal_limit,
)
from grader.sandbox.exchange import (
    PROBE_SCRIPT,
    drop_scratch,
    finish_outcome,
    live_scratch,
    new_scratch,
    prepare_run,
    remove_tree,
)
from grader.sandbox.jobs import Limits, ProbeOutcome, ProbeRequest, SandboxJob

#: Called with each probe's request, its output folder and how its process ended, before the
#: folder is read and emptied: how a cluster worker ships the raw output back to the TA's process.
Keep = Callable[[ProbeRequest, Path, Completed], None]

INNER_ROOT = "/sandbox"
REPLY_GRACE_S = 15.0  # the worker's own kill and tidy-up after the wall-clock limit
MAX_MESSAGE = 65536
_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()  # every started worker, for SIGTERM
_closing: weakref.WeakSet[Worker] = weakref.WeakSet()  # busy workers to kill when returned


class WorkerError(RuntimeError):
    """The worker failed (not the student's code): retire it and run the probe cold."""


def _empty(folder: Path) -> None:
    """Remove everything inside `folder` (never following symlinks), keeping the folder itself:
    it is a bind mount's source, so replacing it would detach the worker's view of it.

    Iterative (`remove_tree`): a folder chain thousands deep left by student code must not
    raise RecursionError here, which left the worker's folder behind and, unremembered, ran the
    student's code again for every check."""

    folder.chmod(0o755)
    if not remove_tree(folder, keep_root=True) or any(folder.iterdir()):
        raise WorkerError(f"could not empty {folder}")


class Worker:
    """One warm sandbox. Not thread-safe: a pool hands it to one thread at a time."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.runs = 0
        self.dir = new_scratch("worker")
        _WORKERS.add(self)
        self.sub, self.io, self.out = self.dir / "sub", self.dir / "io", self.dir / "out"
        for folder in (self.sub, self.io / "out", self.out):
            folder.mkdir(parents=True)
        shutil.copy(PROBE_SCRIPT, self.io / "probe.py")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by kill())
        self.sandbox_pid: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        info_read, info_write = os.pipe()
        try:
            env = sandbox_env(INNER_ROOT, Limits(threads=threads))
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            options = [
                *bwrap_argv(
                    self.dir, INNER_ROOT, sub=self.sub, io_dir=self.io, out_dir=self.out, warm=True
                ),
                "--info-fd",
                str(info_write),
                *setenv,
            ]
            command = [
                inner_python(),
                *("-I", "-B", f"{INNER_ROOT}/io/probe.py", "--serve", str(theirs.fileno())),
            ]
            argv, args_fd = bwrap_args_fd(options, launched(command, INNER_ROOT))
            try:
                self.proc = subprocess.Popen(
                    argv,
                    pass_fds=(theirs.fileno(), info_write, args_fd),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=self.log,
                    stderr=self.log,
                    start_new_session=True,
                    preexec_fn=_no_core,
                )
            finally:
                os.close(args_fd)
            os.close(info_write)
            info_write = -1
            theirs.close()
            self.sandbox_pid = _read_child_pid(info_read)
            self.control.settimeout(STARTUP_S)
            ready = self.control.recv(MAX_MESSAGE)
            if json.loads(ready or b"{}").get("ready") is not True:
                raise WorkerError(f"the worker did not start: {self.log_tail()}")
        except (OSError, ValueError, WorkerError) as exc:
            tail = self.log_tail()  # before kill() closes the log: reading it after raised
            self.kill()  # ValueError, which escaped the pool instead of falling back to cold
            raise WorkerError(f"the worker did not start ({exc}): {tail}") from exc
        finally:
            os.close(info_read)
            if info_write >= 0:
                os.close(info_write)
            theirs.close()

    def log_tail(self) -> str:
        return output_tail(self.log).strip()[-500:]

    def run(
        self, job: SandboxJob, req: ProbeRequest, limits: Limits, keep: Keep | None = None
    ) -> tuple[ProbeOutcome, Completed]:
        """One probe in this worker. WorkerError: the worker, not the student, failed.

        `keep` sees the raw output folder before it is read and emptied (the cluster executor
        ships it back to the TA's process, whose strict reader reads it again)."""
        self.runs += 1
        memory = limits.memory_mb * 2**20
        request = {
            "wall_s": limits.wall_s,
            "limits": {
                "as": memory,
                "fsize": limits.max_file_mb * 2**20,
                "cpu": int(limits.wall_s * max(limits.threads, 1)) + 5,
                "nproc": limits.max_processes if os.getuid() != 0 else None,
            },
        }
        try:
            _empty(self.sub)
            _empty(self.out)
            prepare_run(job, req, self.sub, self.io)
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                self.control.settimeout(limits.wall_s + REPLY_GRACE_S)
                try:
                    socket.send_fds(
                        self.control, [json.dumps(request).encode()], [out.fileno(), err.fileno()]
                    )
                    raw = self.control.recv(MAX_MESSAGE)
                except OSError as exc:  # includes the timeout: the worker itself hung
                    raise WorkerError(f"no reply from the worker ({exc})") from exc
                reply = _parse_reply(raw)
                status = reply["status"]
                returncode = os.waitstatus_to_exitcode(status) if status is not None else None
                timed_out = bool(reply["timed_out"])
                limit_hit = (
                    f"time limit ({limits.wall_s:g} s)" if timed_out else signal_limit(returncode)
                )
                completed = Completed(
                    returncode, output_tail(out), output_tail(err), timed_out, limit_hit
                )
            if keep is not None:
                keep(req, self.out, completed)
            outcome = finish_outcome(self.out, req, completed)
        finally:
            tidy = self._tidy()
        if not reply["clean"] or not tidy:  # keep the result (never run it again), retire
            raise _Unclean(outcome, completed)
        return outcome, completed

    def _tidy(self) -> bool:
        """Empty the scratch copy and output folder after a run; False: retire the worker."""
        try:
            _empty(self.sub)
            _empty(self.out)
        except (OSError, WorkerError):
            return False
        return True

    def kill(self) -> None:
        """Kill the whole sandbox (its PID 1 takes every process in it along) and clean up."""
        with contextlib.suppress(OSError):
            self.control.close()
        if self.sandbox_pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.sandbox_pid, signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        self.log.close()
        drop_scratch(self.dir)


class _Unclean(Exception):
    """A finished run after which the worker could not tidy up: keep the result, retire it."""

    def __init__(self, outcome: ProbeOutcome, completed: Completed) -> None:
        super().__init__("the worker could not tidy up after the run")
        self.result = (outcome, completed)


def _no_core() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_child_pid(fd: int) -> int:
    """bwrap's --info-fd: JSON with the host PID of the sandbox's PID 1."""
    data = b""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        with contextlib.suppress(ValueError):
            return int(json.loads(data)["child-pid"])
    raise WorkerError(f"bwrap gave no child pid ({data[:200]!r})")


def _parse_reply(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise WorkerError("the worker closed its control socket")
    try:
        reply = json.loads(raw)
        status = reply["status"]
        if not (status is None or isinstance(status, int)) or "error" in reply:
            raise ValueError(reply)
        return {
            "status": status,
            "timed_out": bool(reply["timed_out"]),
            "clean": reply["clean"] is True,
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise WorkerError(f"unreadable reply from the worker: {raw[:200]!r}") from exc


class WorkerPool:
    """Idle workers by thread count; a thread checks one out per probe, starting one if none is
    idle, so there are as many workers as probes ever ran at once (`--jobs`). Thread-safe."""

    def __init__(self) -> None:
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting: list[concurrent.futures.Future[Worker | None]] = []
        self._lock = threading.Lock()
        self.started = 0
        self.failures: list[str] = []
        self.disabled = False  # a worker could not even start here: stay on the cold path
        _POOLS.add(self)

    def run(
        self, job: SandboxJob, req: ProbeRequest, limits: Limits, keep: Keep | None = None
    ) -> tuple[ProbeOutcome, Completed] | None:
        """The probe's outcome from a warm worker, or None: run it cold."""
        worker = self._checkout(limits.threads)
        if worker is None:
            return None
        try:
            result = worker.run(job, req, limits, keep)
        except _Unclean as unclean:
            self._retire(worker)
            return unclean.result
        except WorkerError as exc:
            self.failures.append(str(exc))
            self._retire(worker)
            return None
        except BaseException:  # Ctrl-C or a grader bug: the worker's state is unknown
            self._retire(worker)
            raise
        self._checkin(worker)
        return result

    def prestart(self, threads: int = 1) -> None:
        """Start one worker in the background now, for the first probe to check out.

        Its interpreter start and `import torch` (about 2 s) then overlap the grader's own
        start-up (imports, ingesting, collecting the checks) instead of following it: that is
        most of the wait when a student checks one folder. A probe that arrives while it is
        still starting waits for it rather than starting a second one.
        """
        future: concurrent.futures.Future[Worker | None] = concurrent.futures.Future()
        with self._lock:
            if self.disabled:
                return
            self._starting.append(future)
        threading.Thread(
            target=self._start_into, args=(threads, future), name="grader-prestart", daemon=True
        ).start()

    def _start_into(self, threads: int, future: concurrent.futures.Future[Worker | None]) -> None:
        try:
            future.set_result(self._start(threads))
        except BaseException as exc:  # a grader bug: whoever waits for this worker sees it
            future.set_exception(exc)

    def _start(self, threads: int) -> Worker | None:
        try:
            worker = Worker(threads)
        except WorkerError as exc:
            with self._lock:
                self.failures.append(str(exc))
                self.disabled = True
            return None
        with self._lock:
            self.started += 1
        return worker

    def _checkout(self, threads: int) -> Worker | None:
        with self._lock:
            if self.disabled:
                return None
            for idle in self._idle:
                if idle.threads == threads:
                    self._idle.remove(idle)
                    self._busy.add(idle)
                    return idle
            starting = self._starting.pop(0) if self._starting else None
        worker = starting.result() if starting is not None else self._start(threads)
        if worker is not None and worker.threads != threads:
            self._checkin(worker)  # prestarted for other limits: idle for a later probe
            worker = self._start(threads)
        if worker is None:
            return None
        with self._lock:
            self._busy.add(worker)
        return worker

    def _checkin(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if worker in _closing:
                _closing.discard(worker)
            else:
                self._idle.append(worker)
                return
        worker.kill()

    def _retire(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            _closing.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Kill idle workers now; busy ones are killed too (their probes fall back to cold or
        fail), so Ctrl-C leaves no process behind."""
        with self._lock:
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            _closing.update(busy)
            starting, self._starting = self._starting, []
        for future in starting:  # prestarted, never checked out: stopped once it is up
            future.add_done_callback(_kill_started)
        for worker in idle:
            worker.kill()
        for worker in busy:
            with contextlib.suppress(OSError):
                worker.control.shutdown(socket.SHUT_RDWR)
            if worker.sandbox_pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(worker.sandbox_pid, signal.SIGKILL)


def _kill_started(future: concurrent.futures.Future[Worker | None]) -> None:
    worker = future.result() if future.exception() is None else None
    if worker is not None:
        worker.kill()


def close_all() -> None:
    """Stop every pool's workers (at exit, and when a batch ends)."""
    for pool in list(_POOLS):
        pool.close()


def close_runner(runner: Any) -> None:
    """Stop the warm workers behind `runner`, through any wrappers (cache, recorders) that keep
    the runner they wrap as `inner`."""
    close = _method_behind(runner, "close")
    if close is not None:
        close()


def shutdown_runner(runner: Any) -> None:
    """Release what the runner behind `runner` holds beyond its workers (a cluster's client)."""
    shutdown = _method_behind(runner, "shutdown")
    if shutdown is not None:
        shutdown()


def prestart_runner(runner: Any) -> None:
    """Start the first warm worker behind `runner` now, in the background (see `prestart`)."""
    prestart = _method_behind(runner, "prestart")
    if prestart is not None:
        prestart()


def _method_behind(runner: Any, name: str) -> Any:
    """`runner.name`, or the first one down its chain of `inner` runners that has it."""
    seen: set[int] = set()
    while runner is not None and id(runner) not in seen:
        seen.add(id(runner))
        method = getattr(runner, name, None)
        if callable(method):
            return method
        runner = getattr(runner, "inner", None)
    return None


def install_sigterm_cleanup() -> None:
    """On SIGTERM, stop every sandbox and remove every scratch folder, then die of SIGTERM.

    Without it a batch killed by SIGTERM (a scheduler's time limit, `kill`) left its worker
    folders in /tmp: `atexit` does not run on a signal's default action. Installed only from
    the main thread and only over the default action, so a program that handles SIGTERM itself
    keeps its handler (and should call `close_all`). Folders left by SIGKILL are removed by the
    next grader (`remove_stale_scratch`).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: Any) -> None:
    try:
        close_all()
        for worker in list(_WORKERS):
            worker.kill()
        for folder in live_scratch():
            drop_scratch(folder)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


atexit.register(close_all)
