"""Partial credit and TA hand-off from instructors' custom checks (grader/judges/custom.py)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.judges.custom import Partial, ScriptRun, _partial_result
from grader.judges.planning import ScriptTarget
from grader.results import Status
from grader.rubric import CustomCheck
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observations import OBSERVATION

CHECK = CustomCheck(kind="custom", id="fit", points=2, function="check_fit")


@pytest.mark.parametrize(
    ("points", "status", "score"),
    [(0, Status.FAILED, 0.0), (0.5, Status.FAILED, 0.5), (2, Status.PASSED, 2.0)],
)
def test_partial_credit_is_what_the_check_gave(points: float, status: Status, score: float) -> None:
    result = _partial_result(CHECK, Partial(points, "why"))
    assert (result.status, result.score, result.message) == (status, score, "why")


@pytest.mark.parametrize("points", [-1, 2.5])
def test_partial_credit_outside_the_points_is_the_checks_files_error(points: float) -> None:
    result = _partial_result(CHECK, Partial(points, "why"))
    assert result.status is Status.ERROR and result.score == 0
    assert "check_fit awarded" in result.message


def test_a_script_run_hands_out_only_arrays_that_match_their_claims() -> None:
    """Student code shared the probe's process: an array whose shape disagrees with what the
    observation claims is not handed to a custom check."""
    obs = OBSERVATION.validate_python(
        {
            "kind": "script",
            "id": "p7.run",
            "stage": "done",
            "observed": [{"role": "theta", "found": "theta", "via": "name", "shape": [6]}],
            "evaluate": [{"name": "fit", "ok": True, "shape": [4, 1]}],
            "calls": [{"name": "grad", "ok": True, "function": "g", "convention": 0, "shape": [6]}],
        }
    )
    target = ScriptTarget("sgd.py", None, {"p7.run.eval.fit": np.zeros((4, 1))})
    good = {"observed.theta": np.ones(6), "eval.fit": np.ones((4, 1)), "call.grad": np.ones((3, 6))}
    run = ScriptRun.of(target, ProbeOutcome(obs, good), "p7.run", None)
    assert run.finished and run.value("theta") is not None and run.call("grad") is not None
    assert run.outputs("fit") is not None and run.input("fit").shape == (4, 1)
    bad = {"observed.theta": np.ones(5), "eval.fit": np.ones(4), "call.grad": np.ones((3, 5))}
    run = ScriptRun.of(target, ProbeOutcome(obs, bad), "p7.run", None)
    assert run.value("theta") is None and run.outputs("fit") is None and run.call("grad") is None
    assert run.value("nothing") is None and run.found("nothing") is None
    absent = ScriptRun.of(ScriptTarget(None, None), None, "p7.run", "no sgd.py was found")
    assert not absent.ran and absent.problem == "no sgd.py was found" and absent.series() == []
