"""Custom mfdnn HW3 checks: plain pytest functions that the rubric (kind: custom) gives points to.

`check_fit` and `check_figure` (problem 1) read the run of `threelayerSGD.py` (the fixtures
`observation("p1", "run")` and `script_run("p1", "run")`). The fit is the trained network's
expected squared error against f* under x ~ N(0, 1) (`reference.expected_test_mse`), judged
against the range of correct runs' test losses (`TEST_LOSS_BAND`): the network the run left
(`model`, else the one trained nn.Module) evaluated on the grader's grid of [-2, 2] (the rubric's
`evaluate`). Only where no network could be evaluated does the starter's own plot of
`model(xx)` stand in for it; where the plot fits and the network does not, a TA decides. Student
code never runs here: only its observation is read.

`check_parameter_map` (5c) is the project's first HW3 check (tests/data/hw1-course/hw3_checks.py):
the student states how a tanh MLP (weights C_i, biases d_i) becomes a sigmoid MLP (A_i, b_i)
computing the same function, per layer position, on the answer sheet:

    [p5c.map]
    first_weight = "2*C"          # A_1 from C_1, entry by entry
    first_bias = "2*d"            # b_1 from d_1
    hidden_weight = "..."         # layers 2 .. L-1
    hidden_bias = "..."
    last_weight = "..."           # layer L, linear (no activation)
    last_bias = "..."

Each entry is an expression in C (the entry C[j, k] of the layer's weight), d (the entry d[j] of
its bias) and rowsum(C) (sum over k of C[j, k]); a bias may not use C alone. The expressions are
the student's formulas, evaluated by the grader's safe expression evaluator (never their code):
the grader draws random tanh MLPs of several depths and widths, maps them, builds both networks
in torch and compares their outputs. From a writeup a map cannot be read with confidence, so
there it is pending for a TA, with the student's text.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch

from grader.ingest.exprs import Expression, ExpressionError, parse_expression
from grader.judges.planning import stand_in_scripts

SECTION = "p5c.map"
POSITIONS = ("first", "hidden", "last")
KEYS = tuple(f"{where}_{what}" for where in POSITIONS for what in ("weight", "bias"))
# (widths, seed): depth 2 checks first + last, deeper ones the hidden map too; widths vary so a
# map that only works for square layers or one input does not pass.
NETWORKS: tuple[list[int], ...] = (
    [1, 5, 1],
    [3, 4, 2],
    [2, 6, 5, 3],
    [1, 8, 8, 8, 1],
    [4, 3, 7, 6, 2],
)
RTOL = 1e-6
_AXIS1 = r"\s*,\s*(?:(?:axis|dim)\s*=\s*)?(?:1|-1)\s*"
ROWSUM = re.compile(
    # rowsum(C) as the sheet spells it, and numpy/torch spellings that name the row axis
    r"\b(?:rowsum|row_sum)\s*\(\s*C\s*\)"
    rf"|\b(?:np|numpy|torch)\s*\.\s*sum\s*\(\s*C{_AXIS1}\)"
    rf"|\bC\s*\.\s*sum\s*\(\s*(?:(?:axis|dim)\s*=\s*)?(?:1|-1)\s*\)"
)
#: A sum of C that names no axis (`sum(C)`, `np.sum(C)`, `C.sum()`): in the sheet's entry-wise
#: terms it most likely means rowsum(C), but as code it is the column or total sum. A map that is
#: right when it means rowsum(C) goes to a TA; one that is wrong even so fails.
BARE_SUM = re.compile(
    r"\b(?:(?:np|numpy|torch)\s*\.\s*)?sum\s*\(\s*C\s*\)|\bC\s*\.\s*sum\s*\(\s*\)"
)


def _answers(submission: Any) -> dict[str, Any]:
    prefix = SECTION + "."
    return {
        key.removeprefix(prefix): answer
        for key, answer in submission.answers.items()
        if key.startswith(prefix)
    }


def _writeup_excerpt(submission: Any) -> str:
    for doc in submission.documents:
        for section in doc.sections:
            if section.problem.lower() == "5c":
                lines = doc.excerpt(section.start_line, section.end_line, limit=5)
                shown = " / ".join(line.strip() for line in lines if line.strip())
                span = doc.lines_of(section.start_line, section.end_line)  # .tex/PDF: theirs
                return f"{doc.file} {span}: {shown}"
    return ", ".join(doc.file for doc in submission.documents)


def _parse(key: str, text: Any) -> Expression:
    variables = ["d", "rowsum_C"] if key.endswith("bias") else ["C", "d", "rowsum_C"]
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        raise AssertionError(f'{SECTION}.{key}: expected an expression in quotes, e.g. "2*C"')
    source = BARE_SUM.sub("rowsum_C", ROWSUM.sub("rowsum_C", str(text)))
    try:
        # No lists, loops or indexing: the map is arithmetic on entries, and without loops an
        # entry costs at most one step per node (loops padded to just under exprs.MAX_STEPS
        # cost a minute of CPU over the ~400 entries of NETWORKS).
        return parse_expression(source, variables, functions=(), sequences=False)
    except ExpressionError as exc:
        message = exc.message.replace("rowsum_C", "rowsum(C)")
        if key.endswith("bias") and re.search(
            r"\bC\b", BARE_SUM.sub("", ROWSUM.sub("", str(text)))
        ):
            message += " (a bias is a vector: use rowsum(C), the sum over k of C[j, k])"
        raise AssertionError(f"{SECTION}.{key} = {_shown(text)}: {message}") from None


def _shown(text: Any, limit: int = 60) -> str:
    """The answer as quoted back to the student: a padded one would bury the reason."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _apply(expr: Expression, c: torch.Tensor | None, d: torch.Tensor, rows: torch.Tensor) -> Any:
    """The expression entry by entry: weights [out, in] (with c), biases [out] (without)."""
    if c is None:
        biases = [_value(expr, d=float(d[j]), rowsum_C=float(rows[j])) for j in range(d.numel())]
        return torch.tensor(biases, dtype=torch.float64)
    weights = [
        [
            _value(expr, C=float(c[j, k]), d=float(d[j]), rowsum_C=float(rows[j]))
            for k in range(c.shape[1])
        ]
        for j in range(c.shape[0])
    ]
    return torch.tensor(weights, dtype=torch.float64)


