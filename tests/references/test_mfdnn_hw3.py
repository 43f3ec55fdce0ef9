"""Tests that verify the mfdnn HW3 additions to the HW1-era reference (tests/test_reference_hw1.py
verifies the rest), and the problem 1 checks on observations built as the sandbox sends them.

The count is checked against the hand calculation and a module built here; the fit measure
against its definition (a constant offset c costs c^2) and against a Monte Carlo estimate of the
test MSE under x ~ N(0, 1).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from torch import nn

from grader.judges.custom import ScriptRun
from grader.judges.planning import ScriptTarget
from grader.reference import Reference
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observations import ExceptionInfo, ScriptObservation
from reference.mfdnn import hw3
from reference.mfdnn.hw3 import TEST_LOSS_BAND, expected_test_mse, f_true, params_mlp

ROOT = Path(__file__).resolve().parents[2]
GRID = np.linspace(-2, 2, 1024)


def test_parameter_count() -> None:
    assert params_mlp() == 64 + 64 + 64 * 64 + 64 + 64 + 1 == 4353
    layers = [nn.Linear(1, 64), nn.Linear(64, 64), nn.Linear(64, 1)]
    assert params_mlp() == sum(p.numel() for layer in layers for p in layer.parameters())


def test_fit_measure_of_an_offset_is_its_square() -> None:
    for c in (0.0, 0.1, 0.7):
        assert expected_test_mse(GRID, f_true(GRID) + c) == pytest.approx(c**2, rel=1e-9)


def test_fit_measure_is_the_test_mse_under_a_truncated_normal() -> None:
    x = np.random.default_rng(0).normal(size=2_000_000)
    x = x[np.abs(x) <= 2]
    predict = np.sin  # any function
    monte_carlo = float(np.mean((predict(x) - f_true(x)) ** 2))
    assert expected_test_mse(GRID, predict(GRID)) == pytest.approx(monte_carlo, rel=5e-3)


def test_learning_nothing_is_outside_the_band() -> None:
    best_constant = expected_test_mse(GRID, np.zeros_like(GRID))
    assert best_constant > TEST_LOSS_BAND.high


# --- problem 1's checks ----------------------------------------------------------------------


def _checks() -> Any:
    path = ROOT / "rubrics" / "mfdnn" / "hw3_checks.py"
    spec = importlib.util.spec_from_file_location("mfdnn_hw3_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CHECKS = _checks()
REFERENCE = Reference(hw3)


def _observation(
    lines: list[tuple[np.ndarray, np.ndarray]],
    error: str | None = None,
    network: np.ndarray | None = None,
) -> Any:
    """A run's observation: the plotted lines, and the outputs of the network it left (`model`)
    on the grader's grid when `network` is given."""
    arrays, series = {}, []
    for k, (x, y) in enumerate(lines):
        arrays[f"fig.{k}"] = np.stack([x, y], axis=1)
        series.append({"key": f"fig.{k}", "kind": "line", "length": len(x)})
    extra: dict[str, Any] = {}
    if network is not None:
        arrays["eval.fit"] = network.reshape(-1, 1)
        extra = {
            "observed": [{"role": "model", "found": "model", "via": "name", "type": "MLP"}],
            "evaluate": [{"name": "fit", "ok": True, "shape": [len(network), 1]}],
        }
    obs = ScriptObservation(
        kind="script",
        id="p1.run",
        stage="done",
        figures=[{"number": 1, "axes": [{"series": series}]}] if series else [],
        error=None if error is None else ExceptionInfo(type=error, message="boom"),
        **extra,
    )
    outcome = ProbeOutcome(observation=obs, arrays=arrays)
    return lambda problem, check: outcome


def _script_run(observation: Any) -> Any:
    outcome = observation("p1", "run")
    target = ScriptTarget("threelayerSGD.py", None, {"p1.run.eval.fit": GRID.reshape(-1, 1)})
    return lambda problem, check: ScriptRun.of(target, outcome, "p1.run", None)


def _verdict(name: str, observation: Any) -> str:
    fixtures = (SimpleNamespace(unassembled={}), REFERENCE, observation)
    if name == "check_fit":
        fixtures = (*fixtures, _script_run(observation))
    try:
        getattr(CHECKS, name)(*fixtures)
    except AssertionError as exc:
        return f"failed: {exc}"
    except pytest.skip.Exception as exc:
        return str(exc.msg)
    return "passed"


def _data() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(1).normal(size=512)
    return x, f_true(x)


def test_a_good_fit_beside_the_data_and_f_star_passes() -> None:
    seen = _observation([_data(), (GRID, f_true(GRID)), (GRID, f_true(GRID) + 0.2)])
    assert _verdict("check_fit", seen) == "passed"
    assert _verdict("check_figure", seen) == "passed"


def test_a_flat_fit_fails_and_a_loss_curve_is_not_a_fit() -> None:
    epochs = np.arange(1000.0)
    flat = _observation([(epochs, np.exp(-epochs)), _data(), (GRID, np.zeros_like(GRID))])
    assert _verdict("check_fit", flat).startswith("failed: the plotted trained function is far")
    only_loss = _observation([(epochs, np.exp(-epochs))])
    assert _verdict("check_fit", only_loss).startswith("failed: no plot of the trained")
    assert _verdict("check_figure", only_loss).startswith("failed")


