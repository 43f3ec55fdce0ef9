"""Run each student's probes once, however many checks read them, and keep what came back.

What a probe is (which file, which inputs) is decided by the planner of its check's kind
(`grader.judges.planning`, named in `grader.judges.kinds`) and handed in: the sandbox stage knows
no check kind. Probes are observed one by one, on first use and thread-safely, so `-k p4b` never
runs a student's p5 script.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from grader.courses import CourseEnvironment
from grader.ingest.submission import Submission
from grader.rubric import ProbedCheck, Problem
from grader.sandbox.jobs import (
    Limits,
    ProbeOutcome,
    ProbeRequest,
    Runner,
    SandboxJob,
    SandboxResult,
)


class Target(Protocol):
    """A planned probe: its request (None: nothing to run) and the arrays it reads."""

    @property
    def request(self) -> ProbeRequest | None: ...

    @property
    def inputs(self) -> Mapping[str, np.ndarray]: ...

    @property
    def files(self) -> Mapping[str, str]:
        """Sources the planner wrote over the submission's files in the scratch copy."""
        ...


class Planner(Protocol):
    """(submission, problem, check, run seed, the course's environment) -> the probe's target."""

    def __call__(
        self,
        sub: Submission,
        problem: Problem,
        check: Any,
        run_seed: int,
        environment: CourseEnvironment | None = None,
    ) -> Target: ...


STARTUP_ALLOWANCE_S = 30.0


def derive_seed(run_seed: int, *parts: str) -> int:
    digest = hashlib.sha256(":".join([str(run_seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def probe_id(problem: Problem, check: ProbedCheck) -> str:
    return f"{problem.id}.{check.id}"


class Observer:
    """Runs each student's probes once (thread-safe), however many checks read them."""

    def __init__(
        self,
        runner: Runner,
        plan: Planner,
        run_seed: int = 0,
        limits: Limits | None = None,
        environment: CourseEnvironment | None = None,
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.run_seed = run_seed
        self.limits = limits or Limits()
        #: The course's declared packages and prepared environment (`grade env`), if any.
        self.environment = environment
        self._results: dict[tuple[str, str], SandboxResult | Exception | None] = {}
        self._targets: dict[tuple[str, str], Target] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def target(self, sub: Submission, problem: Problem, check: ProbedCheck) -> Target:
        """The planned probe of this check (planned once, on first use)."""
        key = (sub.student, probe_id(problem, check))
        with self._guard:
            if key not in self._targets:
                self._targets[key] = self.plan(sub, problem, check, self.run_seed, self.environment)
            return self._targets[key]

    def outcome(
        self, sub: Submission, problem: Problem, check: ProbedCheck
    ) -> tuple[ProbeOutcome | None, SandboxResult | None]:
        """What the sandbox saw of this one check; runs it on first use (thread-safe)."""
        key = (sub.student, probe_id(problem, check))
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._results:
                try:
                    self._results[key] = self._run(sub, problem, check)
                except Exception as exc:  # a grader-side failure: every check sees it, no re-run
                    self._results[key] = exc
        result = self._results[key]
        if isinstance(result, Exception):
            raise result
        if result is None:
            return None, None
        return result.outcomes.get(key[1]), result

    def _run(self, sub: Submission, problem: Problem, check: ProbedCheck) -> SandboxResult | None:
        target = self.target(sub, problem, check)
        if target.request is None:
            return None
        return self._job(sub, target, target.request, target.inputs)

    def run_request(
        self,
        sub: Submission,
        target: Target,
        request: ProbeRequest,
        inputs: Mapping[str, np.ndarray],
    ) -> tuple[ProbeOutcome | None, SandboxResult | None]:
        """A probe planned from another's observation (a students' bundle's second run of a
        module, `grader.judges.reverse`), in the same scratch copy as `target`'s; not kept
        here: the judge that asks keeps what it read."""
        result = self._job(sub, target, request, inputs)
        return result.outcomes.get(request.id), result

    def _job(
        self,
        sub: Submission,
        target: Target,
        request: ProbeRequest,
        inputs: Mapping[str, np.ndarray],
    ) -> SandboxResult:
        limits = replace(self.limits, wall_s=STARTUP_ALLOWANCE_S + request.timeout_s)
        file = request.spec.get("file")
        extra = {path: gen.source for path, gen in sub.generated.items() if path == file}
        extra.update(target.files)
        prepared = self.environment.prepared if self.environment is not None else None
        job = SandboxJob(
            sub.root,
            (request,),
            inputs,
            limits,
            extra_files=extra,
            environment=prepared,
        )
        return self.runner.run(job)