def _value(expr: Expression, **values: float) -> float:
    return expr.evaluate(**{k: v for k, v in values.items() if k in expr.free_names})


def _map(reference: Any, exprs: dict[str, Expression], layers: list[Any]) -> list[Any]:
    mapped = []
    for i, (c, d) in enumerate(layers):
        where = reference.position(i, len(layers))
        rows = c.sum(dim=1)
        weight = _apply(exprs[f"{where}_weight"], c, d, rows)
        bias = _apply(exprs[f"{where}_bias"], None, d, rows)
        mapped.append((weight, bias))
    return mapped


def _agrees(reference: Any, exprs: dict[str, Expression], widths: list[int], seed: int) -> str:
    """'' when the mapped sigmoid MLP computes the tanh MLP's function, else what differs."""
    gen = torch.Generator().manual_seed(seed)
    layers = reference.random_mlp(widths, gen)
    x = torch.randn(16, widths[0], generator=gen, dtype=torch.float64)
    want = reference.forward(layers, x, "tanh")
    try:
        got = reference.forward(_map(reference, exprs, layers), x, "sigmoid")
    except ExpressionError as exc:
        return f"your map fails on a {'-'.join(map(str, widths))} network: {exc.message}"
    if got.shape == want.shape and torch.allclose(got, want, rtol=RTOL, atol=RTOL):
        return ""
    gap = float((got - want).abs().max()) if got.shape == want.shape else float("nan")
    return (
        f"on a random {'-'.join(map(str, widths))} tanh network, the sigmoid network your map "
        f"gives differs from it (largest output difference {gap:.3g})"
    )


