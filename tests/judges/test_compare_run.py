"""The `compare_run` kind on a small reference of its own: replays by seed and variant, runs
matched to them or handed to a TA. (The mfdnn HW2 checks built on it are tested with their
reference in tests/references/test_mfdnn_hw2.py.)"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml

from grader.authoring import check_homework
from grader.courses import Homework
from grader.judges.compare_run import judge_compare_run
from grader.judges.context import GradingContext
from grader.judges.crashes import Locator
from grader.judges.script import Ran
from grader.reference import Reference
from grader.results import Status
from grader.rubric import Rubric
from grader.sandbox.observations import ExceptionInfo, GlobalInfo, ScriptObservation

CALLS: list[dict[str, Any]] = []


def _run(seed: int = 0, scale: float = 1.0, data: str = "starter") -> dict[str, np.ndarray]:
    """A 'training run': its final parameters depend on the seed and the variant."""
    CALLS.append({"seed": seed, "scale": scale})
    rng = np.random.default_rng(seed)
    X = rng.normal(size=5)
    return {"w": scale * rng.normal(size=4), "X": X}


REFERENCE_MODULE = ModuleType("tiny_reference")
REFERENCE_MODULE.run = _run  # type: ignore[attr-defined]

RUBRIC_TEXT = """
schema_version: 1
homework: hw9
title: t
problems:
  - id: p1
    points: 3
    checks:
      - {id: run, kind: script, points: 1, file: train.py, globals: [w],
         reads: {parts: [w1, w2], data: [X]}, analysis: observe, reference: run,
         aspects: {runs: 1}}
      - id: fit
        kind: compare_run
        points: 2
        run: run
        reference: run
        seeds: SEEDS
        compare: {w: {names: [w], parts: [[w1, w2]]}}
        given: {X: {names: [X]}}
        missing: MISSING
        for_ta: read the update
        variants:
          scale:
            - args: {scale: 1.0}
            - {args: {scale: 2.0}, mistake: "the step is twice too long"}
"""


def _judge(
    arrays: dict[str, np.ndarray],
    *,
    seeds: str = "[]",
    missing: str = "fail",
    error: str | None = None,
) -> tuple[Status, str]:
    text = RUBRIC_TEXT.replace("SEEDS", seeds).replace("MISSING", missing)
    rubric = Rubric.model_validate(yaml.safe_load(text))
    problem = rubric.problem("p1")
    defined = [GlobalInfo(name=k.removeprefix("global."), defined=True) for k in arrays]
    obs = ScriptObservation(
        kind="script",
        id="p1.run",
        stage="done",
        globals=defined,
        error=None if error is None else ExceptionInfo(type=error, message="boom"),
    )
    sub = SimpleNamespace(unassembled={})
    ctx = GradingContext(sub, rubric, Reference(REFERENCE_MODULE), observer=None)  # type: ignore[arg-type]
    ctx.memo["script:p1.run"] = Ran("train.py", obs, arrays, Locator({}))
    verdict = judge_compare_run(problem, problem.checks[1], None, ctx)  # type: ignore[arg-type]
    return verdict.status, verdict.message


def test_the_reference_run_passes_and_a_known_wrong_run_is_named() -> None:
    right = _run()
    assert _judge({"global.w": right["w"] * (1 + 1e-12)})[0] is Status.PASSED
    wrong = _run(scale=2.0)
    status, message = _judge({"global.w": wrong["w"], "global.X": wrong["X"]})
    assert (status, message) == (Status.FAILED, "the step is twice too long")


def test_parts_are_concatenated_in_order() -> None:
    w = _run()["w"]
    assert _judge({"global.w1": w[:2], "global.w2": w[2:]})[0] is Status.PASSED
    assert _judge({"global.w1": w[2:], "global.w2": w[:2]})[0] is Status.PENDING


def test_seeds_are_under_the_rubric_s_control() -> None:
    w3 = _run(seed=3)["w"]
    assert _judge({"global.w": w3})[0] is Status.PENDING  # the reference's default seed only
    assert _judge({"global.w": w3}, seeds="[0, 3]")[0] is Status.PASSED
    CALLS.clear()
    _judge({"global.w": w3}, seeds="[5, 6]")
    assert {c["seed"] for c in CALLS} <= {5, 6}


def test_an_unplaced_run_goes_to_a_ta_with_the_reason() -> None:
    w = _run()["w"] + 1e-3
    status, message = _judge({"global.w": w})
    assert status is Status.PENDING
    assert "neither the reference run's nor a known wrong run's" in message
    assert "read the update" in message
    status, message = _judge({"global.w": w, "global.X": np.zeros(5)})
    assert status is Status.PENDING and message.startswith("pending: X differ from the starter's")


def test_a_stopped_run_is_pending_even_when_its_values_are_off() -> None:
    status, message = _judge({"global.w": _run()["w"] + 1}, error="MemoryError")
    assert status is Status.PENDING and "stopped before its end (MemoryError" in message
    status, _ = _judge({}, error="ModuleNotFoundError")
    assert status is Status.PENDING


@pytest.mark.parametrize(
    ("missing", "expected"), [("fail", Status.FAILED), ("pending", Status.PENDING)]
)
def test_missing_or_diverged_quantities_fail_or_wait_as_the_rubric_says(
    missing: str, expected: Status
) -> None:
    status, message = _judge({}, missing=missing)
    assert status is expected
    status, message = _judge({"global.w": np.full(4, np.nan)}, missing=missing)
    assert status is expected
    if expected is Status.FAILED:
        assert "diverged" in message


def test_a_value_of_the_wrong_size_is_named() -> None:
    status, message = _judge({"global.w": np.zeros(3)})
    assert status is Status.FAILED and "is not the 4 values" in message


REFERENCE_SOURCE = """
import numpy as np


def run(seed=0, scale=1.0, lr=1.0):
    rng = np.random.default_rng(seed)
    return {"w": scale * rng.normal(size=4), "X": rng.normal(size=5)}
"""


def test_grade_check_finds_a_mistake_that_cannot_be_told_from_a_correct_run(
    tmp_path: Path,
) -> None:
    """`grade check`: a declared mistake whose replay ends where an accepted one does (here
    `lr`, which the reference ignores) would be named on correct runs; a replay that fails is
    the rubric's mistake too."""
    (tmp_path / "reference" / "hw9").mkdir(parents=True)
    (tmp_path / "reference" / "hw9" / "__init__.py").write_text(REFERENCE_SOURCE)
    text = RUBRIC_TEXT.replace("SEEDS", "[]").replace("MISSING", "fail")
    text = text.replace("title: t\n", "title: t\nreference: hw9\n")
    good = tmp_path / "good.yaml"
    good.write_text(text)
    homework = Homework("c", "good", good, tmp_path / "reference")
    assert check_homework(homework).problems == []
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace(
            '{args: {scale: 2.0}, mistake: "the step is twice too long"}',
            '{args: {lr: 2.0}, mistake: "the step is twice too long"}\n'
            "            - {args: {momentum: 0.9}, mistake: unknown argument}",
        )
    )
    problems = check_homework(Homework("c", "bad", bad, tmp_path / "reference")).problems
    assert any("{'lr': 2.0}" in p and "cannot be told apart" in p for p in problems), problems
    assert any("{'momentum': 0.9} fails" in p for p in problems), problems
