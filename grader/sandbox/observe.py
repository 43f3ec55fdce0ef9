"""Plan what to observe of a submission, draw the inputs, run the sandbox once, cache the result.

All probes of one student run in one sandboxed process (torch is imported once), on inputs drawn
here from a seed derived from the run's seed and the student's name: reproducible for the TA,
fresh for every run seed, and never containing an expected value.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import numpy as np

from grader.ingest.submission import ClassLookup, Submission, find_class
from grader.judges.sources import code_hash, ensure_class, ensure_script
from grader.rubric import ModuleCheck, Problem, Rubric, ScriptCheck
from grader.sandbox.jobs import (
    Limits,
    ProbeOutcome,
    ProbeRequest,
    Runner,
    SandboxJob,
    SandboxResult,
)

STARTUP_ALLOWANCE_S = 30.0


def derive_seed(run_seed: int, *parts: str) -> int:
    digest = hashlib.sha256(":".join([str(run_seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def probe_id(problem: Problem, check: ModuleCheck | ScriptCheck) -> str:
    return f"{problem.id}.{check.id}"


@dataclass(frozen=True)
class ModuleTarget:
    """Which class of the submission a module check grades, and how it was found."""

    lookup: ClassLookup
    request: ProbeRequest | None
    inputs: dict[str, np.ndarray]


def plan_module(
    sub: Submission, problem: Problem, check: ModuleCheck, run_seed: int
) -> ModuleTarget:
    """Find the class (a .py file, else assembled from a notebook or writeup); plan its probe."""
    lookup = find_class(sub, check.symbol)
    if not lookup.exact and sub.documents and ensure_class(sub, check.symbol) is not None:
        lookup = find_class(sub, check.symbol)
    pid = probe_id(problem, check)
    seed = derive_seed(run_seed, sub.student, pid)
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {
        f"{pid}.x{i}": rng.standard_normal(shape).astype(np.float32)
        for i, shape in enumerate(check.inputs)
    }
    inputs[f"{pid}.g0"] = rng.standard_normal(check.output_shapes[0])
    if lookup.unit is None:
        return ModuleTarget(lookup, None, inputs)
    request = ProbeRequest(
        id=pid,
        kind="module",
        timeout_s=check.timeout_s,
        spec={
            "file": lookup.unit.file,
            "class_name": lookup.unit.name,
            "init_args": check.init_args,
            "seed": seed % 2**31,
            "inputs": [f"{pid}.x{i}" for i in range(len(check.inputs))],
            "cotangent": f"{pid}.g0",
            **_generated(sub, lookup.unit.file),
        },
    )
    return ModuleTarget(lookup, request, inputs)


def _generated(sub: Submission, file: str) -> dict[str, str]:
    """A generated file's hash in the plan: the observation cache keys on the plan."""
    gen = sub.generated.get(file)
    return {"generated": code_hash(gen)} if gen is not None else {}


@dataclass(frozen=True)
class ScriptTarget:
    """Which file of the submission a script check runs."""

    file: str | None
    request: ProbeRequest | None


def find_script(sub: Submission, name: str) -> str | None:
    """The file by name anywhere (shallowest first), else a near-miss like `ddescent (1).py`."""
    exact = [f for f in sub.files if PurePosixPath(f).name == name]
    if exact:
        return min(exact, key=lambda f: (f.count("/"), f))
    stem = PurePosixPath(name).stem.lower()
    near = [f for f in sub.files if f.endswith(".py") and stem in PurePosixPath(f).stem.lower()]
    return min(near, key=lambda f: (f.count("/"), len(f), f)) if near else None


def plan_script(
    sub: Submission, problem: Problem, check: ScriptCheck, run_seed: int
) -> ScriptTarget:
    file = find_script(sub, check.file)
    if file is None and sub.documents:
        generated = ensure_script(sub, check.file, check.globals)
        file = generated.path if generated is not None else None
    if file is None:
        return ScriptTarget(None, None)
    pid = probe_id(problem, check)
    request = ProbeRequest(
        id=pid,
        kind="script",
        timeout_s=check.timeout_s,
        spec={
            "file": file,
            "globals": check.observed_globals,  # what the analysis may read, not only require
            "seed": derive_seed(run_seed, sub.student, pid),
            **_generated(sub, file),
        },
    )
    return ScriptTarget(file, request)


Target = ModuleTarget | ScriptTarget
ProbedCheck = ModuleCheck | ScriptCheck


class Observer:
    """Runs each student's probes once (thread-safe), however many checks read them."""

    def __init__(
        self, rubric: Rubric, runner: Runner, run_seed: int = 0, limits: Limits | None = None
    ) -> None:
        self.rubric = rubric
        self.runner = runner
        self.run_seed = run_seed
        self.limits = limits or Limits()
        self._results: dict[tuple[str, str], SandboxResult | Exception | None] = {}
        self._targets: dict[tuple[str, str], Target] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def target(self, sub: Submission, problem: Problem, check: ModuleCheck) -> ModuleTarget:
        target = self._target(sub, problem, check)
        assert isinstance(target, ModuleTarget)
        return target

    def script_target(self, sub: Submission, problem: Problem, check: ScriptCheck) -> ScriptTarget:
        target = self._target(sub, problem, check)
        assert isinstance(target, ScriptTarget)
        return target

    def _target(self, sub: Submission, problem: Problem, check: ProbedCheck) -> Target:
        key = (sub.student, probe_id(problem, check))
        with self._guard:
            if key not in self._targets:
                self._targets[key] = (
                    plan_module(sub, problem, check, self.run_seed)
                    if isinstance(check, ModuleCheck)
                    else plan_script(sub, problem, check, self.run_seed)
                )
            return self._targets[key]

    def outcome(
        self, sub: Submission, problem: Problem, check: ProbedCheck
    ) -> tuple[ProbeOutcome | None, SandboxResult | None]:
        """What the sandbox saw of this one check; runs it on first use (thread-safe).

        Each probe is observed on its own, so `-k p4b` never runs a student's p5 script.
        """
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
        target = self._target(sub, problem, check)
        if target.request is None:
            return None
        inputs = target.inputs if isinstance(target, ModuleTarget) else {}
        limits = replace(self.limits, wall_s=STARTUP_ALLOWANCE_S + target.request.timeout_s)
        file = target.request.spec.get("file")
        extra = {path: gen.source for path, gen in sub.generated.items() if path == file}
        job = SandboxJob(sub.root, (target.request,), inputs, limits, extra_files=extra)
        return self.runner.run(job)
