"""The `module` check kind: a student's nn.Module, observed in the sandbox, judged per aspect.

The sandbox reports what the class did (parameters as arrays, outputs on the grader's inputs,
gradients); this module compares that with the reference in the grader's process. The weight
transplant (`grader.judges.transplant`) lets the reference compute, with the student's own weights,
what a correct layer would have output; equality on fresh random inputs is the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from grader.ingest.submission import CodeUnit
from grader.judges.context import GradingContext, Verdict, result
from grader.judges.crashes import Locator, describe_crash, locator
from grader.judges.planning import ModuleTarget, module_target
from grader.judges.reverse import close, region_of, reverse_equivalence, reverse_grads_differ
from grader.judges.sources import missing
from grader.judges.transplant import (
    Piece,
    candidate_assignments,
    filled_assignments,
    role_of,
    roles,
    student_pieces,
    transplant_weights,
)
from grader.judges.weights import weights_problem
from grader.reference import NotPrecomputed, PrecomputedReference
from grader.results import STAFF_MESSAGE, CheckResult, SourceRef, Status
from grader.rubric import ModuleCheck, Problem
from grader.sandbox.observations import ExceptionInfo, ModuleObservation
from grader.sandbox.observe import probe_id


@dataclass(frozen=True)
class Probed:
    """A successfully instantiated module's observation, with its arrays."""

    unit: CodeUnit
    obs: ModuleObservation
    arrays: dict[str, np.ndarray]
    target: ModuleTarget
    where: Locator  # maps generated files (from a writeup/notebook) back to the student's text


@dataclass(frozen=True)
class Equivalence:
    matched: str | None  # the variant's name
    assignment: list[Piece] | None
    message: str
    # What the student's tensors lack, described (only when a zero-filled transplant matched):
    # merged, reference parameters whose sum the student holds in one tensor (the same layer);
    # missing, reference parameters the student has no tensor for at all (not the same layer).
    merged: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    # How the reference, given the student's reported tensors, reproduces the outputs even when
    # the layer is not the one asked for (a ReLU after the sum, parameters missing): the proof
    # that the reported tensors are the ones the forward used (`_explanation`).
    explained: Explanation | None = None


@dataclass(frozen=True)
class Explanation:
    """The reference (variant `args`), given `assignment` of the student's reported tensors and
    then `relu` if set, computes exactly the outputs the student's process reported on the
    grader's fresh inputs: the reported tensors are the ones the forward used."""

    args: tuple[tuple[str, object], ...]
    assignment: list[Piece]
    relu: bool = False


WEIGHTS_HINT = (
    "before any forward, the grader sets every parameter to random values of its own and "
    "checks that they were kept: parameters that overlap in memory (views of one tensor) "
    "or code that changes parameters as they are set break that"
)
NO_PARAMETERS_HINT = (
    "submodules kept in a plain Python list or dict are invisible to PyTorch (parameters(), "
    "optimizers, .to(device)): hold them in an nn.ModuleList or nn.ModuleDict"
)


