"""Custom mfdnn HW2 checks (problem 7, SGD by hand): judged from what `twolayerSGD.py` left.

The rubric's script check `p7.run` runs the student's script as written; these functions read
its observation (the fixture `observation("p7", "run")`: the globals as arrays, the figures, the
error if it stopped) and judge in the grader's process, with the reference package
(`reference/mfdnn/hw2`). The step and the sampling are `compare_run` checks in the rubric (the
final theta against the reference's replayed runs, correct and known wrong ones); here:

- `check_fit`: the network formula with the student's final theta, evaluated here on the
  starter's grid where there is data, against f*.
- `check_figure`: a figure shows the trained network (a line that is f_theta for the final theta,
  or, as the starter plots every 2000 steps, a network line beside f*).

Student code never runs here: only its observation is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

PROBLEM, CHECK, SCRIPT = "p7", "run", "twolayerSGD.py"
#: Where a script keeps its parameters: the starter's `theta`, renamed, or a, b, u kept apart.
THETA_NAMES = ("theta", "th", "params", "parameters", "weights")
SPLIT_NAMES = (("a", "b", "u"),)
DATA_NAMES = (("X", "Y"), ("x_data", "y_data"), ("x_train", "y_train"))
MIN_CURVE = 100  # points of a drawn line that can be a function on the grid


@dataclass(frozen=True)
class Seen:
    """What the script left: its final theta (or why there is none), its data and its end."""

    theta: np.ndarray | None
    where: str  # the global(s) theta was read from, or why it could not be
    X: np.ndarray | None
    stopped: str  # '' when it ran to the end, else how it stopped
    figures: list[Any]
    arrays: dict[str, np.ndarray]


def _seen(submission: Any, observation: Any) -> Seen:
    """The run's observation, or `pytest.skip`/`AssertionError` when there is none to judge."""
    if SCRIPT in submission.unassembled:
        pytest.skip(f"pending: {submission.unassembled[SCRIPT]} (see p7 run): for a TA to read")
    outcome = observation(PROBLEM, CHECK)
    if outcome is None:
        raise AssertionError(f"no {SCRIPT} (or notebook defining theta) was found to judge")
    obs = outcome.observation
    if obs is None:
        pytest.skip(f"pending: {SCRIPT} could not be observed ({outcome.problem}); for a TA")
    arrays = outcome.arrays
    stopped = ""
    if obs.error is not None:
        stopped = f"{obs.error.type}: {obs.error.message.splitlines()[0][:160]}"
    theta, where = _theta(obs, arrays)
    return Seen(theta, where, _data(arrays), stopped, list(obs.figures), arrays)


def _theta(obs: Any, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray | None, str]:
    size = 3 * 50
    for name in THETA_NAMES:
        array = arrays.get(f"global.{name}")
        if array is not None and array.size == size:
            return np.ravel(array).astype(float), f"`{name}`"
    for names in SPLIT_NAMES:
        parts = [arrays.get(f"global.{n}") for n in names]
        if all(p is not None and p.size == size // 3 for p in parts):
            return np.concatenate([np.ravel(p) for p in parts]).astype(float), ", ".join(names)
    found = [
        f"`{g.name}` ({g.type}, shape {g.shape})"
        for g in obs.globals
        if g.defined and g.name in THETA_NAMES
    ]
    if found:
        return None, f"{found[0]} is not the 150 parameters [a, b, u]"
    return None, "the script leaves no `theta` (nor a, b, u) with the 150 parameters [a, b, u]"


def _data(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    for x_name, _ in DATA_NAMES:
        x = arrays.get(f"global.{x_name}")
        if x is not None and x.size >= 2:
            return np.ravel(x).astype(float)
    return None


def _starter_data(ref: Any, seen: Seen) -> bool:
    """Whether the script's data are the starter's (the seed and order of draws kept)."""
    X = ref.reference_run().X
    return seen.X is None or (seen.X.shape == X.shape and np.allclose(seen.X, X))


def check_fit(submission: Any, reference: Any, observation: Any) -> None:
    """f_theta with the student's final theta, computed here, against f* where there is data."""
    ref = reference.module
    seen = _seen(submission, observation)
    if seen.theta is None:
        if seen.stopped:
            pytest.skip(f"pending: {SCRIPT} stopped ({seen.stopped}) before a fit: for a TA")
        # The parameters under a name of the student's own: a plotted curve is only what the
        # student's process drew, not a network the grader can evaluate, so a TA reads the fit.
        pytest.skip(f"pending: {seen.where}: for a TA")
    X = seen.X if seen.X is not None else ref.reference_run().X
    fit = ref.fit_rmse(seen.theta, X)
    best = ref.fit_rmse(ref.reference_run().theta, ref.reference_run().X)
    span = f"[{np.min(X):.2f}, {np.max(X):.2f}]"
    if np.isfinite(fit) and fit <= ref.FIT_BOUND:
        return
    if seen.stopped:
        pytest.skip(f"pending: {SCRIPT} stopped ({seen.stopped}); its last theta fits f* badly")
    if not _starter_data(ref, seen):
        pytest.skip(
            f"pending: f_theta is {fit:.2f} (RMSE) from f* on {span}, on data that are not the "
            f"starter's (the bound {ref.FIT_BOUND} is the starter's data's): for a TA"
        )
    raise AssertionError(
        f"the trained network is far from f* where there is data, {span}: RMSE {fit:.3g} "
        f"(the reference run: {best:.2f}; a correct run stays below {ref.FIT_BOUND})"
    )


def check_figure(submission: Any, reference: Any, observation: Any) -> None:
    """A figure shows the trained network (and, as the starter draws it, f*)."""
    ref = reference.module
    seen = _seen(submission, observation)
    lines = [
        (series, seen.arrays.get(series.key))
        for figure in seen.figures
        for axes in figure.axes
        for series in axes.series
        if series.kind == "line" and series.length >= MIN_CURVE
    ]
    lines = [(s, xy) for s, xy in lines if xy is not None and xy.ndim == 2 and xy.shape[1] == 2]
    if not lines:
        if seen.stopped and not seen.figures:
            pytest.skip(f"pending: {SCRIPT} stopped ({seen.stopped}) before drawing: for a TA")
        raise AssertionError(
            "no figure shows a curve on a grid (plot f_th(theta, xx) against xx beside f*)"
            if seen.figures
            else "no figure was drawn"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        truth = [
            np.allclose(xy[:, 1], ref.f_true(xy[:, 0]), rtol=1e-6, atol=1e-6) for _, xy in lines
        ]
        final = seen.theta is not None and any(
            np.allclose(xy[:, 1], ref.f_th(seen.theta, xy[:, 0]), rtol=1e-5, atol=1e-6)
            for _, xy in lines
        )
    if final:
        return
    networks = [s for (s, _), is_truth in zip(lines, truth, strict=True) if not is_truth]
    if not (any(truth) and networks) and seen.stopped:
        pytest.skip(f"pending: {SCRIPT} stopped ({seen.stopped}) before its figure was complete")
    assert any(truth) and networks, (
        "the figure does not show the trained network beside f*"
        if not networks
        else "the figure shows no f* to compare the network with"
    )