def check_parameter_map(submission: Any, reference: Any) -> None:
    given = _answers(submission)
    if not given:
        if submission.documents:
            pytest.skip(
                "pending: the parameter map cannot be read from a writeup with confidence; "
                f"for a TA: {_writeup_excerpt(submission)}"
            )
        raise AssertionError(f"not answered: add [{SECTION}] with {', '.join(KEYS)} (see template)")
    missing = [k for k in KEYS if k not in given]
    assert not missing, f"[{SECTION}] lacks {', '.join(missing)}"
    exprs = {key: _parse(key, given[key].value) for key in KEYS}
    ref = reference.module  # reference.mfdnn.hw3: the network builders and forward pass
    failures = [(w, _agrees(ref, exprs, w, seed)) for seed, w in enumerate(NETWORKS)]
    wrong = [(w, why) for w, why in failures if why]
    bare = [key for key in KEYS if BARE_SUM.search(str(given[key].value))]
    if not wrong:
        if bare:
            pytest.skip(
                f"pending: [{SECTION}] {', '.join(bare)} write a sum of C without an axis "
                "(sum(C)); read as rowsum(C), the sum over k of C[j, k], the map is correct: "
                "for a TA to confirm"
            )
        return
    shallow_ok = not any(len(w) == 3 for w, _ in wrong)
    where = (
        "the first and last layers agree, so the hidden-layer map is wrong"
        if shallow_ok
        else "already a network with one hidden layer differs: check the first- and last-layer maps"
    )
    raise AssertionError(f"{wrong[0][1]}; {where}")


# --- problem 1: the trained function, as the starter plots it --------------------------------
RUN = ("p1", "run")
SCRIPT = "threelayerSGD.py"
#: The run check's `globals` and `reads` (rubric): the names by which the grader looks for the
#: script under another name (`p1.py` and `p2.py` of a student who split problems 1 and 2).
SCRIPT_GLOBALS = (
    "model",
    "f_true",
    "losses",
    "train_losses",
    "loss_history",
    "test_loss",
    "val_loss",
)
MIN_CURVE = 100  # points of a line drawn on a grid (the starter's xx has 1,024)


def _run(submission: Any, observation: Any) -> Any:
    """The script's observation, or `pytest.skip`/`AssertionError` when there is none."""
    if SCRIPT in submission.unassembled:
        pytest.skip(f"pending: {submission.unassembled[SCRIPT]} (see p1 run): for a TA to read")
    outcome = observation(*RUN)
    if outcome is None:
        candidates = stand_in_scripts(submission, list(SCRIPT_GLOBALS), ["model"]).files
        if candidates:  # renamed, and the run check could not tell which file it is
            pytest.skip(
                f"pending: no {SCRIPT}, and {', '.join(candidates)} "
                f"{'could each be it' if len(candidates) > 1 else 'may be it'} under "
                "another name (see p1 run): for a TA"
            )
        raise AssertionError(f"no {SCRIPT} (or notebook defining `model`) was found to judge")
    if outcome.observation is None:
        pytest.skip(f"pending: {SCRIPT} could not be observed ({outcome.problem}); for a TA")
    return outcome


def _stopped(outcome: Any) -> str:
    error = outcome.observation.error
    return "" if error is None else f"{error.type}: {error.message.splitlines()[0][:160]}"


def _grid_lines(outcome: Any, f_true: Any) -> tuple[list[np.ndarray], bool]:
    """Lines drawn on an evenly spaced grid that are not f* itself, in drawing order, and
    whether f* (or the data) is drawn too."""
    fits, reference_drawn = [], False
    for figure in outcome.observation.figures:
        for axes in figure.axes:
            for series in axes.series:
                xy = outcome.arrays.get(series.key)
                if xy is None or xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 2:
                    continue
                x, y = xy[:, 0].astype(float), xy[:, 1].astype(float)
                with np.errstate(over="ignore", invalid="ignore"):
                    if np.allclose(y, f_true(x), rtol=1e-5, atol=1e-5):
                        reference_drawn = True  # f*, or the noiseless data points
                        continue
                steps = np.diff(x)
                on_grid = (  # an input grid: not epochs (0, 1, 2, ...), not far out
                    xy.shape[0] >= MIN_CURVE
                    and not np.all(x == np.round(x))
                    and np.max(np.abs(x)) <= 10
                    and series.kind == "line"
                    and np.all(np.isfinite(x))
                    and np.all(steps > 0)
                    and np.allclose(steps, steps[0], rtol=1e-3)
                )
                if on_grid:
                    fits.append(xy)
                elif xy.shape[0] >= MIN_CURVE:
                    reference_drawn = True  # the (noisy) data points
    return fits, reference_drawn


