"""The `compare_run` check kind: a script's run compared with the reference's replayed runs.

A starter that seeds its generator and fixes the order of its draws makes a correct run
reproducible to the last digits: the reference replays it (trusted code, in the grader's
process) and the student's final quantities, as the sandbox sent them back, either match it, or
match a replay with a known mistake (which names the mistake), or match nothing the grader knows
and go to a TA. No verdict rests on a number the student's process computed about itself: the
grader compares the raw quantities with replays it computed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.judges.context import GradingContext, Verdict, needs_reference, result
from grader.judges.script import Ran, observed_runs
from grader.results import CheckResult, Status
from grader.rubric import (
    CompareRunCheck,
    Problem,
    RefValue,
    RunQuantity,
    RunVariant,
    ScriptCheck,
    seed_label,
)

DEFAULT_PASS = "the run is the reference's"
#: The seeding calls the probe watches (grader/sandbox/inside/probe.py, `SEEDING_CALLS`).
SEEDING = ("np.random.seed", "np.random.default_rng", "random.seed", "torch.manual_seed")


@dataclass(frozen=True)
class Read:
    """A quantity as the student's run left it (None: not there), and where it was read."""

    value: np.ndarray | None
    where: str


@dataclass(frozen=True)
class Replay:
    """One replayed run: its arguments, and the mistake it stands for (None: accepted)."""

    args: dict[str, Any]
    mistake: str | None


