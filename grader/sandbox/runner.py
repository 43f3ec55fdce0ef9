"""The real runner: each probe confined, in a warm worker or a fresh process.

`SandboxRunner` puts together confinement (`confinement`), the exchange of files (`exchange`) and
warm workers (`workers`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.sandbox.confinement import (
    MARKER_VAR,
    OUTPUT_TAIL,
    STARTUP_S,
    Completed,
    bubblewrap_available,
    bwrap_args_fd,
    bwrap_argv,
    inner_python,
    kill_marked,
    launched,
    run_limited,
    sandbox_env,
)
from grader.sandbox.exchange import (
    PROBE_SCRIPT,
    drop_scratch,
    finish_outcome,
    new_scratch,
    prepare_run,
)
from grader.sandbox.jobs import Limits, ProbeOutcome, ProbeRequest, SandboxJob, SandboxResult
from grader.sandbox.workers import Keep, WorkerPool, install_sigterm_cleanup

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
        install_sigterm_cleanup()
        if self.warm:
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

    def run(self, job: SandboxJob, keep: Keep | None = None) -> SandboxResult:
        """Each probe in a process and a scratch copy of its own.

        Sharing one process would let code run by a later probe (a script's import-time code)
        rewrite an earlier probe's observation. `keep`, if given, sees each probe's raw output
        before it is read (`grader.sandbox.cluster`).
        """
        started = time.monotonic()
        outcomes: dict[str, ProbeOutcome] = {}
        runs: list[Completed] = []
        for req in job.requests:
            outcome, completed = self._run_one(job, req, probe_limits(job.limits, req), keep)
            outcomes[req.id] = outcome
            runs.append(completed)
        return summarise(outcomes, runs, time.monotonic() - started, self.isolation)

    def _run_one(
        self, job: SandboxJob, req: ProbeRequest, limits: Limits, keep: Keep | None = None
    ) -> tuple[ProbeOutcome, Completed]:
        if self.pool is not None and job.environment is None:
            # a warm worker runs the grader's interpreter; a course environment's probe starts
            # its own (cold) interpreter, which imports torch once per probe
            warm = self.pool.run(job, req, limits, keep)
            if warm is not None:
                return warm
        scratch = new_scratch("run")
        try:
            io_dir = scratch / "io"
            (io_dir / "out").mkdir(parents=True)
            for private in ("home", "tmp"):
                (scratch / private).mkdir()
            shutil.copy(PROBE_SCRIPT, io_dir / "probe.py")
            prepare_run(job, req, scratch / "sub", io_dir)
            completed = self._execute(scratch, limits, job.environment)
            if keep is not None:
                keep(req, io_dir / "out", completed)
            return finish_outcome(io_dir / "out", req, completed), completed
        finally:
            drop_scratch(scratch)  # iterative: student code may leave 3,000 nested folders

    def _execute(self, scratch: Path, limits: Limits, environment: Path | None = None) -> Completed:
        inner_root = "/sandbox" if self.use_bwrap else str(scratch)
        python = str(environment / "bin" / "python") if environment else sys.executable
        argv = [python, "-I", "-B", f"{inner_root}/io/probe.py", f"{inner_root}/io"]
        env = sandbox_env(inner_root, limits)
        if self.use_bwrap:
            if environment is None:
                argv[0] = inner_python()
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            short, fd = bwrap_args_fd(
                bwrap_argv(scratch, inner_root, environment=environment) + setenv,
                launched(argv, inner_root),
            )
            return run_limited(short, cwd=scratch / "sub", env=env, limits=limits, pass_fds=(fd,))
        marker = secrets.token_hex(16)
        try:
            return run_limited(
                argv, cwd=scratch / "sub", env={**env, MARKER_VAR: marker}, limits=limits
            )
        finally:
            kill_marked(marker)  # children that left the process group with setsid()


def probe_limits(limits: Limits, req: ProbeRequest) -> Limits:
    """The limits one probe runs under: the job's, its wall clock cut to the probe's own."""
    return replace(limits, wall_s=min(limits.wall_s, req.timeout_s + STARTUP_S))


def summarise(
    outcomes: dict[str, ProbeOutcome], runs: list[Completed], seconds: float, isolation: str
) -> SandboxResult:
    """One job's result from its probes' runs: the first failed run speaks for the job.

    Shared with the cluster executor, so a job run on a Dask worker comes back exactly as one
    run here."""
    failed = [r for r in runs if r.timed_out or r.limit_hit or r.returncode]
    first = failed[0] if failed else (runs[0] if runs else Completed(0, "", "", False, None))
    return SandboxResult(
        outcomes=outcomes,
        exit_code=first.returncode,
        timed_out=any(r.timed_out for r in runs),
        stdout_tail="".join(r.stdout for r in runs)[-OUTPUT_TAIL:],
        stderr_tail="".join(r.stderr for r in runs)[-OUTPUT_TAIL:],
        seconds=seconds,
        isolation=isolation,
        limit_hit=first.limit_hit,
    )