def test_the_evaluated_network_decides_where_there_is_one() -> None:
    good, flat = f_true(GRID) + 0.2, np.zeros_like(GRID)
    fits = _observation([_data(), (GRID, good)], network=good)
    assert _verdict("check_fit", fits) == "passed"
    # no plot at all: the network still shows the fit
    assert _verdict("check_fit", _observation([], network=good)) == "passed"
    untrained = _observation([_data(), (GRID, flat)], network=flat)
    assert _verdict("check_fit", untrained).startswith("failed: the trained network (`model`)")
    diverged = _observation([_data()], network=np.full_like(GRID, np.nan))
    assert "not finite" in _verdict("check_fit", diverged)


def test_a_plot_that_is_not_the_network_left_behind_goes_to_a_ta() -> None:
    # a forged curve (f* drawn as the fit), or a notebook that retrained `model` for problem 2
    forged = _observation([_data(), (GRID, f_true(GRID) + 0.01)], network=np.zeros_like(GRID))
    verdict = _verdict("check_fit", forged)
    assert verdict.startswith("pending: the plotted function fits f*"), verdict
    assert "network left in `model` does not" in verdict
    # f* itself, returned by a forward that ignores its weights, or drawn as the fit
    exact = _observation([_data(), (GRID, f_true(GRID))], network=f_true(GRID))
    assert _verdict("check_fit", exact).startswith(
        "pending: the trained network (`model`) is closer"
    )
    drawn = _observation([_data(), (GRID, f_true(GRID) + 1e-3)])
    assert _verdict("check_fit", drawn).startswith("pending: the plotted function is closer")


def test_a_stopped_script_is_for_a_ta() -> None:
    crashed = _observation([], error="ModuleNotFoundError")
    assert _verdict("check_fit", crashed).startswith("pending")
    assert _verdict("check_figure", crashed).startswith("pending")


def test_two_scripts_either_of_which_may_be_the_starter_are_for_a_ta(tmp_path: Path) -> None:
    """Problems 1 and 2 in `p1.py` and `p2.py`: the run check cannot tell which is
    threelayerSGD.py and leaves it to a TA, so the fit and the figure wait for the TA too
    (they used to fail: 3 points lost by a correct run)."""
    from grader.ingest.submission import ingest

    for name in ("p1.py", "p2.py"):
        (tmp_path / name).write_text("model = None\nlosses = []\n")
    nothing_ran = lambda problem, check: None  # noqa: E731
    sub = ingest(tmp_path)
    for name in ("check_fit", "check_figure"):
        fixtures = (sub, REFERENCE, nothing_ran)
        if name == "check_fit":
            fixtures = (*fixtures, lambda problem, check: None)
        with pytest.raises(pytest.skip.Exception, match=r"p1\.py, p2\.py could each be it"):
            getattr(CHECKS, name)(*fixtures)
    # one Python file that is no training script at all: nothing to judge, as before
    (tmp_path / "p2.py").unlink()
    (tmp_path / "p1.py").write_text("print('hello')\n")
    with pytest.raises(AssertionError, match=r"no threelayerSGD\.py"):
        CHECKS.check_figure(ingest(tmp_path), REFERENCE, nothing_ran)


def test_the_stand_in_names_are_the_run_checks_globals() -> None:
    from grader.rubric import ScriptCheck, load_rubric

    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw3.yaml")
    run = next(c for c in rubric.problem("p1").checks if c.id == "run")
    assert isinstance(run, ScriptCheck)
    assert list(CHECKS.SCRIPT_GLOBALS) == run.observed_globals


def _notebook(cells: list[tuple[str, str]]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": kind,
                    "metadata": {},
                    "source": text.splitlines(True),
                    **({"outputs": [], "execution_count": None} if kind == "code" else {}),
                }
                for kind, text in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def test_a_notebook_building_the_model_in_a_cell_of_its_own_is_assembled_whole(
    tmp_path: Path,
) -> None:
    """The model built and initialised in a cell that reads none of the starter's settings,
    trained in the next: the script assembled for the run keeps the settings cell (with
    `globals: [model]` alone it did not, and the run stopped on NameError: alpha)."""
    from grader.ingest.submission import ingest
    from grader.judges.sources import ensure_script
    from grader.rubric import ScriptCheck, load_rubric

    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw3.yaml")
    run = next(c for c in rubric.problem("p1").checks if c.id == "run")
    assert isinstance(run, ScriptCheck)
    settings = (
        "alpha = 0.1\nK = 1000\nB = 128\nN = 512\n\n"
        "def f_true(x):\n    return (x - 2) * np.cos(x * 4)\n\n"
        "X_train = torch.normal(0.0, 1.0, (N,))\ny_train = f_true(X_train)\n"
        "train_dataloader = DataLoader(TensorDataset(X_train.unsqueeze(1), "
        "y_train.unsqueeze(1)), batch_size=B, shuffle=True)\n"
    )
    (tmp_path / "hw3.ipynb").write_text(
        _notebook(
            [
                ("code", "import numpy as np\nimport torch\nfrom torch import nn, optim\n"),
                ("code", "from torch.utils.data import TensorDataset, DataLoader\n" + settings),
                ("code", "model = nn.Sequential(nn.Linear(1, 64), nn.Sigmoid(), nn.Linear(64, 1))"),
                (
                    "code",
                    "optimizer = optim.SGD(model.parameters(), lr=alpha)\nfor epoch in range(K):\n"
                    "    for x, y in train_dataloader:\n        optimizer.zero_grad()\n"
                    "        nn.MSELoss()(model(x), y).backward()\n        optimizer.step()\n",
                ),
                ("code", "xx = torch.linspace(-2, 2, 1024).unsqueeze(1)\nprint(model(xx))"),
            ]
        )
    )
    script = ensure_script(ingest(tmp_path), run.file, run.globals)
    assert script is not None
    assert "alpha = 0.1" in script.source
    assert "range(K)" in script.source
    assert "print(model(xx))" in script.source
