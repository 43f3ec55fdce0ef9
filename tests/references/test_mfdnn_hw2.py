"""Tests that verify (not restate) the mfdnn HW2 reference and the checks built on it.

The gradient is checked against central finite differences of the network; the fast replay of
the starter's run against a plain implementation written from the statement with the
reference's own f_th and diff_f_th; the draws the checks accept as one stream against NumPy;
the fit bound against correct runs on other index streams and against the known wrong runs. The
custom checks (rubrics/mfdnn/hw2_checks.py) and the rubric's `compare_run` checks (the step and
the sampling) are run on observations built here, as the sandbox would send them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from grader.courses import load_catalog
from grader.judges.compare_run import judge_compare_run
from grader.judges.context import GradingContext
from grader.judges.crashes import Locator
from grader.judges.script import Ran
from grader.reference import load_reference
from grader.rubric import ScriptCheck, load_rubric
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observations import ExceptionInfo, GlobalInfo, ScriptObservation
from reference.mfdnn.hw2 import (
    ALPHA,
    DRAW_MISTAKES,
    FIT_BOUND,
    MISTAKES,
    K,
    N,
    P,
    diff_f_th,
    f_th,
    f_true,
    fit_rmse,
    indices,
    loss,
    run,
    sigmoid,
    starter_draws,
)

ROOT = Path(__file__).resolve().parents[2]


def test_network_is_the_statements_sum() -> None:
    rng = np.random.default_rng(0)
    theta, x = rng.normal(size=3 * P), rng.normal(size=7)
    a, b, u = theta[:P], theta[P : 2 * P], theta[2 * P :]
    by_hand = [sum(u[j] / (1 + np.exp(-(a[j] * xi + b[j]))) for j in range(P)) for xi in x]
    np.testing.assert_allclose(f_th(theta, x), by_hand, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_gradient_matches_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    theta = np.concatenate((rng.normal(0, 4, P), rng.normal(0, 4, P), rng.normal(0, 0.5, P)))
    x = float(rng.normal())
    h = 1e-6
    numeric = np.array(
        [
            (f_th(theta + h * e, [x])[0] - f_th(theta - h * e, [x])[0]) / (2 * h)
            for e in np.eye(3 * P)
        ]
    )
    np.testing.assert_allclose(diff_f_th(theta, x), numeric, rtol=1e-5, atol=1e-8)


def test_starter_draws_in_the_statements_order() -> None:
    state = np.random.RandomState(0)
    a0, b0, u0 = state.normal(0, 4, P), state.normal(0, 4, P), state.normal(0, 0.05, P)
    X = state.normal(0, 1, N)
    theta, X_ref, Y = starter_draws()
    np.testing.assert_array_equal(theta, np.concatenate((a0, b0, u0)))
    np.testing.assert_array_equal(X_ref, X)
    np.testing.assert_array_equal(Y, (X - 2) * np.cos(4 * X))


def _stream(draw: Any) -> list[int]:
    starter_draws()  # seeds and draws as the starter does
    return [int(np.ravel(draw())[0]) for _ in range(K)]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: np.random.randint(0, N),
        lambda: np.random.randint(0, N, 1),
        lambda: np.random.choice(N),
        lambda: np.random.choice(range(N)),
        lambda: np.random.randint(1, N + 1) - 1,
    ],
    ids=["randint(0,N)", "randint(0,N,1)", "choice(N)", "choice(range(N))", "one-based"],
)
def test_accepted_draws_give_the_randint_stream(draw: Any) -> None:
    assert _stream(draw) == list(indices(draw="randint"))


def test_other_correct_draw_and_wrong_draws() -> None:
    floor = _stream(lambda: int(np.floor(np.random.uniform(0, N))))
    assert floor == list(indices(draw="rand_times_n")) != list(indices(draw="randint"))
    assert 0 not in indices(draw="skips_first") and N - 1 not in indices(draw="skips_last")
    assert set(indices(draw="randint")) == set(range(N))


def _plain_run(draw: str) -> np.ndarray:
    """The statement's SGD written plainly with the reference's network and gradient."""
    theta, X, Y = starter_draws()
    for i in indices(draw=draw):
        theta = theta - ALPHA * (f_th(theta, [X[i]])[0] - Y[i]) * diff_f_th(theta, X[i])
    return theta


def test_fast_replay_is_the_plain_sgd() -> None:
    np.testing.assert_allclose(run().theta, _plain_run("randint"), rtol=1e-9, atol=1e-12)


def test_the_run_learns() -> None:
    ref = run()
    assert loss(ref.theta, ref.X, ref.Y) < 0.05 < 1.0 < loss(ref.theta0, ref.X, ref.Y)
    assert fit_rmse(ref.theta, ref.X) < FIT_BOUND < fit_rmse(ref.theta0, ref.X)


def _known_runs() -> list[tuple[str, str | None]]:
    draws = ["randint", "rand_times_n", *DRAW_MISTAKES]
    return [(d, m) for d in draws for m in [None, *MISTAKES]]


@pytest.mark.slow
def test_known_runs_differ_and_only_wrong_steps_fit_badly() -> None:
    thetas = {key: run(draw=key[0], mistake=key[1]).theta for key in _known_runs()}
    keys = list(thetas)
    for i, one in enumerate(keys):
        for other in keys[i + 1 :]:
            assert not np.allclose(thetas[one], thetas[other], rtol=1e-3), (one, other)
    X = run().X
    for (_, mistake), theta in thetas.items():
        fit = fit_rmse(theta, X)
        assert (fit <= FIT_BOUND) == (mistake is None), (mistake, fit)


@pytest.mark.slow
def test_correct_runs_on_other_streams_fit_within_the_bound() -> None:
    theta0, X, Y = starter_draws()
    for seed in range(8):
        rng = np.random.default_rng(seed)
        a, b, u = (part.copy() for part in np.split(theta0, 3))
        for _ in range(K):
            i = int(rng.integers(N))
            s = sigmoid(a * X[i] + b)
            residual, ds = s @ u - Y[i], s * (1 - s)
            a, b, u = (
                a - ALPHA * residual * u * ds * X[i],
                b - ALPHA * residual * u * ds,
                u - ALPHA * residual * s,
            )
        assert fit_rmse(np.concatenate((a, b, u)), X) <= FIT_BOUND - 0.05


# --- the custom checks, on observations as the sandbox sends them --------------------------------


def _checks() -> Any:
    path = ROOT / "rubrics" / "mfdnn" / "hw2_checks.py"
    spec = importlib.util.spec_from_file_location("mfdnn_hw2_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


CHECKS = _checks()
GRID = np.linspace(-2, 2, 1024)


def _observation(
    theta: np.ndarray | None,
    *,
    error: str | None = None,
    final_plot: bool = True,
    seed: int = 0,
) -> Any:
    X = run(seed=seed).X
    arrays: dict[str, np.ndarray] = {"global.X": X, "global.Y": f_true(X)}
    globals_ = [GlobalInfo(name="X", defined=True, type="ndarray", shape=[N])]
    if theta is not None:
        arrays["global.theta"] = theta
        globals_.append(GlobalInfo(name="theta", defined=True, type="ndarray", shape=[3 * P]))
    lines = [np.stack([GRID, f_true(GRID)], axis=1)]
    if theta is not None and final_plot:
        lines.append(np.stack([GRID, f_th(theta, GRID)], axis=1))
    series = []
    for k, xy in enumerate(lines):
        arrays[f"fig.{k}"] = xy
        series.append({"key": f"fig.{k}", "kind": "line", "length": len(xy)})
    obs = ScriptObservation(
        kind="script",
        id="p7.run",
        stage="done",
        globals=globals_,
        figures=[{"number": 1, "axes": [{"series": series}]}],
        error=None if error is None else ExceptionInfo(type=error, message="boom"),
    )
    outcome = ProbeOutcome(observation=obs, arrays=arrays)
    return lambda problem, check: outcome


SUBMISSION = SimpleNamespace(unassembled={})
HOMEWORK = load_catalog().find("mfdnn/hw2")
RUBRIC = load_rubric(HOMEWORK.rubric_path)
# The reference as the grader loads it: the replays the compare_run checks ask for (twenty SGD
# runs) are then computed once in a test run, for these tests and for `grade check`'s alike.
REFERENCE = load_reference(RUBRIC, HOMEWORK.reference_root)
P7 = RUBRIC.problem("p7")


def _compared(check_id: str, observation: Any, seed1: Any) -> str:
    """The rubric's compare_run check on runs as the sandbox sends them (the run check's
    observations, as `grader.judges.script` memoises them for each student): `observation` as
    written, `seed1` under the seed 1 the rubric imposes."""
    script = next(c for c in P7.checks if isinstance(c, ScriptCheck))
    assert script.seeds == ["starter", 1]
    ctx = GradingContext(SUBMISSION, RUBRIC, REFERENCE, observer=None)  # type: ignore[arg-type]
    for _, each in script.seed_runs():
        outcome = (observation if each.seeds[0] == "starter" else seed1)("p7", "run")
        ran = Ran("twolayerSGD.py", outcome.observation, outcome.arrays, Locator({}))
        ctx.memo[f"script:p7.{each.id}"] = ran
    check = next(c for c in P7.checks if c.id == check_id)
    verdict = judge_compare_run(P7, check, None, ctx)  # type: ignore[arg-type]
    if verdict.status.value == "passed":
        return "passed"
    if verdict.status.value == "failed":
        return f"failed: {verdict.message}"
    return verdict.message


def _verdict(name: str, observation: Any, seed1: Any = None) -> str:
    if name in ("step", "sampling"):
        return _compared(name, observation, seed1 or observation)
    try:
        getattr(CHECKS, name)(SUBMISSION, REFERENCE, observation)
    except AssertionError as exc:
        return f"failed: {exc}"
    except pytest.skip.Exception as exc:
        return str(exc.msg)
    return "passed"


def test_checks_pass_the_reference_run_and_an_equivalent_draw() -> None:
    for draw in ("randint", "rand_times_n"):
        seen = _observation(run(draw=draw).theta * (1 + 1e-13))  # another formula's rounding
        seed1 = _observation(run(seed=1, draw=draw).theta, seed=1)
        for name in ("step", "sampling", "check_fit", "check_figure"):
            assert _verdict(name, seen, seed1) == "passed", name
        # the starter's theta again under seed 1: numbers that fit only the starter's seed
        for name in ("step", "sampling"):
            assert "do not compare alike" in _verdict(name, seen), name


def test_checks_name_a_wrong_gradient_and_a_wrong_draw() -> None:
    wrong_step = _observation(run(mistake="no_chain_x").theta)
    seed1 = _observation(run(seed=1, mistake="no_chain_x").theta, seed=1)
    assert "lacks the factor x" in _verdict("step", wrong_step, seed1)
    assert _verdict("sampling", wrong_step, seed1) == "passed"
    assert _verdict("check_fit", wrong_step).startswith("failed: the trained network is far")
    wrong_draw = _observation(run(draw="skips_first").theta)
    seed1 = _observation(run(seed=1, draw="skips_first").theta, seed=1)
    assert _verdict("step", wrong_draw, seed1) == "passed"
    assert "X[0] is never used" in _verdict("sampling", wrong_draw, seed1)
    # wrong under seed 1 only: neither passed nor named, a TA reads both findings
    assert "do not compare alike" in _verdict("sampling", _observation(run().theta), seed1)


def test_checks_leave_an_unplaced_run_to_a_ta() -> None:
    theta = run().theta + np.random.default_rng(0).normal(0, 1e-3, 3 * P)
    seen = _observation(theta)
    for name in ("step", "sampling"):
        assert _verdict(name, seen).startswith("pending: no run could be placed"), name
        assert "starter: the final theta" in _verdict(name, seen), name
    assert _verdict("check_fit", seen) == "passed"


def test_checks_on_diverged_missing_and_crashed_runs() -> None:
    nan = np.full(3 * P, np.nan)
    assert _verdict("step", _observation(nan)).startswith("failed: the run diverged")
    assert _verdict("check_fit", _observation(nan)).startswith("failed")
    # theta under a name of the student's own: nothing to compare or evaluate, a TA reads it
    renamed = _observation(None)
    for name in ("step", "sampling", "check_fit"):
        assert _verdict(name, renamed).startswith("pending"), name
        assert "no `theta`" in _verdict(name, renamed), name
    crashed = _observation(None, error="ModuleNotFoundError")
    for name in ("step", "sampling", "check_fit", "check_figure"):
        assert _verdict(name, crashed).startswith("pending"), name


def test_figure_without_the_network_fails() -> None:
    seen = _observation(run().theta, final_plot=False)
    assert _verdict("check_figure", seen).startswith("failed: the figure does not show")