def judge_compare_run(
    problem: Problem, check: CompareRunCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    if ctx.reference is None:
        return needs_reference(check, part, check.points)
    script = next(c for c in problem.checks if isinstance(c, ScriptCheck) and c.id == check.run)
    runs = observed_runs(problem, script, ctx)
    findings = [_finding(check, script, run, ran, ctx) for run, ran in runs]
    if len(findings) == 1:  # one run (the default: as written): judged as it always was
        status, message, details, hint, source = findings[0].verdict
        if status is not Status.PASSED:
            details = [*details, *findings[0].seeding]
    else:
        status, message, details, hint, source = _together(check, findings)
    score = check.points if status is Status.PASSED else 0.0
    return result(
        check,
        part,
        status,
        score,
        check.points,
        message,
        details=details,
        hint=hint,
        source=source,
    )


@dataclass(frozen=True)
class Finding:
    """What one run of the student's script (under one `seeds` entry) compares as."""

    label: str
    verdict: Verdict
    seeding: list[str]  # what the run's seeding calls say, for a TA


def _finding(
    check: CompareRunCheck,
    script: ScriptCheck,
    run: ScriptCheck,
    ran: Ran | Verdict,
    ctx: GradingContext,
) -> Finding:
    label = seed_label(run.seeds[0])
    if not isinstance(ran, Ran):
        status, message, details, _, _ = ran
        if status is Status.ERROR:  # could not be observed: the run check says why; a TA decides
            status, message = Status.PENDING, f"pending: {message} (see {script.id})"
        return Finding(label, (status, message, details, None, None), [])
    seed = run.seeds[0]
    seeds = list(check.seeds) if isinstance(seed, str) else [seed]
    status, message, details, hint, _ = _verdict(check, script, ran, seeds, ctx)
    return Finding(
        label, (status, message, details, hint, ran.where.ref(ran.file)), seeding_notes(ran)
    )


def _together(check: CompareRunCheck, findings: list[Finding]) -> Verdict:
    """Several runs, one per seed: all the reference's passes, all the same known mistake fails
    with it, anything else goes to a TA with what each run compared as."""
    labels = ", ".join(f.label for f in findings)
    details = [
        f"{f.label}: {line}"
        for f in findings
        for line in [f.verdict[1].removeprefix("pending: "), *f.verdict[2][:5]]
    ] + [f"{f.label}: {note}" for f in findings for note in f.seeding]
    source = next((f.verdict[4] for f in findings if f.verdict[4] is not None), None)
    statuses = {f.verdict[0] for f in findings}
    messages = {f.verdict[1] for f in findings}
    if statuses == {Status.PASSED}:
        message = f"{check.title or DEFAULT_PASS} (each run: {labels})"
        return Status.PASSED, message, details, None, source
    if statuses == {Status.FAILED} and len(messages) == 1:
        return Status.FAILED, findings[0].verdict[1], details, findings[0].verdict[3], source
    if statuses == {Status.PENDING}:
        first = findings[0].verdict[1].removeprefix("pending: ")
        message = f"pending: no run could be placed ({findings[0].label}: {first})"
        return Status.PENDING, message, details, None, source
    return (
        Status.PENDING,
        f"pending: the runs under the rubric's seeds ({labels}) do not compare alike, so the "
        "grader cannot say which one the code is: for a TA",
        details,
        None,
        source,
    )


def seeding_notes(ran: Ran) -> list[str]:
    """What the run's seeding calls (as the probe reported them: never evidence for a verdict)
    tell a TA: a script that never seeds, or seeds from the OS's entropy."""
    seeding = ran.obs.seeding
    if seeding is None:
        return []
    if not seeding.calls:
        return [
            f"the script never seeds a random generator ({', '.join(SEEDING)}): a run compared "
            "with the reference's starts from the starter's seed"
        ]
    notes = []
    for call in seeding.calls[:5]:
        at = ran.where.text(call.file, call.line)
        if call.given == "None":
            notes.append(f"{at}: {call.call}() takes its seed from the OS: no run can replay it")
        elif call.used != call.given:
            notes.append(f"{at}: {call.call}({call.given}) ran as {call.call}({call.used})")
        else:
            notes.append(f"{at}: {call.call}({call.given})")
    more = max(len(seeding.calls) - 5, 0) + seeding.more
    if more:
        notes.append(f"and {more} more seeding calls")
    return notes


def _verdict(
    check: CompareRunCheck,
    script: ScriptCheck,
    ran: Ran,
    seeds: list[int],
    ctx: GradingContext,
) -> Verdict:
    replays = replays_of(check, seeds)
    runs = [_replayed(check, replay, ctx) for replay in replays]
    stopped = _stopped(ran)
    seen = {
        name: _read(ran, q, reference_value(runs[0], name, q)) for name, q in check.compare.items()
    }
    absent = [f"{name}: {read.where}" for name, read in seen.items() if read.value is None]
    if absent:
        if stopped:
            return _pending(f"{script.file} stopped ({stopped}) before leaving {_names(check)}")
        if check.missing == "pending":
            return _pending(f"the run cannot be placed ({'; '.join(absent)})")
        return (
            Status.FAILED,
            "; ".join(r.where for r in seen.values() if r.value is None),
            [],
            None,
            None,
        )
    if not all(np.all(np.isfinite(r.value)) for r in seen.values() if r.value is not None):
        where = ", ".join(r.where for r in seen.values())
        if (check.diverged or check.missing) == "pending":
            return _pending("the run diverged, so it cannot be placed")
        return (
            Status.FAILED,
            f"the run diverged: the final {_names(check)} ({where}) holds NaN or infinite values",
            [],
            None,
            None,
        )
    for replay, run in zip(replays, runs, strict=True):
        if _matches(check, seen, run):
            if replay.mistake is None:
                return Status.PASSED, check.title or DEFAULT_PASS, [], None, None
            return Status.FAILED, replay.mistake, [], None, None
    return _unplaced(check, script, ran, runs[0], seen, stopped)


def _unplaced(
    check: CompareRunCheck,
    script: ScriptCheck,
    ran: Ran,
    reference_run: Any,
    seen: dict[str, Read],
    stopped: str,
) -> Verdict:
    """Why a run the grader cannot place goes to a TA, with what can be said about it."""
    what = f"; {check.for_ta}" if check.for_ta else ""
    if stopped:
        return _pending(f"{script.file} stopped before its end ({stopped}){what}: for a TA")
    differ = [
        name
        for name, q in check.given.items()
        if not _given_agrees(
            _read(ran, q, reference_value(reference_run, name, q)), q, reference_run, name
        )
    ]
    if differ:
        return _pending(
            f"{', '.join(differ)} differ from the starter's (its seed and order of draws), so the "
            f"run cannot be compared with the reference's{what}: for a TA"
        )
    where = ", ".join(f"{name} ({read.where})" for name, read in seen.items())
    return _pending(
        f"the final {where} is neither the reference run's nor a known wrong run's (another "
        f"random generator, another order of draws, or another slip?){what}: for a TA"
    )


def _given_agrees(read: Read, quantity: RunQuantity, run: Any, name: str) -> bool:
    """A given quantity the run does not show is no evidence against the starter's."""
    if read.value is None:
        return True
    expected = reference_value(run, name, quantity)
    return read.value.shape == expected.shape and bool(
        np.allclose(read.value, expected, rtol=quantity.rtol, atol=quantity.atol)
    )


def _matches(check: CompareRunCheck, seen: dict[str, Read], run: Any) -> bool:
    for name, quantity in check.compare.items():
        value, expected = seen[name].value, reference_value(run, name, quantity)
        if value is None or value.shape != expected.shape:
            return False
        if not np.allclose(value, expected, rtol=quantity.rtol, atol=quantity.atol):
            return False
    return True


def replays_of(check: CompareRunCheck, seeds: list[int] | None = None) -> list[Replay]:
    """Every combination of the axes (with each seed: `seeds`, by default the check's own),
    accepted ones first."""
    axes: list[list[RunVariant]] = list(check.variants.values()) or [[RunVariant()]]
    chosen: list[int | None] = list(check.seeds if seeds is None else seeds) or [None]
    replays = []
    for seed in chosen:
        for combination in itertools.product(*axes):
            args = dict(check.reference_args)
            for variant in combination:
                args.update(variant.args)
            if seed is not None:
                args["seed"] = seed
            mistake = next((v.mistake for v in combination if v.mistake is not None), None)
            replays.append(Replay(args, mistake))
    return sorted(replays, key=lambda r: r.mistake is not None)


def _replayed(check: CompareRunCheck, replay: Replay, ctx: GradingContext) -> Any:
    assert ctx.reference is not None
    return ctx.reference.value(RefValue(ref=check.reference, args=replay.args))


def reference_value(run: Any, name: str, quantity: RunQuantity) -> np.ndarray:
    key = quantity.reference or name
    value = run[key] if isinstance(run, dict) else getattr(run, key)
    return np.ravel(np.asarray(value, dtype=float))


def _read(ran: Ran, quantity: RunQuantity, expected: np.ndarray) -> Read:
    """The student's value: the first named global with the reference's number of values, else
    one group of `parts` concatenated; or why there is none."""
    size = expected.size
    for name in quantity.names:
        array = _global(ran, name)
        if array is not None and array.size == size:
            return Read(np.ravel(array).astype(float), f"`{name}`")
    for group in quantity.parts:
        parts = [_global(ran, name) for name in group]
        if (
            all(p is not None for p in parts)
            and sum(p.size for p in parts if p is not None) == size
        ):
            joined = np.concatenate([np.ravel(p) for p in parts if p is not None])
            return Read(joined.astype(float), ", ".join(group))
    candidates = [
        f"`{g.name}`" + (f" ({g.type}, shape {g.shape})" if g.type else "")
        for g in ran.obs.globals
        if g.defined and g.name in quantity.names
    ]
    if candidates:
        return Read(None, f"{candidates[0]} is not the {size} values of the reference's")
    names = " or ".join(f"`{name}`" for name in quantity.names) or "global"
    groups = " nor ".join(", ".join(group) for group in quantity.parts)
    also = f" (nor {groups} together)" if groups else ""
    return Read(None, f"the script leaves no {names}{also} with the reference's {size} values")


def _global(ran: Ran, name: str) -> np.ndarray | None:
    info = ran.obs.global_info(name)
    array = ran.arrays.get(f"global.{name}")
    if info is None or not info.defined or array is None:
        return None
    return array


def _stopped(ran: Ran) -> str:
    error = ran.obs.error
    if error is None:
        return ""
    first = error.message.splitlines()[0][:160] if error.message else ""
    return f"{error.type}: {first}"


def _names(check: CompareRunCheck) -> str:
    return ", ".join(check.compare)


def _pending(message: str) -> Verdict:
    return Status.PENDING, f"pending: {message}", [], None, None
