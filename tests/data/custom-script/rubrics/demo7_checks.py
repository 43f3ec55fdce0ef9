"""Custom checks of demo7: they read the script's run through `script_run` and give partial
credit (`Partial`) or hand the check to a TA (`Pending`)."""

import numpy as np

from grader.judges.custom import Partial, Pending


def reference_grad(theta, x):
    a, b, u = np.split(theta, 3)
    s = 1 / (1 + np.exp(-(a * x + b)))
    return np.concatenate([u * s * (1 - s) * x, u * s * (1 - s), s])


def check_gradient(script_run):
    run = script_run("p7", "run")
    if not run.ran:
        raise Pending(f"the script could not be observed: {run.problem}")
    results = run.call("grad")
    assert results is not None, "diff_f_th could not be called on theta and x"
    given = run.call_inputs("grad")
    expected = np.stack([reference_grad(t, x) for t, x in zip(given["theta"], given["x"])])
    right = np.isclose(results, expected, rtol=1e-6, atol=1e-9).all(axis=0)
    a, b, u = np.split(right, 3)
    parts = [name for name, ok in zip("abu", (a.all(), b.all(), u.all())) if ok]
    if len(parts) < 3:
        raise Partial(2 * len(parts) / 3, f"right for {', '.join(parts) or 'no part'} only")


def check_figure(script_run):
    run = script_run("p7", "run")
    if not run.series():
        raise Pending("no figure was left open or saved: a TA looks at the plot")
    assert run.value("theta") is not None, "theta is not a vector of 6 numbers after the run"