def judge_module(
    problem: Problem, check: ModuleCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    assert part is not None
    points = check.points_of(part)
    probed = _probe(problem, check, ctx)
    if part == "name":
        return _judge_name(check, ctx, problem, probed)
    if isinstance(probed, _Failure):
        return result(
            check,
            part,
            probed.status,
            0.0,
            points,
            probed.message,
            details=probed.details,
            hint=probed.hint,
            source=probed.source,
        )
    judge = {
        "instantiate": _instantiate,
        "param_count": _param_count,
        "independent": _independent,
        "output_shape": _output_shape,
        "equivalence": _equivalence_aspect,
        "backward": _backward,
    }[part]
    status, message, details, hint, source = judge(check, probed, ctx)
    score = points if status is Status.PASSED else 0.0
    return result(
        check,
        part,
        status,
        score,
        points,
        message,
        details=details,
        hint=hint,
        source=source or probed.where.ref(probed.unit.file, probed.unit.line),
    )


@dataclass(frozen=True)
class _Failure:
    status: Status
    message: str
    details: list[str]
    hint: str | None = None
    source: SourceRef | None = None


def _probe(problem: Problem, check: ModuleCheck, ctx: GradingContext) -> Probed | _Failure:
    key = f"probe:{probe_id(problem, check)}"
    if key not in ctx.memo:
        ctx.memo[key] = _run_probe(problem, check, ctx)
    return ctx.memo[key]


def _run_probe(problem: Problem, check: ModuleCheck, ctx: GradingContext) -> Probed | _Failure:
    sub = ctx.submission
    target = module_target(ctx.observer, sub, problem, check)
    unit = target.lookup.unit
    where = locator(sub)
    if unit is None:
        pending = missing(sub, check.symbol, problem)
        if pending is not None:  # writeup code our parser could not rebuild: a TA looks
            reason, excerpt, at = pending
            return _Failure(Status.PENDING, f"for a TA: {reason}", excerpt, source=at)
        instead = ", ".join(target.lookup.found_instead) or "none"
        details = [f"{p.file}:{p.line}: {p.message}" for p in sub.parse_problems]
        return _Failure(
            Status.FAILED,
            f"no class {check.symbol} found in your .py files "
            f"(nn.Module classes found instead: {instead})",
            details,
            hint="files with syntax errors cannot be read" if details else None,
        )
    source = where.ref(unit.file, unit.line)
    if target.needs:  # the grading environment cannot import it: not the student's fault
        lacking = ", ".join(target.needs)
        return _Failure(
            Status.PENDING,
            f"for a TA: {unit.name} needs {lacking}, which the grading environment lacks",
            [],
            source=source,
        )
    outcome, run = ctx.observer.outcome(sub, problem, check)
    if outcome is None or outcome.observation is None:
        why = outcome.problem if outcome else "the sandbox did not run"
        limit = f" ({run.limit_hit})" if run and run.limit_hit else ""
        tail = run.stderr_tail.strip().splitlines()[-5:] if run else []
        return _Failure(
            Status.ERROR, f"your code could not be observed: {why}{limit}", tail, source=source
        )
    obs = outcome.observation
    if not isinstance(obs, ModuleObservation) or not consistent(obs, outcome.arrays):
        return _Failure(Status.ERROR, "the observation was tampered with", [], source=source)
    assert target.request is not None
    forged = weights_problem(obs, outcome.arrays, int(target.request.spec["seed"]))
    if forged is not None:
        return _Failure(
            Status.ERROR,
            f"the observation cannot be trusted: {forged}",
            [],
            hint=WEIGHTS_HINT,
            source=source,
        )
    if obs.error is not None:
        return _crash(obs.error, obs.stage, source, where)
    if obs.class_found is False:
        return _Failure(
            Status.FAILED,
            f"importing {where.name(unit.file)} does not define {unit.name} "
            "(is it inside a function or an `if` block?)",
            [],
            source=source,
        )
    if obs.is_module is False:
        return _Failure(
            Status.FAILED, f"{unit.name} is not a torch.nn.Module subclass", [], source=source
        )
    return Probed(unit, obs, outcome.arrays, target, where)


def consistent(obs: ModuleObservation, arrays: dict[str, np.ndarray]) -> bool:
    """What the probe claims must match the arrays it wrote (student code shares its process)."""
    tensors = {p.tensor: p.shape for p in obs.params}
    for index, shape in tensors.items():
        array = arrays.get(f"param{index}")
        if array is None or list(array.shape) != shape:
            return False
    if set(tensors) != set(range(len(tensors))) or obs.n_tensors != len(tensors):
        return False
    for i, fwd in enumerate(obs.forwards):
        array = arrays.get(f"out{i}")
        if fwd.ok != (array is not None) or (array is not None and list(array.shape) != fwd.shape):
            return False
    if obs.backward is not None and obs.backward.ok:
        if len(obs.backward.has_grad) != len(tensors):
            return False
        for index, has in enumerate(obs.backward.has_grad):
            grad = arrays.get(f"grad{index}")
            if has != (grad is not None) or (
                grad is not None and list(grad.shape) != tensors[index]
            ):
                return False
    return True


def _crash(error: ExceptionInfo, stage: str, fallback: SourceRef, where: Locator) -> _Failure:
    crash = describe_crash(error, where, fallback)
    message = f"{error.type} during {stage}{crash.where}: {crash.first_line}"
    return _Failure(Status.ERROR, message, crash.details, crash.hint, crash.source)


def _judge_name(
    check: ModuleCheck, ctx: GradingContext, problem: Problem, probed: Probed | _Failure
) -> CheckResult:
    lookup = module_target(ctx.observer, ctx.submission, problem, check).lookup
    if lookup.unit is None or lookup.exact:
        return result(
            check,
            "name",
            Status.PASSED if lookup.exact else Status.SKIPPED,
            0.0,
            0.0,
            f"class named {check.symbol}" if lookup.exact else "no class to name",
        )
    unit = lookup.unit
    return result(
        check,
        "name",
        Status.FAILED,
        -check.misnamed_penalty,
        0.0,
        f"graded {unit.name} in place of {check.symbol}: name it exactly {check.symbol} "
        f"(-{check.misnamed_penalty:g})",
        source=locator(ctx.submission).ref(unit.file, unit.line),
    )


def _ok(message: str, details: list[str] | None = None) -> Verdict:
    return Status.PASSED, message, details or [], None, None


def _instantiate(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    return _ok(f"{probed.unit.name}({', '.join(map(repr, check.init_args))}) builds an nn.Module")


def _trainable_count(obs: ModuleObservation) -> int:
    seen: dict[int, int] = {}
    for p in obs.params:
        if p.requires_grad:
            seen[p.tensor] = math.prod(p.shape)  # exact: np.prod wraps around past 2**63
    return sum(seen.values())


def _reference_count(check: ModuleCheck, ctx: GradingContext) -> int | None:
    """Trainable parameters of the reference, counted once per grading run (it is the same for
    every student; building the module per student dominated cached re-grades)."""
    if ctx.reference is None:
        return None
    key = f"count:{check.reference}:{sorted(check.variants[0].args.items())}"
    counts = ctx.reference.memo
    if key not in counts:
        module = ctx.reference.instance(check.reference, **check.variants[0].args)
        counts[key] = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return int(counts[key])


def _param_count(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    count = _trainable_count(probed.obs)
    expected = _reference_count(check, ctx)
    if expected is None:
        return (
            Status.SKIPPED,
            f"{count:,} trainable parameters (compared by the staff)",
            [],
            None,
            None,
        )
    if count == expected:
        if _explanation(check, probed, ctx) is None:
            return _unproven(f"{count:,} trainable parameters")
        return _ok(f"{count:,} trainable parameters, as expected")
    hint = None
    lacking = _lacking(check, probed, ctx) if count else None
    if count == 0:
        hint = NO_PARAMETERS_HINT
    elif lacking:
        hint = lacking
    elif expected % count == 0 and expected // count > 1 and _reused(check, probed, ctx):
        hint = (
            f"exactly 1/{expected // count} of the expected count: one part seems to be "
            f"reused {expected // count} times instead of independent copies"
        )
    return Status.FAILED, f"{count:,} trainable parameters; expected {expected:,}", [], hint, None


def _lacking(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> str | None:
    """Why a layer that computes the reference's function (or would, with some parameters set
    to zero) has another count: parameters merged into one tensor, or missing."""
    if _forward_failure(probed) or _shared_groups(probed.obs):
        return None
    eq = _equivalence(check, probed, ctx)
    if eq.merged:
        return (
            f"your layer computes the same function with {' and '.join(eq.merged)} merged into "
            "one tensor; the layer asked for has one per path, and the count counts them all"
        )
    if eq.missing:
        return f"your layer has no parameters for {' and '.join(eq.missing)}"
    return None


def _shared_groups(obs: ModuleObservation) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for p in obs.params:
        groups.setdefault(p.tensor, []).append(p.name)
    return [names for names in groups.values() if len(names) > 1]


def _independent(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    shared = _shared_groups(probed.obs)
    if shared:
        first = shared[0]
        return (
            Status.FAILED,
            f"{len(shared)} parameter tensor(s) are shared between parts that should be "
            f"independent, e.g. {first[0]} is the same tensor as {first[1]}"
            + (f" (and {len(first) - 2} more)" if len(first) > 2 else ""),
            [", ".join(g[:4]) + (" ..." if len(g) > 4 else "") for g in shared[:5]],
            "build a new module for each copy (a list comprehension), do not repeat one "
            "instance with `[m] * k`",
            None,
        )
    if ctx.reference is None:  # one path reused k times shares no tensor: only the reference
        return (  # count can tell, so a students' copy decides nothing here (never a pass)
            Status.SKIPPED,
            f"{STAFF_MESSAGE} (no tensor is shared; whether one part is reused "
            "needs the reference solution, which is not installed here)",
            [],
            None,
            None,
        )
    expected = _reference_count(check, ctx)
    count = _trainable_count(probed.obs)
    if expected and count and expected != count and expected % count == 0:
        k = expected // count
        if not _reused(check, probed, ctx):
            if _explanation(check, probed, ctx) is None:
                return _unproven("no parameter tensor is shared")
            return _ok(
                "no parameter tensor is shared between parts (your output is not one part's "
                f"used {k} times)"
            )
        return (
            Status.FAILED,
            f"{count:,} parameters, 1/{k} of the {expected:,} of {k} "
            f"independent paths: the same path's weights seem to be used {k} times",
            [],
            "create one module per path (e.g. an nn.ModuleList of new modules)",
            None,
        )
    if _explanation(check, probed, ctx) is None:
        return _unproven("no parameter tensor is shared")
    return _ok("no parameter tensor is shared between parts")


def _reused(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> bool:
    """Whether a layer with 1/k of the reference's parameters uses them k times: true when the
    reference given k copies of the student's tensors computes the student's output. A layer
    with k times fewer independent parts (16 paths for 32) does not. Unverifiable (the forward
    crashed, or no reference): the count's ratio is all there is, so true."""
    if ctx.reference is None or _forward_failure(probed):
        return True
    return _reuse(check, probed, ctx) is not None


def _reuse(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Explanation | None:
    """The reference given k copies of the student's tensors, where that reproduces the outputs
    (k = the reference's count over the student's)."""
    if ctx.reference is None or _forward_failure(probed):
        return None
    key = f"reused:{probed.obs.id}"
    if key not in ctx.memo:
        ctx.memo[key] = _find_reuse(check, probed, ctx)
    found: Explanation | None = ctx.memo[key]
    return found


def _find_reuse(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Explanation | None:
    assert ctx.reference is not None
    expected = _reference_count(check, ctx) or 0
    count = _trainable_count(probed.obs)
    pieces = student_pieces(probed.obs.params, probed.arrays)
    copies = expected // max(count, 1)
    if copies < 2 or copies * len(pieces) > 10_000:  # k comes from their shapes: bound the work
        return None
    outputs = _outputs(probed)
    xs = [torch.from_numpy(x).double() for x in _inputs(probed)]
    for variant in check.variants:
        ref = ctx.reference.instance(check.reference, *check.init_args, double=True, **variant.args)
        for assignment in candidate_assignments(ref, pieces * copies):
            if _reproduces(ref, assignment, outputs, xs, check):
                return Explanation(_args(variant.args), assignment)
    return None


def _explanation(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Explanation | None:
    """How the reference, given the tensors the student's process reported, reproduces the
    outputs it reported on the grader's fresh inputs; None when nothing the grader can compute
    does.

    Everything in an observation is the student's to choose (a patched probe can list a decoy
    module's parameters while another module computes the outputs), so the structure the
    parameters report (their count, that no tensor is shared, that each gets a gradient) is
    credited only where this explanation proves the outputs were computed from those very
    tensors. A failure can stand on the report alone: a lie there only costs its teller."""
    if ctx.reference is None or _forward_failure(probed) or probed.obs.weights_changed:
        return None
    if not _shared_groups(probed.obs):
        eq = _equivalence(check, probed, ctx)
        if eq.explained is not None:
            return eq.explained
    return _reuse(check, probed, ctx)


def _unproven(what: str) -> Verdict:
    """A pass that rests on the observation's word alone: a TA decides, with the reason."""
    return (
        Status.PENDING,
        f"for a TA: {what}, as your code reports; your outputs are not the reference's "
        "computed from those parameters (see equivalence), so the grader cannot confirm that "
        "they are the ones your forward uses",
        [],
        None,
        None,
    )


def _forward_missing(probed: Probed) -> Verdict | None:
    if probed.obs.has_forward is not False:
        return None
    unit = probed.unit
    misplaced = unit.misplaced_methods.get("forward")
    if misplaced is not None:
        line, parent = misplaced
        return (
            Status.ERROR,
            f"{unit.name} has no forward method: `def forward` at "
            f"{probed.where.text(unit.file, line)} is indented inside `{parent}`",
            [],
            f"dedent `forward` so it sits at class level, beside `{parent}`",
            probed.where.ref(unit.file, line),
        )
    return (
        Status.ERROR,
        f"{unit.name} has no forward method",
        [],
        "define `def forward(self, x):` at class level",
        None,
    )


def _forward_failure(probed: Probed) -> Verdict | None:
    missing = _forward_missing(probed)
    if missing:
        return missing
    for i, fwd in enumerate(probed.obs.forwards):
        if fwd.error is not None:
            crash = _crash(
                fwd.error,
                f"forward on input {i}",
                probed.where.ref(probed.unit.file, probed.unit.line),
                probed.where,
            )
            shape = probed.target.request.spec["inputs"][i] if probed.target.request else ""
            x = probed.target.inputs.get(str(shape))
            details = crash.details + ([f"input shape {list(x.shape)}"] if x is not None else [])
            return crash.status, crash.message, details, crash.hint, crash.source
        if not fwd.ok:
            return (Status.FAILED, f"forward returned {fwd.returned}, not a tensor", [], None, None)
    if len(probed.obs.forwards) < len(probed.target.inputs) - 1:
        return Status.ERROR, "the forward passes did not all run", [], None, None
    return None


def _output_shape(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    failure = _forward_failure(probed)
    if failure:
        return failure
    for fwd, x_shape, want in zip(
        probed.obs.forwards, check.inputs, check.output_shapes, strict=True
    ):
        if fwd.shape != want:
            return (
                Status.FAILED,
                f"input {x_shape} gave output {fwd.shape}; expected {want}",
                [],
                None,
                None,
            )
    return _ok("output shapes " + ", ".join(str(s) for s in check.output_shapes) + " as expected")


def _equivalence(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Equivalence:
    key = f"equivalence:{probed.obs.id}"
    if key not in ctx.memo:
        ctx.memo[key] = _compute_equivalence(check, probed, ctx)
    return ctx.memo[key]


def _outputs(probed: Probed) -> list[np.ndarray]:
    return [
        probed.arrays[f"out{i}"]
        for i in range(len(probed.obs.forwards))
        if f"out{i}" in probed.arrays
    ]


def _inputs(probed: Probed) -> list[np.ndarray]:
    assert probed.target.request is not None
    return [probed.target.inputs[k] for k in probed.target.request.spec["inputs"]]


def _close(got: np.ndarray, want: np.ndarray, check: ModuleCheck) -> bool:
    return close(got, want, check.atol, check.rtol)


def _compute_equivalence(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Equivalence:
    assert ctx.reference is not None
    reference = ctx.reference
    changed = probed.obs.weights_changed
    if changed is not None:  # the outputs were not all computed on the recorded weights
        names = ", ".join(changed.names[:3]) + (" ..." if len(changed.names) > 3 else "")
        return Equivalence(
            None,
            None,
            f"your layer changes its parameters when it runs ({changed.stage} changed {names}): "
            "outputs are compared on the weights the grader set before the first forward, "
            "and forward must leave them as they are",
        )
    pieces = student_pieces(probed.obs.params, probed.arrays)
    outputs = _outputs(probed)
    xs = [torch.from_numpy(x).double() for x in _inputs(probed)]
    closest: float | None = None
    relu_of: Explanation | None = None  # the outputs are ReLU of the reference's
    if not pieces:
        return Equivalence(
            None,
            None,
            f"{probed.unit.name} has no parameters, so there are no weights to compare: "
            + NO_PARAMETERS_HINT,
        )
    if isinstance(reference, PrecomputedReference):
        return _bundle_equivalence(check, probed, ctx, pieces)
    for variant in check.variants:
        ref = reference.instance(check.reference, *check.init_args, double=True, **variant.args)
        for assignment in candidate_assignments(ref, pieces):
            transplant_weights(ref, assignment)
            with torch.no_grad():
                wants = [ref(x).numpy() for x in xs]
            if all(_close(g, w, check) for g, w in zip(outputs, wants, strict=True)):
                return Equivalence(
                    variant.name,
                    assignment,
                    f"matches the reference ({variant.name}) when given your weights",
                    explained=Explanation(_args(variant.args), assignment),
                )
            diff = max(
                float(np.max(np.abs(g - w))) if g.shape == w.shape else np.inf
                for g, w in zip(outputs, wants, strict=True)
            )
            closest = diff if closest is None else min(closest, diff)
            if relu_of is None and all(
                _close(g, np.maximum(w, 0), check) for g, w in zip(outputs, wants, strict=True)
            ):
                relu_of = Explanation(_args(variant.args), assignment, relu=True)
    filled, partial = _filled_equivalence(check, pieces, outputs, xs, ctx)
    if filled is not None:
        return filled
    relu_of = relu_of or partial
    if closest is None:
        first = reference.instance(check.reference, *check.init_args, **check.variants[0].args)
        expected = sum(1 for _ in first.parameters())
        return Equivalence(
            None,
            None,
            "your parameters cannot be laid onto the reference's to "
            f"compare outputs: you have {len(pieces)} tensors "
            f"({_trainable_count(probed.obs):,} values), it has {expected}",
            explained=relu_of,
        )
    message = (
        f"your output differs from the reference given your weights (max abs diff {closest:.3g})"
    )
    if relu_of is not None:
        message += "; it equals ReLU of the expected output: is there a ReLU after the sum?"
    return Equivalence(None, None, message, explained=relu_of)


def _bundle_equivalence(
    check: ModuleCheck, probed: Probed, ctx: GradingContext, pieces: list[Piece]
) -> Equivalence:
    """Equivalence in a students' bundle: the reference's stored weights loaded into the
    student's layer, its outputs compared with the reference's stored outputs
    (`grader.judges.reverse`); what that cannot decide raises `NotPrecomputed`. The messages
    are the transplant's own (a failure's difference is measured on other weights)."""
    assert probed.target.request is not None
    key = f"reverse-found:{probed.obs.id}"
    if isinstance(ctx.memo.get(key), NotPrecomputed):  # one second run per student, not per aspect
        raise ctx.memo[key]
    try:
        found, loaded, facts = reverse_equivalence(
            check, probed.obs, probed.arrays, ctx, probed.target.request, probed.target
        )
    except NotPrecomputed as exc:
        ctx.memo[key] = exc
        raise
    ctx.memo[key] = (found, loaded, facts)
    if found.variant is not None and found.assignment is not None:
        variant = check.variants[found.variant]
        return Equivalence(
            variant.name,
            found.assignment,
            f"matches the reference ({variant.name}) when given your weights",
            explained=Explanation(_args(variant.args), found.assignment),
        )
    relu_of = None
    if found.relu is not None:
        relu_of = Explanation(_args(check.variants[found.relu[0]].args), found.relu[1], relu=True)
    if found.closest is None:
        return Equivalence(
            None,
            None,
            "your parameters cannot be laid onto the reference's to "
            f"compare outputs: you have {len(pieces)} tensors "
            f"({_trainable_count(probed.obs):,} values), it has {found.layouts}",
        )
    message = (
        f"your output differs from the reference given your weights (max abs diff "
        f"{found.closest:.3g})"
    )
    if relu_of is not None:
        message += "; it equals ReLU of the expected output: is there a ReLU after the sum?"
    return Equivalence(None, None, message, explained=relu_of)


def _bundle_grads_differ(
    check: ModuleCheck, probed: Probed, ctx: GradingContext, explanation: Explanation
) -> bool:
    """`_grads_differ` in a students' bundle: the gradients of the run on the bundle's weights
    against the reference's stored ones, for the setting whose outputs matched."""
    stored = ctx.memo.get(f"reverse-found:{probed.obs.id}")
    if (
        explanation.relu
        or not isinstance(stored, tuple)
        or stored[0].variant is None
        or stored[1] is None
    ):
        raise NotPrecomputed("the gradients to compare with are not in the students' bundle")
    found, loaded, facts = stored
    return reverse_grads_differ(check, facts, loaded, found, probed.obs)


def _args(args: dict[str, object]) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(args.items()))


def _filled_equivalence(
    check: ModuleCheck,
    pieces: list[Piece],
    outputs: list[np.ndarray],
    xs: list[torch.Tensor],
    ctx: GradingContext,
) -> tuple[Equivalence | None, Explanation | None]:
    """The last try: the student's tensors on the reference, the parameters left over zero.

    A match there is the reference's function only if the zeros stand for nothing the student
    lost: every role (`paths.#.4.bias`) with a zero also holds a student tensor, and spreading
    each such role's values evenly over its members reproduces the student's output too, so the
    reference depends on that role only through its sum (32 biases added to one output are one
    bias: ResNeXt's merged form). A role left wholly zero (a layer built with `bias=False`) is
    missing from the student's layer.

    Second, where no match is the reference's function: the first filled assignment that
    reproduces the outputs all the same (16 independent paths are 32 with 16 left zero), which
    still proves the reported tensors are the ones used (`_explanation`).
    """
    partial: Explanation | None = None
    assert ctx.reference is not None
    for variant in check.variants:
        ref = ctx.reference.instance(check.reference, *check.init_args, double=True, **variant.args)
        by_role = roles(ref)
        names = [n for n, _ in ref.named_parameters()]
        for assignment in filled_assignments(ref, pieces):
            if not _reproduces(ref, assignment, outputs, xs, check):
                continue
            partial = partial or Explanation(_args(variant.args), assignment)
            zero_roles = [
                r for r, ix in by_role.items() if any(assignment[i].source is None for i in ix)
            ]
            missing = [
                r for r in zero_roles if all(assignment[i].source is None for i in by_role[r])
            ]
            if missing:
                described = tuple(_describe_role(ref, r, names) for r in missing)
                return Equivalence(
                    None,
                    None,
                    f"matches the reference ({variant.name}) only with {' and '.join(described)} "
                    "set to zero: your layer has no parameters for them",
                    missing=described,
                    explained=Explanation(_args(variant.args), assignment),
                ), partial
            shapes = [tuple(p.shape) for p in ref.parameters()]
            spread = list(assignment)
            for role in zero_roles:
                mean = role_mean(assignment, by_role[role], shapes)
                for i in by_role[role]:
                    spread[i] = Piece(f"mean of {role}", mean)
            if not _reproduces(ref, spread, outputs, xs, check):
                continue
            merged = tuple(_describe_role(ref, r, names) for r in zero_roles)
            return Equivalence(
                variant.name,
                assignment,
                f"matches the reference ({variant.name}) when given your weights, with "
                f"{' and '.join(merged)} merged into one tensor (the same function)",
                merged=merged,
                explained=Explanation(_args(variant.args), assignment),
            ), partial
    return None, partial


def role_mean(
    assignment: list[Piece], indices: list[int], shapes: list[tuple[int, ...]]
) -> np.ndarray:
    """The mean of a role's assigned arrays, each in its reference parameter's shape: a student's
    (4, 256) matrix and a zero-filled (4, 256, 1, 1) weight are the same values, and added as
    they are they would broadcast to (4, 256, 4, 256)."""
    total = sum(np.reshape(assignment[i].array, shapes[i]) for i in indices)
    return np.asarray(total) / len(indices)


def _reproduces(
    ref: torch.nn.Module,
    assignment: list[Piece],
    outputs: list[np.ndarray],
    xs: list[torch.Tensor],
    check: ModuleCheck,
) -> bool:
    transplant_weights(ref, assignment)
    with torch.no_grad():
        wants = [ref(x).numpy() for x in xs]
    return all(_close(g, w, check) for g, w in zip(outputs, wants, strict=True))


def _describe_role(ref: torch.nn.Module, role: str, names: list[str]) -> str:
    """'the bias of every Conv2d(4, 256, kernel_size=(1, 1), stride=(1, 1))' for paths.#.4.bias."""
    owner, _, leaf = role.rpartition(".")
    example = next((n for n in names if role_of(n) == role), None)
    if example is None:
        return f"`{role}`"
    try:
        module = ref.get_submodule(example.rpartition(".")[0])
    except AttributeError:
        return f"`{role}`"
    return f"the {leaf} of each {module!r}" if "#" in owner else f"the {leaf} of {module!r}"


def _equivalence_aspect(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    failure = _forward_failure(probed)
    if failure:
        return failure
    if ctx.reference is None:
        return Status.SKIPPED, "compared with the reference by the staff", [], None, None
    if _shared_groups(probed.obs):
        return (
            Status.FAILED,
            "parts share parameter tensors, so this is not the layer of "
            "independent parts the problem asks for",
            [],
            None,
            None,
        )
    eq = _equivalence(check, probed, ctx)
    if eq.matched:
        return _ok(eq.message)
    return Status.FAILED, eq.message, [], None, None


def _backward(check: ModuleCheck, probed: Probed, ctx: GradingContext) -> Verdict:
    missing = _forward_missing(probed)
    if missing:
        return missing
    bwd = probed.obs.backward
    if bwd is None:
        return Status.ERROR, "the backward pass did not run", [], None, None
    if bwd.error is not None:
        crash = _crash(
            bwd.error,
            "backward",
            probed.where.ref(probed.unit.file, probed.unit.line),
            probed.where,
        )
        return crash.status, crash.message, crash.details, crash.hint, crash.source
    if not bwd.has_grad:
        return (
            Status.FAILED,
            f"{probed.unit.name} has no parameters: backward has nothing to train",
            [],
            NO_PARAMETERS_HINT,
            None,
        )
    names = _first_names(probed.obs)
    without = [names[k] for k, has in enumerate(bwd.has_grad) if not has]
    if without:
        return (
            Status.FAILED,
            f"{len(without)} parameter(s) get no gradient, e.g. {without[0]}",
            without[:5],
            "a parameter that does not take part in forward gets no gradient",
            None,
        )
    grads = [probed.arrays.get(f"grad{k}") for k in range(len(bwd.has_grad))]
    if grads and all(g is not None and not np.any(g) for g in grads):
        return (
            Status.FAILED,
            "every gradient is exactly zero: the output does not depend on the parameters",
            [],
            None,
            None,
        )
    if ctx.reference is not None:
        explanation = _explanation(check, probed, ctx)
        if explanation is None:
            return _unproven(f"a gradient for all {len(bwd.has_grad)} parameter tensors")
        differ = (
            _bundle_grads_differ(check, probed, ctx, explanation)
            if isinstance(ctx.reference, PrecomputedReference)
            else _grads_differ(check, probed, ctx, explanation)
        )
        if differ:
            return (
                Status.FAILED,
                "gradients differ from the reference's for the same weights",
                [],
                None,
                None,
            )
    return _ok(f"backward gives a gradient for all {len(bwd.has_grad)} parameter tensors")


def _first_names(obs: ModuleObservation) -> dict[int, str]:
    names: dict[int, str] = {}
    for p in obs.params:
        names.setdefault(p.tensor, p.name)
    return names


def _grads_differ(
    check: ModuleCheck, probed: Probed, ctx: GradingContext, explanation: Explanation
) -> bool:
    """The reported gradients must be those of the computation that explains the outputs: the
    reference (then ReLU, if that is the explanation) on the same tensors and cotangent, summed
    over every place a student tensor (or a chunk of it) fills."""
    assert ctx.reference is not None and probed.target.request is not None
    ref = ctx.reference.instance(
        check.reference, *check.init_args, double=True, **dict(explanation.args)
    )
    transplant_weights(ref, explanation.assignment)
    x = torch.from_numpy(_inputs(probed)[0]).double()
    cotangent = torch.from_numpy(probed.target.inputs[probed.target.request.spec["cotangent"]])
    y = ref(x)
    if explanation.relu:
        y = torch.relu(y)
    (y * cotangent).sum().backward()
    index_of = {p.name: p.tensor for p in probed.obs.params}
    wants: dict[int, np.ndarray] = {}
    for param, piece in zip(ref.parameters(), explanation.assignment, strict=True):
        if piece.source is None:  # a zero standing for a merged parameter: no tensor of theirs
            continue
        index = index_of.get(piece.source, -1)
        whole = probed.arrays.get(f"param{index}")
        if whole is None:
            return True
        want = wants.setdefault(index, np.zeros(whole.shape))
        grad = param.grad.numpy() if param.grad is not None else np.zeros(param.shape)
        region = region_of(piece, whole.ndim)
        want[region] += grad.reshape(want[region].shape)
    for index, want in wants.items():
        got = probed.arrays.get(f"grad{index}")
        scale = max(float(np.max(np.abs(want))), 1e-12)
        if got is None or got.shape != want.shape or np.max(np.abs(got - want)) > 1e-3 * scale:
            return True
    return False
