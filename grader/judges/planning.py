"""What each probed check kind asks of the sandbox: the file or class to run, and its inputs.

A planner finds what the check grades in the submission (a class in a .py file, else assembled
from a notebook or writeup; a script by file name) and writes its `ProbeRequest`, on inputs drawn
here from a seed derived from the run's seed, the student and the check: reproducible for the TA,
fresh for every run seed, and never containing an expected value. `grader.judges.kinds` names the
planner of each probed kind; `grader.sandbox.observe.Observer` calls it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from grader.courses import CourseEnvironment
from grader.ingest.extract import ClassModule, class_module, package_available
from grader.ingest.files import read_capped
from grader.ingest.submission import MAX_SOURCE_BYTES, ClassLookup, Submission, find_class
from grader.judges.sources import code_hash, ensure_class, ensure_script
from grader.rubric import DrawnInput, ModuleCheck, Problem, ScriptCheck
from grader.sandbox.jobs import (
    ProbeRequest,
)
from grader.sandbox.observe import Observer, derive_seed, probe_id


@dataclass(frozen=True)
class ModuleTarget:
    """Which class of the submission a module check grades, and how it was found."""

    lookup: ClassLookup
    request: ProbeRequest | None
    inputs: dict[str, np.ndarray]
    #: Sources written over the scratch copy's files for this probe: the class's file without
    #: the top level it does not need (`grader.ingest.extract`).
    files: Mapping[str, str] = field(default_factory=dict)
    #: Packages the class needs that the grading environment lacks: the check goes to a TA.
    needs: tuple[str, ...] = ()


def plan_module(
    sub: Submission,
    problem: Problem,
    check: ModuleCheck,
    run_seed: int,
    environment: CourseEnvironment | None = None,
) -> ModuleTarget:
    """Find the class (a .py file, else assembled from a notebook or writeup); plan its probe."""
    lookup = find_class(sub, check.symbol)
    readable = sub.documents or sub.unread_documents  # an unread one: a TA's, noted by ensure
    if not lookup.exact and readable and ensure_class(sub, check.symbol) is not None:
        lookup = find_class(sub, check.symbol)
    pid = probe_id(problem, check)
    seed = derive_seed(run_seed, sub.seed_name, pid)
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {
        f"{pid}.x{i}": rng.standard_normal(shape).astype(np.float32)
        for i, shape in enumerate(check.inputs)
    }
    inputs[f"{pid}.g0"] = rng.standard_normal(check.output_shapes[0])
    if lookup.unit is None:
        return ModuleTarget(lookup, None, inputs)
    extracted = _class_alone(sub, lookup.unit.file, lookup.unit.name, environment)
    if extracted is not None and extracted.needs:
        return ModuleTarget(lookup, None, inputs, needs=extracted.needs)
    files = {lookup.unit.file: extracted.source} if extracted is not None else {}
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
            **({"extracted": extracted.digest()} if extracted is not None else {}),
        },
    )
    return ModuleTarget(lookup, request, inputs, files)


def _class_alone(
    sub: Submission, file: str, class_name: str, environment: CourseEnvironment | None = None
) -> ClassModule | None:
    """The student's file without the top-level code the class does not need, or None to import
    the file as it is (a module assembled from a document, which holds only what the class
    needs already; a file that cannot be read or parsed; nothing to leave out)."""
    if file in sub.generated or not file.endswith(".py"):
        return None
    try:
        source = (sub.root / file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    local = {PurePosixPath(f).stem for f in sub.files if f.endswith(".py")}
    local |= {part for f in sub.files for part in PurePosixPath(f).parts[:-1]}
    declared = environment.declared if environment is not None else set()

    def available(name: str) -> bool:
        return package_available(name) or (environment is not None and environment.provides(name))

    extracted = class_module(
        source,
        class_name,
        is_local=lambda name: name in local,
        is_available=available,
        is_declared=lambda name: name in declared,
    )
    if extracted is not None:
        note = (
            f"{class_name} was imported without running {extracted.describe(file)} "
            "(top-level code the class does not use, such as downloads or training)"
        )
        if extracted.needs:
            course = environment.course if environment is not None else "COURSE"
            note = (
                f"{class_name} needs {', '.join(extracted.needs)}, which the grading "
                f"environment lacks (the course staff prepare it with `grade env {course}`)"
            )
        if note not in sub.notes:
            sub.notes.append(note)
    return extracted


def _generated(sub: Submission, file: str) -> dict[str, str]:
    """A generated file's hash in the plan: the observation cache keys on the plan."""
    gen = sub.generated.get(file)
    return {"generated": code_hash(gen)} if gen is not None else {}


@dataclass(frozen=True)
class ScriptTarget:
    """Which file of the submission a script check runs."""

    file: str | None
    request: ProbeRequest | None
    inputs: Mapping[str, np.ndarray] = field(default_factory=dict)  # a script reads none
    files: Mapping[str, str] = field(default_factory=dict)
    #: No file by the script's name, and files that could be it under another: a TA picks.
    candidates: tuple[str, ...] = ()


def find_script(sub: Submission, name: str) -> str | None:
    """The file by name anywhere (shallowest first), else a near-miss like `ddescent (1).py`."""
    exact = [f for f in sub.files if PurePosixPath(f).name == name]
    if exact:
        return min(exact, key=lambda f: (f.count("/"), f))
    stem = PurePosixPath(name).stem.lower()
    near = [f for f in sub.files if f.endswith(".py") and stem in PurePosixPath(f).stem.lower()]
    return min(near, key=lambda f: (f.count("/"), len(f), f)) if near else None


@dataclass(frozen=True)
class StandIns:
    """Python files that may be a script under another name, and whether they use every global
    the check requires (then one of them alone is run in the script's place)."""

    files: list[str]
    complete: bool