def check_fit(submission: Any, reference: Any, observation: Any, script_run: Any) -> None:
    """The fit of the network the run left, evaluated on the grader's grid; the plot of
    model(xx) only where no network could be evaluated.

    A plot is what the student's process drew; the evaluated network is the trained model
    itself on inputs the grader chose. Where both exist and disagree (the plot fits, the network
    left behind does not: a notebook that retrains `model` for problem 2, or a curve that is not
    the network's), a TA decides.
    """
    ref = reference.module
    outcome = _run(submission, observation)
    fits, _ = _grid_lines(outcome, ref.f_true)
    stopped = _stopped(outcome)
    band = ref.TEST_LOSS_BAND
    plotted = ref.expected_test_mse(fits[0][:, 0], fits[0][:, 1]) if fits else None
    network = _evaluated_mse(script_run(*RUN), ref)
    if network is not None:
        mse, name = network
        if _within(mse, band):
            _not_too_close(mse, band, f"the trained network (`{name}`)")
            return
        if stopped:
            pytest.skip(f"pending: {SCRIPT} stopped ({stopped}); its network fits badly")
        if plotted is not None and _within(plotted, band):
            pytest.skip(
                f"pending: the plotted function fits f* (expected squared error {plotted:.3g}), "
                f"but the network left in `{name}` does not ({_error_shown(mse)}): retrained for "
                "problem 2, or a plot of something else? For a TA"
            )
        raise AssertionError(
            f"the trained network (`{name}`), evaluated by the grader on a grid of [-2, 2], is "
            "far from f*: its expected squared error under x ~ N(0, 1) is "
            f"{_error_shown(mse)}, above the range of correct runs (up to {band.high:.3g}; "
            "learning nothing gives 2.38)"
        )
    if not fits:
        if stopped:
            pytest.skip(f"pending: {SCRIPT} stopped ({stopped}) before plotting: for a TA")
        raise AssertionError(
            "no plot of the trained function on a grid (the starter's plt.plot(xx, model(xx)))"
        )
    xy = fits[0]  # problem 1's, where a notebook also plots problem 2's
    assert plotted is not None
    span = f"on [{xy[0, 0]:.3g}, {xy[-1, 0]:.3g}]"
    if _within(plotted, band):
        _not_too_close(plotted, band, "the plotted function")
        return
    if stopped:
        pytest.skip(f"pending: {SCRIPT} stopped ({stopped}); the plotted function fits badly")
    raise AssertionError(
        f"the plotted trained function is far from f*: its expected squared error under "
        f"x ~ N(0, 1) {span} is {_error_shown(plotted)}, above the range of correct runs (up to "
        f"{band.high:.3g}; learning nothing gives 2.38 there)"
    )


def _evaluated_mse(run: Any, ref: Any) -> tuple[float, str] | None:
    """The evaluated network's expected squared error against f*, and the global it was."""
    outputs = run.outputs("fit")
    found = run.found("model")
    if outputs is None or found is None or found.found is None:
        return None
    x = np.asarray(run.input("fit"), dtype=float).reshape(-1)
    y = np.asarray(outputs, dtype=float).reshape(-1)
    if y.size != x.size:  # a network that maps the batch to another shape: the plot decides
        return None
    return ref.expected_test_mse(x, y), str(found.found)


def _not_too_close(mse: float, band: Any, what: str) -> None:
    """A fit ten times closer to f* than the best correct run of the starter is not one the
    specified training gives (f* itself, drawn or returned, or another training): a TA looks."""
    if mse < band.low:
        pytest.skip(
            f"pending: {what} is closer to f* (expected squared error {mse:.3g}) than the "
            f"specified training gets (correct runs: {band.derivation}): for a TA"
        )


def _within(mse: float, band: Any) -> bool:
    return bool(np.isfinite(mse)) and mse <= band.high


def _error_shown(mse: float) -> str:
    return f"{mse:.3g}" if np.isfinite(mse) else "not finite (the training diverged)"


def check_figure(submission: Any, reference: Any, observation: Any) -> None:
    ref = reference.module
    outcome = _run(submission, observation)
    fits, reference_drawn = _grid_lines(outcome, ref.f_true)
    if fits and reference_drawn:
        return
    stopped = _stopped(outcome)
    if stopped:
        pytest.skip(f"pending: {SCRIPT} stopped ({stopped}) before its figure was complete")
    if not outcome.observation.figures:
        raise AssertionError("no figure was drawn")
    raise AssertionError(
        "the figure does not show the trained function on a grid"
        if not fits
        else "the figure shows the trained function but neither f* nor the data"
    )
