"""What a script check observes after the run (rubric `observe`, `evaluate`, `calls`): planned by
grader/judges/planning.py, run by the real probe in the real sandbox (slow), read back strictly."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from grader.ingest.submission import ingest
from grader.judges.planning import plan_script
from grader.rubric import Problem, ScriptCheck
from grader.sandbox.jobs import Limits, SandboxJob
from grader.sandbox.observations import ScriptObservation
from grader.sandbox.runner import SandboxRunner

#: HW2 P7 and HW3 P1 as students write them: the network is not called `model`, the parameters
#: live in `params` rather than `theta`, a copy of the initial parameters has the same shape.
SCRIPT = textwrap.dedent(
    """\
    import numpy as np
    import torch
    from torch import nn

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def f_th(theta, x):
        a, b, u = np.split(theta, 3)
        return sigmoid(np.outer(x, a) + b) @ u

    def grad_f(theta, x):          # x a float only: x.shape fails on a float, not on an array
        a, b, u = np.split(theta, 3)
        s = sigmoid(a * float(x) + b)
        return np.concatenate([u * s * (1 - s) * x, u * s * (1 - s), s])

    np.random.seed(0)
    params = np.random.normal(0, 4, 30)
    params0 = params.copy()
    criterion = nn.MSELoss()
    net = nn.Sequential(nn.Linear(1, 8), nn.Sigmoid(), nn.Linear(8, 1))
    first_layer = net[0]
    print("final loss", 0.5)
    """
)


def script_check(**fields: Any) -> ScriptCheck:
    return ScriptCheck.model_validate(
        {
            "kind": "script",
            "id": "run",
            "points": 1,
            "file": "train.py",
            "globals": ["params"],
            "analysis": "observe",
            "reference": "unused",
            "aspects": {"runs": 1},
            **fields,
        }
    )


FIELDS = {
    "observe": {
        "theta": {"names": ["theta", "params"], "type": "array", "shape": [30]},
        "by_shape": {"type": "array", "shape": [30]},
        "model": {"names": ["model"], "type": "module"},
        "missing": {"names": ["nowhere"]},
    },
    "evaluate": {
        "fit": {"model": "model", "input": {"draw": "grid", "shape": [16, 1], "low": -2, "high": 2}}
    },
    "calls": {
        "grad": {
            "function": ["diff_f_th", "grad_f"],
            "inputs": {
                "theta": {"shape": [30], "draw": "normal", "dtype": "float64"},
                "x": {"draw": "uniform", "low": -2, "high": 2, "dtype": "float64"},
            },
            "conventions": [["x", "theta"], ["theta", "x:float"]],
            "samples": 3,
        },
        "absent": {
            "function": ["nope"],
            "inputs": {"x": {}},
            "conventions": [["x"]],
        },
    },
}


def test_the_rubric_validates_what_it_asks_for() -> None:
    check = script_check(**FIELDS)
    assert check.observe["model"].type == "module" and check.calls["grad"].samples == 3
    bad: list[dict[str, Any]] = [
        {"observe": {"m": {}}},  # neither a name nor a type
        {"observe": {"m": {"type": "module", "shape": [3]}}},
        {"observe": {"m": {"names": ["net"]}}, "evaluate": {"f": {"model": "m", "input": {}}}},
        {"calls": {"g": {"function": ["f"], "inputs": {"x": {}}, "conventions": [["y"]]}}},
        {"calls": {"g": {"function": ["f"], "inputs": {"x": {}}, "conventions": [["x:int"]]}}},
        {
            "calls": {
                "g": {
                    "function": ["f"],
                    "inputs": {"x": {"low": 2, "high": 1}},
                    "conventions": [["x"]],
                }
            }
        },
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            script_check(**fields)


def test_the_planner_draws_the_inputs_reproducibly(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SCRIPT)
    check = script_check(**FIELDS)
    problem = Problem(id="p7", points=1, checks=[check])
    first = plan_script(ingest(tmp_path, "s"), problem, check, 0)
    again = plan_script(ingest(tmp_path, "s"), problem, check, 0)
    other = plan_script(ingest(tmp_path, "s"), problem, check, 1)
    grid = first.inputs["p7.run.eval.fit"]
    assert grid.shape == (16, 1) and grid.dtype == np.float32
    assert np.allclose(grid[:, 0], np.linspace(-2, 2, 16))
    theta = first.inputs["p7.run.call.grad.theta"]
    assert theta.shape == (3, 30) and theta.dtype == np.float64
    assert np.array_equal(theta, again.inputs["p7.run.call.grad.theta"])
    assert not np.array_equal(theta, other.inputs["p7.run.call.grad.theta"])
    assert first.request is not None
    assert first.request.spec["calls"]["grad"]["conventions"][1] == [
        {"input": "p7.run.call.grad.theta", "as": "array"},
        {"input": "p7.run.call.grad.x", "as": "float"},
    ]


@pytest.mark.sandbox
def test_the_probe_observes_evaluates_and_calls(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SCRIPT)
    check = script_check(**FIELDS)
    problem = Problem(id="p7", points=1, checks=[check])
    target = plan_script(ingest(tmp_path, "s"), problem, check, 0)
    assert target.request is not None
    job = SandboxJob(tmp_path, (target.request,), target.inputs, Limits(wall_s=60))
    outcome = SandboxRunner().run(job).outcomes["p7.run"]
    obs = outcome.observation
    assert isinstance(obs, ScriptObservation) and obs.error is None, outcome
    observed = {o.role: o for o in obs.observed}
    assert observed["theta"].found == "params" and observed["theta"].via == "name"
    assert observed["by_shape"].found is None  # params and params0: no name decides
    assert sorted(observed["by_shape"].candidates) == ["params", "params0"]
    model = observed["model"]  # not `criterion` (no parameters), not `first_layer` (a part)
    assert (model.found, model.via, model.n_params) == ("net", "type", 8 + 8 + 8 + 1)
    assert observed["missing"].found is None
    np.testing.assert_array_equal(
        outcome.arrays["observed.theta"], np.random.RandomState(0).normal(0, 4, 30)
    )
    (fit,) = obs.evaluate
    assert fit.ok and fit.shape == [16, 1] and outcome.arrays["eval.fit"].shape == (16, 1)
    grad, absent = obs.calls
    assert (grad.ok, grad.function, grad.convention) == (True, "grad_f", 1)
    results = outcome.arrays["call.grad"]
    thetas, xs = target.inputs["p7.run.call.grad.theta"], target.inputs["p7.run.call.grad.x"]
    for i in range(3):
        a, b, u = np.split(thetas[i], 3)
        s = 1 / (1 + np.exp(-(a * xs[i] + b)))
        expected = np.concatenate([u * s * (1 - s) * xs[i], u * s * (1 - s), s])
        np.testing.assert_allclose(results[i], expected)
    assert not absent.ok and absent.function is None


def test_finding_arrays_by_type_never_iterates_other_objects() -> None:
    """A data set is a sequence too: converting every global to see whether it holds numbers
    would load all of MNIST inside the student's time limit."""
    from grader.sandbox.inside.probe import _candidates

    class DataSet:
        touched = 0

        def __len__(self) -> int:
            return 60_000

        def __getitem__(self, i: int) -> float:
            DataSet.touched += 1
            return 0.0

    namespace = {"data": DataSet(), "theta": np.zeros(3), "x": [1.0, 2.0, 3.0], "f": len}
    found = _candidates({"type": "array", "shape": [3]}, namespace)
    assert [name for name, _ in found] == ["theta", "x"] and DataSet.touched == 0