def stand_in_scripts(sub: Submission, names: list[str], required: list[str]) -> StandIns:
    """Files that may be the script under another name (`hw2_problem7.py` for `twolayerSGD.py`):
    those that use every `required` global, else those that use the most of `names` (at least
    one), which a TA looks at rather than the grader running one of them.

    Students rename starters; a TA grades the renamed file all the same, so the grader runs it
    too when it is the only file that uses all the script's required globals, rather than
    failing a correct run on its file name. Each file is read capped; a file the class checks
    import (`stm.py` beside `ddescent.py`) mentions none of the script's globals.
    """
    wanted = {*names, *required}
    used: dict[str, set[str]] = {}
    for rel in sub.files:
        if not rel.endswith(".py") or rel in sub.generated:
            continue
        try:
            text = read_capped(sub.root / rel, MAX_SOURCE_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        found = wanted & set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
        if found:
            used[rel] = found
    complete = sorted(rel for rel, found in used.items() if required and set(required) <= found)
    if complete:
        return StandIns(complete, True)
    best = max((len(found & set(names)) for found in used.values()), default=0)
    files = sorted(rel for rel, found in used.items() if best and len(found & set(names)) == best)
    return StandIns(files, False)


def plan_script(
    sub: Submission,
    problem: Problem,
    check: ScriptCheck,
    run_seed: int,
    environment: CourseEnvironment | None = None,
) -> ScriptTarget:
    file = find_script(sub, check.file)
    if file is None and sub.documents:
        generated = ensure_script(sub, check.file, check.globals)
        file = generated.path if generated is not None else None
    if file is None:
        stand_ins = stand_in_scripts(sub, check.observed_globals, check.globals)
        if len(stand_ins.files) != 1 or not stand_ins.complete:
            return ScriptTarget(None, None, candidates=tuple(stand_ins.files))
        file = stand_ins.files[0]
        note = f"no {check.file} was found: {file} was run in its place (it uses its globals)"
        if note not in sub.notes:
            sub.notes.append(note)
    pid = probe_id(problem, check)
    seed = derive_seed(run_seed, sub.seed_name, pid)
    inputs, probes = script_probes(check, pid, np.random.default_rng([seed, 1]))
    request = ProbeRequest(
        id=pid,
        kind="script",
        timeout_s=check.timeout_s,
        spec={
            "file": file,
            "globals": check.observed_globals,  # what the analysis may read, not only require
            "seed": seed,
            **probes,
            **_generated(sub, file),
            **_seeding(check),
        },
    )
    return ScriptTarget(file, request, inputs)


def _seeding(check: ScriptCheck) -> dict[str, Any]:
    """The plan's `seeding` entry: the seed the probe imposes on the script's seeding calls
    (None: as written, the calls only reported). Absent for the default (one run as written),
    so that plan, and the cache and recordings keyed on it, stay as they were."""
    if not check.imposes_seeds:
        return {}
    first = check.seeds[0]
    return {"seeding": {"impose": first if isinstance(first, int) else None}}


def draw(spec: DrawnInput, rng: np.random.Generator, samples: int | None = None) -> np.ndarray:
    """One input as the rubric describes it (`samples` of them stacked on a first axis)."""
    shape = tuple(spec.shape) if samples is None else (samples, *spec.shape)
    size = math.prod(shape)
    if spec.draw == "grid":
        values = np.linspace(spec.low, spec.high, size).reshape(shape)
    elif spec.draw == "uniform":
        values = rng.uniform(spec.low, spec.high, shape)
    else:
        values = spec.mean + spec.std * rng.standard_normal(shape)
    return np.asarray(values, dtype=spec.dtype)


def script_probes(
    check: ScriptCheck, pid: str, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The inputs a script check's `evaluate` and `calls` draw, and the plan's entries for them.

    Keys in the inputs file: `<probe>.eval.<name>` and `<probe>.call.<name>.<input>` (each
    input of a call drawn `samples` times, stacked on a first axis).
    """
    inputs: dict[str, np.ndarray] = {}
    plan: dict[str, Any] = {}
    if check.observe:
        plan["observe"] = {
            role: {"names": v.names, "type": v.type, "shape": v.shape}
            for role, v in check.observe.items()
        }
    if check.evaluate:
        plan["evaluate"] = {}
        for name, evaluation in check.evaluate.items():
            key = f"{pid}.eval.{name}"
            inputs[key] = draw(evaluation.input, rng)
            plan["evaluate"][name] = {"model": evaluation.model, "input": key}
    if check.calls:
        plan["calls"] = {}
        for name, call in check.calls.items():
            keys = {arg: f"{pid}.call.{name}.{arg}" for arg in call.inputs}
            for arg, spec in call.inputs.items():
                inputs[keys[arg]] = draw(spec, rng, call.samples)
            plan["calls"][name] = {
                "function": call.function,
                "samples": call.samples,
                "conventions": [
                    [
                        {"input": keys[a.partition(":")[0]], "as": a.partition(":")[2] or "array"}
                        for a in convention
                    ]
                    for convention in call.conventions
                ],
            }
    return inputs, plan


def module_target(
    observer: Observer, sub: Submission, problem: Problem, check: ModuleCheck
) -> ModuleTarget:
    """The planned probe of a module check, as `plan_module` made it."""
    target = observer.target(sub, problem, check)
    assert isinstance(target, ModuleTarget), "a module check is planned by plan_module"
    return target


def script_target(
    observer: Observer, sub: Submission, problem: Problem, check: ScriptCheck
) -> ScriptTarget:
    """The planned probe of a script check, as `plan_script` made it."""
    target = observer.target(sub, problem, check)
    assert isinstance(target, ScriptTarget), "a script check is planned by plan_script"
    return target
