"""The `custom` check kind: an instructor's plain pytest function in `<homework>_checks.py`.

pytest collects and runs these functions itself (with the fixtures `submission`, `reference`,
`observation` and `script_run` that `grader.judges.items.GraderPlugin` provides); this module
turns the outcome of one call into the check's result:
- returning earns the check's points;
- an assertion's message is the feedback, with no points;
- `raise Partial(points, "why")` earns those points (between 0 and the check's), with feedback;
- `raise Pending("why")` (or `pytest.skip("pending: why")`) hands the check to a TA.

`ScriptRun` is what `script_run(problem, check)` gives a function: a script check's run as values
(never the student's objects: only what the sandbox sent back, validated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from grader.judges.planning import ScriptTarget
from grader.results import CheckResult, Status, points_text
from grader.rubric import CustomCheck
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observations import (
    CallInfo,
    EvaluationInfo,
    ExceptionInfo,
    FigureInfo,
    ObservedInfo,
    ScriptObservation,
    plotted_series,
)


class Partial(Exception):
    """`raise Partial(2, "the fit is right, the figure is missing")`: part of the points."""

    def __init__(self, points: float, message: str) -> None:
        super().__init__(message)
        self.points = float(points)
        self.message = message


class Pending(pytest.skip.Exception):  # type: ignore[name-defined]
    """`raise Pending("the plot needs a human eye")`: the check waits for a TA, with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"pending: {reason}")
        self.reason = reason


def custom_result(
    check: CustomCheck, report: pytest.TestReport, call: pytest.CallInfo[None]
) -> CheckResult:
    """The result of one call of a custom check's function, from pytest's report of it."""
    partial = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(partial, Partial):
        return _partial_result(check, partial)
    if report.passed:
        status, score, message = Status.PASSED, check.points, check.title or "passed"
    elif report.skipped and isinstance(partial, Pending):
        status, score, message = Status.PENDING, 0.0, f"pending: {partial.reason}"
    elif report.skipped:  # `pytest.skip("pending: ...")` hands the check to a TA
        message = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else "skipped"
        message = message.removeprefix("Skipped: ")
        pending = message.startswith("pending")
        status, score = (Status.PENDING if pending else Status.SKIPPED), 0.0
    else:
        status, score = Status.FAILED, 0.0
        message = _assertion_message(call)
    return CheckResult(
        id=check.id,
        status=status,
        score=score,
        max_score=check.points,
        message=message,
        title=check.title,
    )


def _assertion_message(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip().splitlines()
    return text[0] if text else call.excinfo.typename


def _partial_result(check: CustomCheck, partial: Partial) -> CheckResult:
    """Partial credit as the function gave it; outside [0, points] it is the checks file's
    mistake, said as such rather than turned into a score."""
    points, message = partial.points, partial.message or "partly right"
    if not 0.0 <= points <= check.points:
        return CheckResult(
            id=check.id,
            status=Status.ERROR,
            score=0.0,
            max_score=check.points,
            message=f"internal grader error, not your fault ({check.function} awarded "
            f"{points:g} of {points_text(check.points)}); please tell the course staff",
            title=check.title,
        )
    status = Status.PASSED if points == check.points else Status.FAILED
    return CheckResult(
        id=check.id,
        status=status,
        score=points,
        max_score=check.points,
        message=message,
        title=check.title,
    )


@dataclass(frozen=True)
class ScriptRun:
    """A script check's run, for an instructor's custom check (the `script_run` fixture).

    Everything is a value the sandbox sent back and the grader validated: arrays are NumPy
    arrays (float64 for observed values), never the student's objects. Names are the roles and
    entries of the script check's `observe`, `evaluate` and `calls` in the rubric.

    - `file`: the script that ran (None: none found; `problem` says why);
    - `ran` (observed at all), `finished` (ran to the end), `error`, `stdout`;
    - `value(role)`: an observed value as an array; `found(role)`: which global held it, how;
    - `global_value(name)`: a global listed in the check's `globals` or `reads`, as an array;
    - `outputs(name)` / `input(name)`: an evaluated network's outputs and the grader's input;
    - `call(name)` / `call_inputs(name)`: a function's results (one row per sample) and the
      inputs it was given (argument name -> array, one row per sample);
    - `figures` and `series()`: the figures as the probe described them, and their curves.
    """

    file: str | None
    observation: ScriptObservation | None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    probe: str = ""
    problem: str | None = None

    @classmethod
    def of(
        cls, target: ScriptTarget, outcome: ProbeOutcome | None, probe: str, problem: str | None
    ) -> ScriptRun:
        obs = outcome.observation if outcome is not None else None
        if outcome is not None and outcome.problem is not None:
            problem = outcome.problem
        if obs is not None and not isinstance(obs, ScriptObservation):
            obs, problem = None, "the observation was tampered with"
        arrays = dict(outcome.arrays) if outcome is not None and obs is not None else {}
        return cls(target.file, obs, arrays, dict(target.inputs), probe, problem)

    @property
    def ran(self) -> bool:
        return self.observation is not None

    @property
    def finished(self) -> bool:
        return self.observation is not None and self.observation.error is None

    @property
    def error(self) -> ExceptionInfo | None:
        return self.observation.error if self.observation is not None else None

    @property
    def stdout(self) -> str:
        return self.observation.printed.stdout if self.observation is not None else ""

    @property
    def figures(self) -> list[FigureInfo]:
        return list(self.observation.figures) if self.observation is not None else []

    def series(self) -> list[tuple[str, np.ndarray]]:
        """Every curve of every figure: (its label, its points as an (n, 2) array)."""
        return plotted_series(self.figures, self.arrays)

    def found(self, role: str) -> ObservedInfo | None:
        if self.observation is None:
            return None
        return next((o for o in self.observation.observed if o.role == role), None)

    def value(self, role: str) -> np.ndarray | None:
        info = self.found(role)
        array = self.arrays.get(f"observed.{role}")
        if info is None or info.found is None or array is None:
            return None
        return array if info.shape is None or list(array.shape) == info.shape else None

    def global_value(self, name: str) -> np.ndarray | None:
        info = self.observation.global_info(name) if self.observation is not None else None
        array = self.arrays.get(f"global.{name}")
        if info is None or not info.defined or array is None:
            return None
        return array if info.shape is None or list(array.shape) == info.shape else None

    def evaluation(self, name: str) -> EvaluationInfo | None:
        if self.observation is None:
            return None
        return next((e for e in self.observation.evaluate if e.name == name), None)

    def outputs(self, name: str) -> np.ndarray | None:
        info = self.evaluation(name)
        array = self.arrays.get(f"eval.{name}")
        if info is None or not info.ok or array is None or list(array.shape) != info.shape:
            return None
        return array

    def input(self, name: str) -> np.ndarray:
        """The input the grader drew for evaluation `name`."""
        return self.inputs[f"{self.probe}.eval.{name}"]

    def call_info(self, name: str) -> CallInfo | None:
        if self.observation is None:
            return None
        return next((c for c in self.observation.calls if c.name == name), None)

    def call(self, name: str) -> np.ndarray | None:
        info = self.call_info(name)
        array = self.arrays.get(f"call.{name}")
        if info is None or not info.ok or array is None or list(array.shape[1:]) != info.shape:
            return None
        return array

    def call_inputs(self, name: str) -> dict[str, np.ndarray]:
        """The inputs the grader drew for call `name`, by argument, one row per sample."""
        prefix = f"{self.probe}.call.{name}."
        return {k[len(prefix) :]: v for k, v in self.inputs.items() if k.startswith(prefix)}
