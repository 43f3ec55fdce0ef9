"""demo8's own script analysis, `line_fit`: course content, not grader code.

A rubric's script check names it (`analysis: line_fit`); the grader finds it here, a module-level
`Analysis`, beside the rubric (docs/writing-a-rubric.md, "Analyses of your own"). Each aspect
judge gets the rubric's check, the observed run and the grading context, and returns a verdict;
whatever it cannot decide goes to a TA (`pending`), never a silent zero.
"""

import numpy as np

from grader.judges.analysis import (
    Analysis,
    Plot,
    Series,
    Status,
    failed,
    passed,
    pending,
    reference_value,
    runs,
)

TOLERANCE = 1e-2  # on w and b: a run of gradient descent that converged lands well within it
MIN_POINTS = 10  # a drawn curve this long may be the loss curve kept under another name


def _losses(check, ran):
    """The loss list: the first of `reads.loss` the script left defined, and its name."""
    for name in check.reads.get("loss", ["losses"]):
        values = ran.global_value(name)
        if values is not None and values.ndim == 1 and values.size >= 2:
            return values.astype(float), name
    return None, None


def _drawn(ran):
    return [
        f"drawn: '{label}' ({len(xy)} points)"
        for label, xy in ran.series()
        if len(xy) >= MIN_POINTS
    ]


def converges(check, ran, ctx):
    losses, name = _losses(check, ran)
    if losses is None:
        names = ", ".join(f"`{n}`" for n in check.reads.get("loss", ["losses"]))
        drawn = _drawn(ran)
        if drawn:
            return pending(
                f"no loss list ({names}) is defined, but the script drew a curve: "
                "the losses may be kept inside a function",
                drawn,
            )
        return failed(f"no loss list ({names}) is defined")
    first, last = losses[0], losses[-1]
    if not np.all(np.isfinite(losses)) or last > first:
        return failed(
            f"`{name}` grew from {first:.3g} to {last:.3g}",
            hint="a learning rate too large makes gradient descent diverge",
        )
    if last > 0.1 * first:
        return failed(f"`{name}` fell only from {first:.3g} to {last:.3g}")
    return passed(f"`{name}` fell from {first:.3g} to {last:.3g}")


def line(check, ran, ctx):
    names = check.reads.get("line", ["w", "b"])
    values = [ran.global_value(n) for n in names]
    if any(v is None or v.size != 1 for v in values):
        missing = [n for n, v in zip(names, values) if v is None or v.size != 1]
        drawn = _drawn(ran)
        if drawn:
            return pending(
                f"{', '.join(missing)} not left as numbers, but the script drew a "
                "curve: the fit may be kept inside a function",
                drawn,
            )
        return failed(f"{', '.join(missing)} not left as numbers by the script")
    w, b = (float(v.ravel()[0]) for v in values)
    ref = reference_value(check, ctx)
    if ref is None:
        return Status.SKIPPED, "compared with the reference by the staff", [], None, None
    shown = f"(w, b) = ({w:.4g}, {b:.4g})"
    expected = f"the least-squares line is ({ref['w']:.4g}, {ref['b']:.4g})"
    if abs(w - ref["w"]) <= TOLERANCE and abs(b - ref["b"]) <= TOLERANCE:
        return passed(f"{shown}: the least-squares line")
    if abs(w - ref["w_no_bias"]) <= TOLERANCE and b == 0.0:
        return failed(
            f"{shown} is the best line through the origin: b is never updated",
            [expected],
            hint="update b with its own gradient, 2 mean(w x + b - y)",
        )
    return failed(f"{shown}, but {expected}", [expected])


def plot_losses(check, ran, ctx):
    losses, name = _losses(check, ran)
    if losses is None:
        return None
    steps = [float(i) for i in range(min(losses.size, 5000))]
    ys = [float(v) if np.isfinite(v) else None for v in losses[:5000]]
    return Plot(
        title=f"training loss (`{name}`)",
        xlabel="step",
        ylabel="loss",
        series=[Series(label="loss", panel="yours", x=steps, y=ys)],
    )


line_fit = Analysis(
    {"runs": runs, "converges": converges, "line": line},
    plot=plot_losses,
    plot_with="converges",
    description="gradient descent on a line: the loss falls, the line is the least-squares one",
)
