"""The reverse transplant of a students' bundle (`grader.judges.reverse`): the reference's weights
loaded into the student's layer, its outputs compared with the reference's stored ones.

The toy class (tests/data/reverse-class, README.md there) is graded by the staff and with the
bundle, its sandbox runs replayed from tests/data/recorded/; the rest reads the second run's
reply as a forged one would be written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.bundle import BUNDLE_DIR, build_bundle, precompute
from grader.courses import load_catalog
from grader.judges.reverse import (
    Facts,
    Setting,
    compare,
    loaded_request,
    read_loaded,
    reverse_facts,
    settings_for,
)
from grader.judges.transplant import (
    assignments_for,
    filled_assignments_for,
    student_pieces,
    transplant_weights,
)
from grader.pipeline import GradeOptions, grade
from grader.reference import GRADING_TIME, NotPrecomputed, load_reference
from grader.results import Status
from grader.rubric import ModuleCheck, load_rubric
from grader.sandbox.jobs import ProbeRequest
from grader.sandbox.observations import LoadedModuleObservation, ModuleObservation

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "tests" / "data" / "reverse-course"
CLASS = ROOT / "tests" / "data" / "reverse-class"


_DIFFERENCE = re.compile(r"max abs diff [^)]*")  # measured on other weights in a self-check


def _toy() -> tuple[ModuleCheck, Any]:
    homework = load_catalog([COURSE]).find("toy/toy")
    rubric = load_rubric(homework.rubric_path)
    reference = load_reference(rubric, homework.reference_root)
    check = rubric.problems[0].checks[0]
    assert isinstance(check, ModuleCheck) and reference is not None
    return check, reference


def _facts(check: ModuleCheck, reference: Any) -> Facts:
    raw = reverse_facts(check, reference, seed=0)
    assert raw is not None
    return Facts(
        layout=[(n, tuple(s)) for n, s in raw["layout"]],
        variants=raw["variants"],
        weights=raw["weights"],
        inputs=raw["inputs"],
        cotangent=raw["cotangent"],
        outputs=raw["outputs"],
        grads=raw["grads"],
    )


# --- the toy class, graded both ways -------------------------------------------------------------


def test_the_bundle_decides_what_the_staff_decides_or_leaves_it_for_grading(
    tmp_path: Path, recorded_runner: Any
) -> None:
    homework = load_catalog([COURSE]).find("toy/toy")
    bundle = build_bundle(homework, tmp_path)
    students = sorted(p for p in CLASS.iterdir() if p.is_dir())
    verdicts: dict[str, dict[str, tuple[Status, float, str]]] = {}
    every: dict[str, dict[tuple[str, str], Any]] = {}
    for who, root in (("ta", COURSE), ("self", bundle.folder / "grader" / BUNDLE_DIR)):
        report = grade(students, GradeOptions(rubrics_dir=root, runner=recorded_runner()))
        for sub in report.submissions:
            name = sub.student.rsplit("/", 1)[-1]
            for check in (c for p in sub.problems for c in p.checks):
                every.setdefault(who, {})[name, check.id] = check
            check = every[who][name, "pair.equivalence"]
            verdicts.setdefault(name, {})[who] = (check.status, check.score, check.message)
    decided = 0
    for key, mine in every["self"].items():  # every other aspect: the TA's verdict, or waits
        theirs = every["ta"][key]
        if mine.message == GRADING_TIME:
            assert mine.status is Status.SKIPPED
            continue
        said = [_DIFFERENCE.sub("?", c.message) for c in (mine, theirs)]
        assert (mine.status, mine.score, said[0], mine.hint) == (
            theirs.status,
            theirs.score,
            said[1],
            theirs.hint,
        ), key
        decided += 1
    assert decided >= 6 * 5  # instantiate, output_shape, and most of the rest for everyone
    passed, failed = (Status.PASSED, 2.0), (Status.FAILED, 0.0)
    expected = {
        "right": (passed, passed),
        "other-variant": (passed, passed),
        "ignores": (failed, failed),  # it ignores the weights it is given: never a pass
        "no-relu": (failed, failed),
        "wrong-grad": (passed, passed),
        "missing-b": (failed, (Status.SKIPPED, 0.0)),  # only the staff's zero-filled try knows
    }
    assert {s: (v["ta"][:2], v["self"][:2]) for s, v in verdicts.items()} == expected
    assert verdicts["missing-b"]["self"][2] == GRADING_TIME
    backward = {
        s: (every["ta"][s, "pair.backward"], every["self"][s, "pair.backward"]) for s in verdicts
    }
    assert {
        s: (ta.status, mine.status) for s, (ta, mine) in backward.items() if s != "missing-b"
    } == {
        "right": (Status.PASSED, Status.PASSED),
        "other-variant": (Status.PASSED, Status.PASSED),
        "wrong-grad": (Status.FAILED, Status.FAILED),  # the stored gradients tell it
        "ignores": (Status.ERROR, Status.ERROR),  # its buffers get no gradient
        "no-relu": (Status.PENDING, Status.PENDING),
    }
    assert "(ReLU on the second map)" in verdicts["other-variant"]["self"][2]
    for student in ("right", "other-variant"):
        assert verdicts[student]["self"][2] == verdicts[student]["ta"][2]


# --- the mapping, read backwards ---------------------------------------------------------------


def _observation(params: list[tuple[str, tuple[int, ...]]]) -> ModuleObservation:
    return ModuleObservation(
        kind="module",
        id="p1.pair",
        stage="done",
        params=[
            {"name": n, "shape": list(s), "tensor": k, "dtype": "float32"}
            for k, (n, s) in enumerate(params)
        ],
        n_tensors=len(params),
    )


def test_each_setting_transplanted_back_gives_the_references_weights() -> None:
    """A student's tensors filled from the reference's weights by a mapping are what the
    transplant, mapping the same way, copies back into the reference: the same layer on both
    sides. Stacked tensors are cut into chunks (the transplant's own layouts)."""
    check, reference = _toy()
    facts = _facts(check, reference)
    obs = _observation([("w", (2, 5, 6)), ("bias", (5,))])  # both maps' weights in one stack
    arrays = {"param0": np.zeros((2, 5, 6)), "param1": np.zeros(5)}
    settings = settings_for(obs, arrays, facts)
    assert settings
    for setting in settings:
        filled = {f"param{k}": t for k, t in enumerate(setting.tensors)}
        pieces = student_pieces(obs.params, filled)
        names = [p.name for p in setting.assignment]
        again = next(
            a for a in assignments_for(facts.layout, pieces) if [p.name for p in a] == names
        )
        module = reference.attribute("Pair")()
        transplant_weights(module, again)
        for param, weight in zip(module.parameters(), facts.weights, strict=True):
            assert np.array_equal(param.detach().numpy(), weight.astype(np.float32))


def test_a_layer_missing_a_parameter_has_no_setting_but_may_be_the_reference_zero_filled() -> None:
    check, reference = _toy()
    facts = _facts(check, reference)
    obs = _observation([("a.weight", (5, 6)), ("a.bias", (5,))])
    arrays = {"param0": np.zeros((5, 6)), "param1": np.zeros(5)}
    assert settings_for(obs, arrays, facts) == []
    pieces = student_pieces(obs.params, arrays)
    assert filled_assignments_for(facts.layout, pieces)  # so: checked at grading time


# --- the second run's reply, as the student's process may write it -----------------------------


def _reply(facts: Facts, chosen: list[Setting], **changes: Any) -> LoadedModuleObservation:
    data: dict[str, Any] = {
        "kind": "module_loaded",
        "id": "p1.pair",
        "stage": "done",
        "params": [
            {"name": n, "shape": list(s), "tensor": k}
            for k, (n, s) in enumerate(
                [("b.weight", (5, 6)), ("a.weight", (5, 6)), ("a.bias", (5,))]
            )
        ],
        "n_tensors": 3,
        "settings": [
            {
                "loaded": True,
                "forwards": [{"ok": True, "shape": list(y.shape)} for y in facts.outputs[0]],
            }
            for _ in chosen
        ],
    }
    data.update(changes)
    return LoadedModuleObservation.model_validate(data)


def _right() -> tuple[Facts, ModuleObservation, list[Setting], ModuleCheck]:
    check, reference = _toy()
    facts = _facts(check, reference)
    obs = _observation([("b.weight", (5, 6)), ("a.weight", (5, 6)), ("a.bias", (5,))])
    arrays = {"param0": np.zeros((5, 6)), "param1": np.zeros((5, 6)), "param2": np.zeros(5)}
    settings = settings_for(obs, arrays, facts)
    assert len(settings) == 2  # by owner, and by shape order (the 5x6 weights swapped)
    return facts, obs, settings, check


def _outputs(facts: Facts, settings: list[Setting], variant: int) -> dict[str, np.ndarray]:
    return {
        f"set{j}.out{i}": np.array(y)
        for j in range(len(settings))
        for i, y in enumerate(facts.outputs[variant])
    }


def test_a_faithful_reply_is_read_and_compared_in_the_transplants_order() -> None:
    facts, obs, settings, check = _right()
    arrays = _outputs(facts, settings, variant=1)
    loaded = read_loaded(_reply(facts, settings), arrays, obs, settings, 2, backward=False)
    found = compare(check, facts, loaded)
    assert (found.variant, found.setting) == (1, 0)
    other = {k: v + 1.0 for k, v in arrays.items()}  # another layer's outputs
    loaded = read_loaded(_reply(facts, settings), other, obs, settings, 2, backward=False)
    miss = compare(check, facts, loaded)
    assert miss.variant is None and miss.closest is not None and miss.closest >= 1.0


@pytest.mark.parametrize(
    "forgery",
    [
        "other parameters",
        "a setting not loaded",
        "weights changed",
        "an output missing",
        "an output of another shape",
        "a setting left out",
        "stopped early",
    ],
)
def test_a_reply_that_does_not_hold_together_is_left_for_grading(forgery: str) -> None:
    facts, obs, settings, _ = _right()
    arrays = _outputs(facts, settings, variant=0)
    reply = _reply(facts, settings)
    settings_raw = [s.model_dump() for s in reply.settings]
    if forgery == "other parameters":
        reply = _reply(facts, settings, params=[{"name": "x", "shape": [5, 6], "tensor": 0}])
    elif forgery == "a setting not loaded":
        settings_raw[1]["loaded"] = False
        reply = _reply(facts, settings, settings=settings_raw)
    elif forgery == "weights changed":
        settings_raw[0]["weights_changed"] = {"stage": "forward", "names": ["a.weight"]}
        reply = _reply(facts, settings, settings=settings_raw)
    elif forgery == "an output missing":
        del arrays["set1.out0"]
    elif forgery == "an output of another shape":
        arrays["set0.out1"] = np.zeros((3, 5))
    elif forgery == "a setting left out":
        reply = _reply(facts, settings, settings=settings_raw[:1])
    else:
        reply = _reply(facts, settings, stage="setting 1")
    with pytest.raises(NotPrecomputed):
        read_loaded(reply, arrays, obs, settings, 2, backward=False)


@pytest.mark.parametrize("visibility", ["public", "public_without_answer", "hidden"])
def test_only_a_public_module_check_ships_its_reverse_facts(visibility: str) -> None:
    """The weights' shapes tell the reference's layout (and its parameter count): a module check
    whose layout students may not learn ships none of it, and waits for grading."""
    homework = load_catalog([COURSE]).find("toy/toy")
    rubric = load_rubric(homework.rubric_path)
    reference = load_reference(rubric, homework.reference_root)
    assert reference is not None
    problem = rubric.problems[0]
    check = problem.checks[0].model_copy(update={"visibility": visibility})
    rubric = rubric.model_copy(
        update={"problems": [problem.model_copy(update={"checks": [check]})]}
    )
    _, memo = precompute(rubric, reference, seed=0, protected=set())
    shipped = [k for k in memo if k.startswith("reverse:")]
    assert shipped == (["reverse:p1.pair"] if visibility == "public" else [])


def test_the_second_run_is_never_sent_what_it_is_compared_with() -> None:
    """The plan and inputs of the run on the reference's weights hold the weights and the
    inputs, never the reference's outputs or gradients: a layer must compute them."""
    facts, _, settings, check = _right()
    first = ProbeRequest(
        id="p1.pair",
        kind="module",
        timeout_s=60,
        spec={
            "file": "pair.py",
            "class_name": "Pair",
            "seed": 7,
            "inputs": ["a"],
            "cotangent": "g",
        },
    )
    request, inputs = loaded_request(first, check, settings, facts)
    assert request.kind == "module_loaded" and request.spec["seed"] == 7
    assert len(request.spec["settings"]) == len(settings) == 2
    secret = [*facts.outputs[0], *facts.outputs[1], *facts.grads[0], *facts.grads[1]]
    for name, array in inputs.items():
        for value in secret:
            assert array.shape != value.shape or not np.allclose(array, value), name