def test_a_value_that_fights_being_read_is_not_found_and_the_rest_still_is() -> None:
    from grader.sandbox.inside.probe import _probe_after_run

    class Hostile:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("no")

    namespace = {"hostile": Hostile(), "theta": [1.0, 2.0]}
    req = {
        "observe": {
            "first": {"names": ["hostile"], "type": "array", "shape": None},
            "theta": {"names": ["theta"], "type": "array", "shape": [2]},
        }
    }
    obs: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    _probe_after_run(req, namespace, {}, obs, arrays)
    first, theta = obs["observed"]
    assert first["found"] is None and first["error"]["type"] == "RuntimeError"
    assert theta["found"] == "theta" and arrays["observed.theta"].tolist() == [1.0, 2.0]


# --- a script under another name -------------------------------------------------------------
HELPER = "import numpy as np\n\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"


def _planned(folder: Path, check: ScriptCheck) -> Any:
    sub = ingest(folder, "s")
    return sub, plan_script(sub, Problem(id="p7", points=1, checks=[check]), check, 0)


def test_a_renamed_script_that_uses_the_globals_is_run_in_its_place(tmp_path: Path) -> None:
    (tmp_path / "hw2_problem7.py").write_text(SCRIPT)
    (tmp_path / "helpers.py").write_text(HELPER)  # mentions no global the check reads
    sub, target = _planned(tmp_path, script_check())
    assert target.file == "hw2_problem7.py" and target.request is not None
    assert target.request.spec["file"] == "hw2_problem7.py"
    assert any("hw2_problem7.py was run in its place" in note for note in sub.notes)


def test_the_file_by_its_name_wins_over_a_renamed_copy(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SCRIPT)
    (tmp_path / "train_old_version_params.py").write_text(SCRIPT)
    (tmp_path / "other.py").write_text(SCRIPT)
    sub, target = _planned(tmp_path, script_check())
    assert target.file == "train.py" and not any("in its place" in n for n in sub.notes)


def test_two_files_that_could_be_the_script_go_to_a_ta(tmp_path: Path) -> None:
    (tmp_path / "first_try.py").write_text(SCRIPT)
    (tmp_path / "second_try.py").write_text(SCRIPT)
    _, target = _planned(tmp_path, script_check())
    assert target.file is None and target.request is None
    assert target.candidates == ("first_try.py", "second_try.py")


def test_a_renamed_file_using_only_some_globals_goes_to_a_ta(tmp_path: Path) -> None:
    """theta renamed too, or a helper module that mentions `model`: not run, a TA looks."""
    (tmp_path / "hw_helpers.py").write_text(SCRIPT.replace("params", "w") + "print(model)\n")
    check = script_check(globals=["params", "model"])
    _, target = _planned(tmp_path, check)
    assert target.file is None and target.request is None
    assert target.candidates == ("hw_helpers.py",)


def test_files_that_use_none_of_the_globals_are_not_the_script(tmp_path: Path) -> None:
    (tmp_path / "stm.py").write_text(HELPER)
    _, target = _planned(tmp_path, script_check())
    assert target.file is None and target.candidates == ()
