"""The reverse transplant: a module's equivalence judged in a students' bundle, without the
reference's code.

At grading time the student's weights are transplanted into the reference module
(`grader.judges.transplant`). A students' bundle ships no reference code, so it goes the other
way: when the bundle is built, the reference module is instantiated (a fixed seed) and its
weights, inputs drawn by the grader, the reference's outputs on them (one list per variant) and,
for the backward aspect, its gradients are stored as data (`reverse_facts`). At self-check time
the grader maps the reference's parameters onto the student's, from the names and shapes the
student's first probe reported and with the same layouts the transplant knows
(`assignments_for`), turns the reference's weights into the student's tensors for each candidate
mapping, and asks the sandbox a second time: "set your parameters to these tensors, then run on
these inputs" (the probe's `module_loaded`). The outputs are compared with the stored ones
within the check's tolerances.

Whatever cannot be decided that way is decided at grading time (`NotPrecomputed`), never
guessed: no reference facts in the bundle, a mapping that leaves a student tensor uncovered, a
layer that might be the reference's only with some parameters zero or merged (the transplant's
last try, which needs the reference's code), a second run that crashed, timed out or does not
match the first (the student's process may say anything: every claim is checked against the
first run's structure and the arrays sent). A layer that ignores the weights it was given
computes other outputs, and fails. The self-check is advisory: whatever the student's process
reports here, the TA's run judges the same code afresh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from grader.judges.context import GradingContext
from grader.judges.transplant import Piece, assignments_for, filled_assignments_for, student_pieces
from grader.reference import NotPrecomputed, Reference
from grader.rubric import ModuleCheck
from grader.sandbox.jobs import ProbeRequest
from grader.sandbox.observations import LoadedModuleObservation, ModuleObservation

#: The aspects whose verdict needs the reference module itself.
REVERSE_ASPECTS = frozenset({"equivalence", "backward", "param_count", "independent"})
MAX_SETTINGS = 12  # weight settings asked of one second run (candidate mappings are few)


def reverse_key(probe: str) -> str:
    """Where a bundle's memo holds a module check's reverse facts (by its probe's id)."""
    return f"reverse:{probe}"


# --- when the bundle is built ---------------------------------------------------------------


def reverse_facts(check: ModuleCheck, reference: Reference, seed: int) -> dict[str, Any] | None:
    """The reference's weights, the grader's inputs and the reference's outputs (and gradients)
    on them, as data; None when the variants do not share one parameter layout (the weights
    would not be one set) or the reference has no parameters.

    Weights are kept to 7 significant digits and inputs to 4 decimals, and the reference
    computes with exactly the float32 values the student's layer will hold: the bundle's text
    stays small and both sides compute from the same numbers.
    """
    built = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for variant in check.variants:
            cls = reference.attribute(check.reference)
            built.append(cls(*check.init_args, **variant.args).double())
    layout = [(n, list(p.shape)) for n, p in built[0].named_parameters()]
    if not layout or any(
        [(n, list(p.shape)) for n, p in m.named_parameters()] != layout for m in built[1:]
    ):
        return None
    weights = [_digits(p.detach().numpy(), 7) for p in built[0].parameters()]
    rng = np.random.default_rng(seed)
    inputs = [np.round(rng.standard_normal(tuple(shape)), 4) for shape in check.inputs]
    cotangent = np.round(rng.standard_normal(tuple(check.output_shapes[0])), 4)
    outputs, grads = [], []
    for module in built:
        with torch.no_grad():
            for param, w in zip(module.parameters(), weights, strict=True):
                param.copy_(torch.from_numpy(as_float32(w).astype(np.float64)))
            xs = [torch.from_numpy(as_float32(x).astype(np.float64)) for x in inputs]
            outputs.append([_digits(module(x).numpy(), 9) for x in xs])
        y = module(xs[0])
        (y * torch.from_numpy(cotangent)).sum().backward()
        grads.append(
            [
                _digits(p.grad.numpy() if p.grad is not None else np.zeros(p.shape), 7)
                for p in module.parameters()
            ]
        )
    return {
        "layout": layout,
        "variants": [v.name for v in check.variants],
        "weights": weights,
        "inputs": inputs,
        "cotangent": cotangent,
        "outputs": outputs,
        "grads": grads if "backward" in check.aspects else [],
    }


def _digits(array: np.ndarray, digits: int) -> np.ndarray:
    """The array's values to `digits` significant digits (short in the bundle's JSON)."""
    flat = [float(f"{v:.{digits}g}") for v in np.asarray(array, dtype=np.float64).ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(np.shape(array))


def as_float32(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64).astype(np.float32)


# --- at self-check time ---------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    layout: list[tuple[str, tuple[int, ...]]]
    variants: list[str]
    weights: list[np.ndarray]
    inputs: list[np.ndarray]
    cotangent: np.ndarray
    outputs: list[list[np.ndarray]]
    grads: list[list[np.ndarray]]


def facts_of(ctx: GradingContext, probe: str, check: ModuleCheck) -> Facts:
    """The bundle's reverse facts for this check, checked against the check as loaded."""
    assert ctx.reference is not None
    raw = ctx.reference.memo.get(reverse_key(probe))
    if not isinstance(raw, dict):
        raise NotPrecomputed(f"no reverse facts for {check.id} in the students' bundle")
    try:
        facts = Facts(
            layout=[(str(n), tuple(int(d) for d in s)) for n, s in raw["layout"]],
            variants=[str(v) for v in raw["variants"]],
            weights=[np.asarray(w, dtype=np.float64) for w in raw["weights"]],
            inputs=[np.asarray(x, dtype=np.float64) for x in raw["inputs"]],
            cotangent=np.asarray(raw["cotangent"], dtype=np.float64),
            outputs=[[np.asarray(y, dtype=np.float64) for y in ys] for ys in raw["outputs"]],
            grads=[[np.asarray(g, dtype=np.float64) for g in gs] for gs in raw["grads"]],
        )
    except (KeyError, TypeError, ValueError):
        raise NotPrecomputed("the bundle's reverse facts are malformed") from None
    if facts.variants != [v.name for v in check.variants] or len(facts.weights) != len(
        facts.layout
    ):
        raise NotPrecomputed("the bundle's reverse facts are for another check")
    return facts


@dataclass(frozen=True)
class Setting:
    """The reference's weights laid onto the student's tensors by one candidate mapping."""

    assignment: list[Piece]
    tensors: list[np.ndarray]  # one per distinct student tensor, in the probe's order


@dataclass(frozen=True)
class Loaded:
    """What the second run computed with each setting: outputs, and gradients if asked."""

    settings: list[Setting]
    outputs: list[list[np.ndarray]]
    grads: list[list[np.ndarray] | None]


@dataclass(frozen=True)
class ReverseResult:
    """The reverse check's answer: the first (variant, setting) whose outputs are the reference's,
    else the closest difference and whether the outputs are ReLU of the reference's."""

    variant: int | None
    setting: int | None
    assignment: list[Piece] | None
    closest: float | None
    relu: tuple[int, list[Piece]] | None = None
    layouts: int = 0  # the reference's parameter count, when no mapping lays them at all


def settings_for(
    obs: ModuleObservation, arrays: dict[str, np.ndarray], facts: Facts
) -> list[Setting]:
    """Every candidate mapping turned into the student's tensors, distinct ones only; a mapping
    that leaves part of a student tensor uncovered (or covers it twice) is left out."""
    pieces = student_pieces(obs.params, arrays)
    found: list[Setting] = []
    for assignment in assignments_for(facts.layout, pieces):
        tensors = _invert(obs, assignment, facts.weights)
        if tensors is None:
            continue
        if any(
            all(np.array_equal(a, b) for a, b in zip(s.tensors, tensors, strict=True))
            for s in found
        ):
            continue
        found.append(Setting(assignment, tensors))
    return found


def _invert(
    obs: ModuleObservation, assignment: list[Piece], weights: list[np.ndarray]
) -> list[np.ndarray] | None:
    """The student's tensors holding the reference's weights as `assignment` lays them (the
    transplant's mapping read backwards), or None where that is not one value per element."""
    shapes: dict[int, tuple[int, ...]] = {}
    index_of: dict[str, int] = {}
    for p in obs.params:
        shapes.setdefault(p.tensor, tuple(p.shape))
        index_of.setdefault(p.name, p.tensor)
    full = {k: np.zeros(shape, dtype=np.float32) for k, shape in shapes.items()}
    cover = {k: np.zeros(shape, dtype=np.int32) for k, shape in shapes.items()}
    for piece, weight in zip(assignment, weights, strict=True):
        k = index_of.get(piece.source) if piece.source is not None else None
        if k is None:
            return None
        region = region_of(piece, len(shapes[k]))
        target = full[k][region]
        if target.size != weight.size:
            return None
        full[k][region] = as_float32(weight).reshape(target.shape)
        cover[k][region] += 1
    if any(c.size and (c.min() != 1 or c.max() != 1) for c in cover.values()):
        return None
    return [full[k] for k in range(len(full))]


def region_of(piece: Piece, ndim: int) -> tuple[slice, ...]:
    """The part of the student's whole tensor a piece is (all of it, or one chunk)."""
    if piece.region is None:
        return (slice(None),) * ndim
    dim, start, stop = piece.region
    return (slice(None),) * dim + (slice(start, stop),)


def loaded_request(
    first: ProbeRequest, check: ModuleCheck, settings: list[Setting], facts: Facts
) -> tuple[ProbeRequest, dict[str, np.ndarray]]:
    """The second run's plan and inputs: the first run's class, file and seed, the settings'
    tensors (float32: what the reference's outputs were computed from) and the bundle's inputs."""
    pid = first.id
    inputs: dict[str, np.ndarray] = {}
    for i, x in enumerate(facts.inputs):
        inputs[f"{pid}.rx{i}"] = as_float32(x)
    backward = "backward" in check.aspects and bool(facts.grads)
    if backward:
        inputs[f"{pid}.rg0"] = facts.cotangent
    plan_settings = []
    for j, setting in enumerate(settings):
        keys = []
        for k, tensor in enumerate(setting.tensors):
            inputs[f"{pid}.s{j}.t{k}"] = tensor
            keys.append(f"{pid}.s{j}.t{k}")
        plan_settings.append(keys)
    spec = {
        **{k: v for k, v in first.spec.items() if k not in ("inputs", "cotangent")},
        "inputs": [f"{pid}.rx{i}" for i in range(len(facts.inputs))],
        "cotangent": f"{pid}.rg0" if backward else "",
        "settings": plan_settings,
    }
    timeout = check.timeout_s * max(1, len(settings))
    return ProbeRequest(id=pid, kind="module_loaded", timeout_s=timeout, spec=spec), inputs


def read_loaded(
    obs: Any,
    arrays: dict[str, np.ndarray],
    first: ModuleObservation,
    settings: list[Setting],
    n_inputs: int,
    backward: bool,
) -> Loaded:
    """The second run's outputs, each claim checked: the same parameters as the first run, every
    setting loaded, every forward returning an array of the shape it claims, no weight changed.
    Anything else is decided at grading time."""

    def unusable(why: str) -> NotPrecomputed:
        return NotPrecomputed(f"the run on the bundle's weights cannot be used: {why}")

    if not isinstance(obs, LoadedModuleObservation):
        raise unusable("no observation")
    if obs.error is not None or obs.stage != "done":
        raise unusable(f"it stopped at {obs.stage}")
    mine = [(p.name, list(p.shape), p.tensor) for p in first.params]
    if [
        (p.name, p.shape, p.tensor) for p in obs.params
    ] != mine or obs.n_tensors != first.n_tensors:
        raise unusable("its parameters are not those of the first run")
    if len(obs.settings) != len(settings):
        raise unusable("not every setting ran")
    outputs: list[list[np.ndarray]] = []
    grads: list[list[np.ndarray] | None] = []
    for j, setting in enumerate(obs.settings):
        if not setting.loaded or setting.weights_changed is not None:
            raise unusable(f"setting {j} was not kept")
        if len(setting.forwards) != n_inputs or not all(f.ok for f in setting.forwards):
            raise unusable(f"a forward failed with setting {j}")
        outs = []
        for i, forward in enumerate(setting.forwards):
            out = arrays.get(f"set{j}.out{i}")
            if out is None or list(out.shape) != forward.shape:
                raise unusable(f"output {i} of setting {j} is missing")
            outs.append(out)
        outputs.append(outs)
        got: list[np.ndarray] | None = None
        bwd = setting.backward
        if backward and bwd is not None and bwd.ok and len(bwd.has_grad) == first.n_tensors:
            got = []
            for k, (has, tensor) in enumerate(zip(bwd.has_grad, settings[j].tensors, strict=True)):
                grad = arrays.get(f"set{j}.grad{k}")
                if has != (grad is not None) or (grad is not None and grad.shape != tensor.shape):
                    raise unusable(f"gradient {k} of setting {j} is not what it claims")
                got.append(grad if grad is not None else np.zeros(tensor.shape))
        grads.append(got)
    return Loaded(list(settings), outputs, grads)


def close(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> bool:
    """The module check's comparison: `atol` relative to the largest expected value. Shapes
    that differ only by axes of length 1 (a `.squeeze()` that also drops the batch axis of a
    batch of one) still compare the numbers: that costs the `output_shape` aspect, not the
    layer's arithmetic as well. The grader's run (`module._close`) and a bundle's alike."""
    if got.shape != want.shape and np.squeeze(got).shape == np.squeeze(want).shape:
        got = got.reshape(want.shape)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    return bool(np.all(np.abs(got - want) <= atol * max(scale, 1e-12) + rtol * np.abs(want)))


def compare(check: ModuleCheck, facts: Facts, loaded: Loaded) -> ReverseResult:
    """The first variant, then setting, whose outputs are the reference's (the transplant's own
    order); else the closest difference, and whether the outputs are ReLU of the reference's."""
    closest: float | None = None
    relu: tuple[int, list[Piece]] | None = None
    for v, wants in enumerate(facts.outputs):
        for j, outs in enumerate(loaded.outputs):
            pairs = list(zip(outs, wants, strict=True))
            if all(close(g, w, check.atol, check.rtol) for g, w in pairs):
                return ReverseResult(v, j, loaded.settings[j].assignment, None)
            diff = max(
                float(np.max(np.abs(g - w))) if g.shape == w.shape else math.inf for g, w in pairs
            )
            closest = diff if closest is None else min(closest, diff)
            if relu is None and all(
                close(g, np.maximum(w, 0), check.atol, check.rtol) for g, w in pairs
            ):
                relu = (v, loaded.settings[j].assignment)
    return ReverseResult(None, None, None, closest, relu)


def reverse_equivalence(
    check: ModuleCheck,
    obs: ModuleObservation,
    arrays: dict[str, np.ndarray],
    ctx: GradingContext,
    first: ProbeRequest,
    target: Any,
) -> tuple[ReverseResult, Loaded | None, Facts]:
    """The reverse check of one probed module (its first run already read and verified)."""
    facts = facts_of(ctx, first.id, check)
    if any(p.dtype not in ("float32", "float64") for p in obs.params):
        raise NotPrecomputed("parameters of lower precision than the bundle's weights")
    pieces = student_pieces(obs.params, arrays)
    settings = settings_for(obs, arrays, facts)
    if not settings:
        if assignments_for(facts.layout, pieces) or filled_assignments_for(facts.layout, pieces):
            raise NotPrecomputed("the reference's weights do not lay onto yours one to one")
        return ReverseResult(None, None, None, None, layouts=len(facts.layout)), None, facts
    if len(settings) > MAX_SETTINGS:  # more mappings than the transplant ever makes
        raise NotPrecomputed("too many ways to lay the reference's weights onto yours")
    request, inputs = loaded_request(first, check, settings, facts)
    outcome, _ = ctx.observer.run_request(ctx.submission, target, request, inputs)
    if outcome is None:
        raise NotPrecomputed("the run on the bundle's weights did not happen")
    backward = request.spec["cotangent"] != ""
    loaded = read_loaded(
        outcome.observation, outcome.arrays, obs, settings, len(facts.inputs), backward
    )
    found = compare(check, facts, loaded)
    if found.variant is None and filled_assignments_for(facts.layout, pieces):
        # at grading time, the reference with some parameters zero (or merged) may still be
        # this layer: that needs the reference's code
        raise NotPrecomputed("your layer may be the reference's with parameters merged")
    return found, loaded, facts


def reverse_grads_differ(
    check: ModuleCheck, facts: Facts, loaded: Loaded, found: ReverseResult, obs: ModuleObservation
) -> bool:
    """The second run's gradients (with the setting that matched) against the reference's,
    summed over every place a student tensor (or a chunk of it) fills, as `_grads_differ`."""
    assert found.variant is not None and found.setting is not None and found.assignment
    got = loaded.grads[found.setting]
    if got is None or not facts.grads:
        raise NotPrecomputed("no gradients from the run on the bundle's weights")
    index_of: dict[str, int] = {}
    for p in obs.params:
        index_of.setdefault(p.name, p.tensor)
    wants: dict[int, np.ndarray] = {}
    ref_grads = facts.grads[found.variant]
    for piece, grad in zip(found.assignment, ref_grads, strict=True):
        if piece.source is None:
            raise NotPrecomputed("a zero-filled parameter")
        index = index_of[piece.source]
        whole = got[index]
        want = wants.setdefault(index, np.zeros(whole.shape))
        region = region_of(piece, whole.ndim)
        want[region] += grad.reshape(want[region].shape)
    for index, want in wants.items():
        if not want.size:
            continue
        scale = max(float(np.max(np.abs(want))), 1e-12)
        if np.max(np.abs(got[index] - want)) > 1e-3 * scale:
            return True
    return False
