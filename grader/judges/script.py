"""The `script` check kind: a student script run as written; its globals and figures judged.

Credit is split so the parts that were done still count: a script that crashes while plotting
keeps the credit for the curves it computed (the probe reports the globals as they stood at the
crash). The curves are judged by their phenomenon (`grader.judges.curves`), never by their digits.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.judges import curves
from grader.judges.context import GradingContext, Verdict, result
from grader.judges.crashes import Locator, describe_crash, locator
from grader.judges.planning import script_target
from grader.judges.sources import missing
from grader.results import CheckResult, Plot, Series, Status
from grader.rubric import Problem, RefValue, ScriptCheck
from grader.sandbox.observations import ScriptObservation


@dataclass(frozen=True)
class Ran:
    """A script that was observed (finished or not), with its arrays."""

    file: str
    obs: ScriptObservation
    arrays: dict[str, np.ndarray]
    where: Locator  # maps a script assembled from a writeup/notebook back to the student's text


def judge_script(
    problem: Problem, check: ScriptCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    assert part is not None
    points = check.points_of(part)
    ran = _observe(problem, check, ctx)
    if not isinstance(ran, Ran):
        status, message, details, hint, source = ran
        return result(
            check, part, status, 0.0, points, message, details=details, hint=hint, source=source
        )
    unavailable = _unavailable_module(ran, ctx)
    if unavailable is not None:
        status, message, details, hint, source = unavailable
        return result(
            check, part, status, 0.0, points, message, details=details, hint=hint, source=source
        )
    analysis = ANALYSES[check.analysis]
    status, message, details, hint, source = analysis.aspects[part](check, ran, ctx)
    doubts = _assembly_doubts(ctx, ran.file)
    if status in (Status.FAILED, Status.ERROR) and doubts:
        # Rebuilt from a writeup with doubts (e.g. indentation lost at a page break): the failure
        # may be our parser's, so a TA decides.
        status = Status.PENDING
        message = f"for a TA: {message} (the script was rebuilt from a writeup)"
        details = [*details, *doubts]
    score = points if status is Status.PASSED else 0.0
    plot = analysis.plot(check, ran, ctx) if part == "figure" and analysis.plot else None
    return result(
        check,
        part,
        status,
        score,
        points,
        message,
        details=details,
        hint=hint,
        source=source or ran.where.ref(ran.file),
        plot=plot,
    )


def _unavailable_module(ran: Ran, ctx: GradingContext) -> Verdict | None:
    """A script stopped by an import of a package the grading machine lacks: for a TA.

    The student ran it where the package is installed (sklearn imported out of habit, never
    used); failing them for our machine's set of packages would be our mistake. Only an
    `import` statement in their own code counts: a missing module deeper down is theirs.
    """
    error = ran.obs.error
    if error is None or error.type != "ModuleNotFoundError":
        return None
    frame = error.student_frame()
    code = frame.code.strip() if frame is not None else ""
    if frame is None or not re.match(r"(import|from)\s", code):
        return None
    found = re.search(r"No module named '([\w.]+)'", error.message)
    module = found.group(1) if found else code.split()[1]
    at = ran.where.text(frame.file, frame.line)
    use = _import_use(_script_source(ran, ctx), frame.line)
    details = [f"{at}: {code}", use] if use else [f"{at}: {code}"]
    env = getattr(ctx.observer, "environment", None)
    if env is not None and module.split(".")[0] in env.declared:
        details.append(
            f"the course declares {module.split('.')[0]}: `grade env {env.course}` installs it "
            "for grading"
        )
    return (
        Status.PENDING,
        f"for a TA: {ran.where.name(ran.file)} imports {module}, which the grading machine "
        "does not have, so it could not be run here",
        details,
        None,
        ran.where.ref(frame.file, frame.line),
    )


def _script_source(ran: Ran, ctx: GradingContext) -> str | None:
    generated = ctx.submission.generated.get(ran.file)
    if generated is not None:
        return generated.source
    try:
        return (ctx.submission.root / ran.file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _import_use(source: str | None, line: int) -> str:
    """Whether the names the import at `line` binds are used anywhere else (parsed, never run)."""
    if source is None or len(source) > 1_000_000:
        return ""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno == line:
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
    if not bound:
        return ""
    used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in bound})
    names = ", ".join(sorted(bound))
    if used:
        return f"{', '.join(used)} is used by the script: it needs the package"
    return f"{names} is never used: the script would likely run without this import"


def _assembly_doubts(ctx: GradingContext, file: str) -> list[str]:
    generated = ctx.submission.generated.get(file)
    return list(generated.notes) if generated is not None else []


def _plot(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Plot | None:
    """The student's two curves beside the reference's, whatever their metric."""
    p, _ = _series(ran, "num_params")
    series = []
    for name, label in (("errors_fixed_lambda", "fixed lambda"), ("errors_opt_lambda", "tuned")):
        values, _ = _series(ran, name)
        if p is not None and values is not None and values.size == p.size:
            series.append(Series(label=label, panel="yours", x=_xs(p), y=_floats(values)))
    reference = _reference(check, ctx)
    if reference is not None:
        ref_p = np.asarray(reference.num_params, dtype=float)
        for name, label in (
            ("errors_fixed_lambda", "fixed lambda"),
            ("errors_opt_lambda", "tuned"),
        ):
            values = np.asarray(getattr(reference, name), dtype=float)
            series.append(Series(label=label, panel="reference", x=_xs(ref_p), y=_floats(values)))
    if not series:
        return None
    return Plot(
        title="test error against the number of features p",
        xlabel="p",
        ylabel="test error",
        series=series,
    )


def _xs(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.nan_to_num(np.ravel(values)[:5000])]


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.ravel(values)[:5000]]


def observed_run(problem: Problem, check: ScriptCheck, ctx: GradingContext) -> Ran | Verdict:
    """The script check's run, observed once per student, for other kinds that judge it
    (`compare_run`): a `Ran`, or the verdict on why there is none to judge."""
    return _observe(problem, check, ctx)


def observed_runs(
    problem: Problem, check: ScriptCheck, ctx: GradingContext
) -> list[tuple[ScriptCheck, Ran | Verdict]]:
    """Every run of the script check, one per entry of its `seeds` (the first is the one
    `observed_run` returns; `ScriptCheck.seed_runs`), each with the check that planned it."""
    return [(run, _observe(problem, run, ctx)) for _, run in check.seed_runs()]


def _observe(problem: Problem, check: ScriptCheck, ctx: GradingContext) -> Ran | Verdict:
    key = f"script:{problem.id}.{check.id}"
    if key not in ctx.memo:
        ctx.memo[key] = _run(problem, check, ctx)
    return ctx.memo[key]


def _run(problem: Problem, check: ScriptCheck, ctx: GradingContext) -> Ran | Verdict:
    target = script_target(ctx.observer, ctx.submission, problem, check)
    where = locator(ctx.submission)
    if target.file is None:
        pending = missing(ctx.submission, check.file, problem)
        if pending is not None:  # writeup code our parser could not assemble: a TA looks
            reason, excerpt, at = pending
            return Status.PENDING, f"for a TA: {reason}", excerpt, None, at
        py = [f for f in ctx.submission.files if f.endswith(".py")]
        return (
            Status.FAILED,
            f"no {check.file} found in your submission (Python files: {', '.join(py) or 'none'})",
            [],
            None,
            None,
        )
    outcome, run = ctx.observer.outcome(ctx.submission, problem, check)
    if outcome is None or outcome.observation is None:
        why = outcome.problem if outcome else "the sandbox did not run"
        tail = run.stderr_tail.strip().splitlines()[-5:] if run else []
        return (
            Status.ERROR,
            f"{where.name(target.file)} could not be observed: {why}",
            tail,
            None,
            where.ref(target.file),
        )
    if not isinstance(outcome.observation, ScriptObservation):
        return Status.ERROR, "the observation was tampered with", [], None, None
    return Ran(target.file, outcome.observation, outcome.arrays, where)


def _series(ran: Ran, name: str) -> tuple[np.ndarray | None, str]:
    info = ran.obs.global_info(name)
    if info is None or not info.defined:
        return None, f"`{name}` is not defined"
    array = ran.arrays.get(f"global.{name}")
    if array is None:
        return None, f"`{name}` is not a list of numbers ({info.type})"
    if name != "num_params":
        array = _paired_with_p(ran, array)
    array = np.ravel(array).astype(float)
    if array.size == 0:
        return None, f"`{name}` is empty: the list is never filled"
    return array, ""


def _paired_with_p(ran: Ran, array: np.ndarray) -> np.ndarray:
    """The errors of a list of `(p, error)` pairs (or `(error, p)`): the column that is not p.

    Only when the other column is `num_params` itself, value for value: a list with two
    numbers per p that are not p (appended inside a loop) stays as it is, and fails.
    """
    p = ran.arrays.get("global.num_params")
    if array.ndim != 2 or array.shape[1] != 2 or p is None:
        return array
    p = np.ravel(p).astype(float)
    if p.size != array.shape[0]:
        return array
    for p_col, err_col in ((0, 1), (1, 0)):
        if np.array_equal(array[:, p_col], p):
            return array[:, err_col]
    return array


def _runs(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    error = ran.obs.error
    if error is None:
        return (
            Status.PASSED,
            f"{ran.where.name(ran.file)} ran to the end in {ran.obs.run_seconds:.0f} s",
            [],
            None,
            None,
        )
    crash = describe_crash(error, ran.where, ran.where.ref(ran.file))
    path = _path_of_their_machine(error)
    if path is not None:
        message = (
            f"for a TA: {ran.where.name(ran.file)} stopped{crash.where} on {path}, a path "
            "that exists on the student's machine, not on the grading machine"
        )
        return Status.PENDING, message, crash.details, None, crash.source
    hint = crash.hint
    if error.type == "ProbeTimeout":
        hint = f"the script did not finish within {check.timeout_s:g} s"
    message = f"{error.type}{crash.where}: {crash.first_line}"
    return Status.ERROR, message, crash.details, hint, crash.source


_FILE_ERRORS = ("FileNotFoundError", "PermissionError", "NotADirectoryError", "OSError")
_QUOTED_PATH = re.compile(r"""'((?:/|~|[A-Za-z]:[\\/])[^']*)'""")


def _path_of_their_machine(error: Any) -> str | None:
    """The path a script could not open when it is one of the student's machine: an absolute
    path (`plt.savefig('/Users/me/hw6/dd.png')`) or any path a `savefig` writes (a folder the
    student had, e.g. `figures/`). Other missing files (data the submission lacks) stay errors."""
    if error.type not in _FILE_ERRORS:
        return None
    found = re.search(r"""'([^']+)'""", error.message)
    if found is None:
        return None
    frame = error.student_frame()
    saving = frame is not None and "savefig" in frame.code
    absolute = _QUOTED_PATH.search(error.message) is not None
    return f"'{found.group(1)}'" if saving or absolute else None


def _lengths(ran: Ran, name: str) -> tuple[np.ndarray | None, np.ndarray | None, Verdict | None]:
    p, why_p = _series(ran, "num_params")
    values, why = _series(ran, name)
    if p is None or values is None:
        unread = _curves_only_plotted(ran)
        if unread is not None:
            return None, None, unread
        return None, None, (Status.FAILED, why_p if p is None else why, [], None, None)
    if values.size != p.size:
        hint = None
        if values.size % p.size == 0:
            k = values.size // p.size
            hint = (
                f"{k} values per p: is the `append` inside the loop over lambda? "
                "Append once per p, after choosing lambda"
            )
        return (
            None,
            None,
            (
                Status.FAILED,
                f"`{name}` has {values.size} values for {p.size} values of p",
                [],
                hint,
                None,
            ),
        )
    return p, values, None


def _reference(check: ScriptCheck, ctx: GradingContext) -> Any:
    if ctx.reference is None:
        return None
    return ctx.reference.value(RefValue(ref=check.reference, args=check.reference_args))


def _fixed_curve(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    p, fixed, failure = _lengths(ran, "errors_fixed_lambda")
    if failure:
        return failure
    assert p is not None and fixed is not None
    reference = _reference(check, ctx)
    if reference is None:
        return Status.SKIPPED, "compared with the reference by the staff", [], None, None
    verdict = curves.judge_double_descent(p, fixed, fixed, reference)
    details = [verdict.fixed_peak_message, verdict.rank_corr_message]
    if not verdict.fixed_has_peak:
        return Status.FAILED, verdict.fixed_peak_message, details, None, None
    if not verdict.rank_corr_fixed_ok:
        return (
            Status.FAILED,
            f"the fixed-lambda curve does not follow the reference's shape "
            f"(rank correlation {verdict.rank_corr_fixed:.2f})",
            details,
            None,
            None,
        )
    return (
        Status.PASSED,
        "fixed lambda = 0.01: double descent peak near p = n_train",
        details,
        None,
        None,
    )


def _tuned_curve(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    p, opt, failure = _lengths(ran, "errors_opt_lambda")
    if failure:
        return failure
    assert p is not None and opt is not None
    fixed, _ = _series(ran, "errors_fixed_lambda")
    reference = _reference(check, ctx)
    if reference is None:
        return Status.SKIPPED, "compared with the reference by the staff", [], None, None
    if fixed is None or fixed.size != opt.size:
        fixed = opt  # judge the tuned curve on its own
    verdict = curves.judge_double_descent(p, fixed, opt, reference)
    details = [
        verdict.tuned_peak_message,
        verdict.tuned_below_message,
        verdict.rank_corr_message,
        verdict.replay_message,
    ]
    if not verdict.tuned_has_no_peak:
        return (
            Status.FAILED,
            verdict.tuned_peak_message,
            details,
            "tune lambda separately for each p on the validation set",
            None,
        )
    if fixed is not opt and not verdict.tuned_below_fixed_near_threshold:
        return Status.FAILED, verdict.tuned_below_message, details, None, None
    if verdict.tuned_on_validation is False:
        return (
            Status.FAILED,
            "the tuned curve matches lambda chosen on the TEST set",
            details,
            "choose lambda with the validation set; the test set only reports the error",
            None,
        )
    if not verdict.rank_corr_opt_ok:
        return (
            Status.FAILED,
            f"the tuned curve does not follow the reference's shape (rank "
            f"correlation {verdict.rank_corr_opt:.2f})",
            details,
            None,
            None,
        )
    return Status.PASSED, "tuned lambda: no peak, below the fixed-lambda curve", details, None, None


def _figure(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    wanted = {}
    for name in ("errors_fixed_lambda", "errors_opt_lambda"):
        values, _ = _series(ran, name)
        if values is not None:
            wanted[name] = values
    found: set[str] = set()
    for figure in ran.obs.figures:
        for axes in figure.axes:
            for series in axes.series:
                xy = ran.arrays.get(series.key)
                if xy is None or xy.ndim != 2:
                    continue
                for name, values in wanted.items():
                    if xy.shape[0] == values.size and _plots(xy[:, 1], values):
                        found.add(name)
    if not ran.obs.figures:
        return Status.FAILED, "no figure was drawn", [], None, None
    unread = _curves_only_plotted(ran)
    if unread is not None:
        return unread
    missing = sorted(set(("errors_fixed_lambda", "errors_opt_lambda")) - found)
    if missing:
        return (Status.FAILED, f"the figure does not show {' and '.join(missing)}", [], None, None)
    return Status.PASSED, "the figure shows both test-error curves", [], None, None


def _plots(y: np.ndarray, values: np.ndarray) -> bool:
    """Is `y` the plotted `values`, as they are or as their logarithm (`plt.plot(p, np.log(e))`)?"""
    if np.allclose(y, values, rtol=1e-6, equal_nan=True):
        return True
    if not np.all(values[np.isfinite(values)] > 0):
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        return any(
            np.allclose(y, log(values), rtol=1e-6, atol=1e-9, equal_nan=True)
            for log in (np.log, np.log10, np.log2)
        )


def _curves_only_plotted(ran: Ran) -> Verdict | None:
    """Curves drawn by a script whose globals do not hold them: for a TA, who reads the figure.

    `def main(): ...` keeps its lists local, and results kept under other names are not read:
    the grader cannot tell which drawn curve is which, so it decides nothing. A figure without
    such a curve (the bare starter's empty lists) leaves the failure as it is.
    """
    why = [
        reason for name in ("num_params", *CURVES) for _, reason in [_series(ran, name)] if reason
    ]
    if not why:
        return None
    drawn = [
        f"drawn: '{series.label}' ({series.length} points)"
        for figure in ran.obs.figures
        for axes in figure.axes
        for series in axes.series
        if series.length >= curves.MIN_POINTS
    ]
    if not drawn:
        return None
    message = (
        f"for a TA: {why[0]}, but the script drew {len(drawn)} curve(s) of "
        f">= {curves.MIN_POINTS} points: the curves may be kept elsewhere (inside a function?)"
    )
    return Status.PENDING, message, [*why, *drawn[:6]], None, None


CURVES = ("errors_fixed_lambda", "errors_opt_lambda")


# --- HW1-style training runs (analysis: training_run) -------------------------------------------
def _loss_curve(check: ScriptCheck, ran: Ran) -> tuple[np.ndarray | None, str]:
    """The per-epoch training loss: a global named in `reads.loss_curve`, else a plotted curve.

    The figure is the fallback because a script may reuse the list afterwards (`losses = []`
    before the test loop) while its plot of the training loss still shows what happened.
    """
    names = check.reads.get("loss_curve", check.globals[:1])
    why = "no loss list is named"
    if names:
        listed = ", ".join(f"`{name}`" for name in names)
        why = f"{listed} is not defined" if len(names) == 1 else f"none of {listed} is defined"
    plotted = _plotted_loss(ran)
    for name in names:
        values, reason = _series(ran, name)
        if values is None:
            info = ran.obs.global_info(name)
            if info is not None and info.defined:  # defined but unreadable: say which
                why = reason
        elif plotted is not None and values.size < plotted.size:
            # The list was emptied and refilled after training (the test loop's losses): the
            # plot drawn before that still shows the training curve.
            return plotted, f"the plotted training loss (`{name}` ends with {values.size} value(s))"
        else:
            return values, f"`{name}`"
    if plotted is not None:
        return plotted, "the plotted training loss"
    return None, why


def _plotted_loss(ran: Ran) -> np.ndarray | None:
    """The longest line drawn on axes (or with a label) that says 'loss'."""
    best: np.ndarray | None = None
    for figure in ran.obs.figures:
        for axes in figure.axes:
            axes_text = f"{axes.ylabel} {axes.title}".lower()
            for series in axes.series:
                if series.kind != "line":
                    continue
                text = f"{axes_text} {series.label}".lower()
                xy = ran.arrays.get(series.key)
                if "loss" not in text or xy is None or xy.ndim != 2 or xy.shape[0] < 2:
                    continue
                if best is None or xy.shape[0] > best.size:
                    best = xy[:, 1].astype(float)
    return best


def _epoch_curves(ran: Ran) -> list[str]:
    """Lines drawn against an epoch or step count (x = 0, 1, 2, ... or any evenly spaced run of
    integers), at least `curves.MIN_POINTS` long, described for a TA: what an unlabelled
    `plt.plot(losses)` of a list under a name the rubric does not list looks like. A fit of
    the function (x = a linspace or the data) is not one."""
    drawn = []
    for figure in ran.obs.figures:
        for axes in figure.axes:
            for series in axes.series:
                xy = ran.arrays.get(series.key)
                if series.kind != "line" or xy is None or xy.ndim != 2:
                    continue
                if xy.shape[0] < curves.MIN_POINTS or not np.all(np.isfinite(xy[:, 0])):
                    continue
                x = xy[:, 0]
                steps = np.diff(x)
                if np.all(x == np.round(x)) and steps[0] > 0 and np.all(steps == steps[0]):
                    title = axes.title or axes.ylabel or series.label
                    drawn.append(
                        f"drawn: '{title}' ({series.length} points against x = "
                        f"{x[0]:g}, {x[1]:g}, ...)"
                    )
    return drawn


def _loss_decreases(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    curve, where = _loss_curve(check, ran)
    if curve is None:
        drawn = _epoch_curves(ran)
        if drawn:
            # The loss may well be kept under another name and drawn without the word 'loss':
            # the grader cannot tell which curve it is, a TA reads the figure.
            message = (
                f"for a TA: {where}, but the script drew {len(drawn)} curve(s) against "
                "epochs: the training loss may be kept under another name"
            )
            return Status.PENDING, message, drawn[:6], None, None
        return Status.FAILED, f"no training loss to judge: {where}", [], None, None
    verdict = curves.judge_training_loss(curve)
    status = Status.PASSED if verdict.decreases else Status.FAILED
    hint = "a learning rate too large for the model makes SGD diverge" if verdict.diverged else None
    return status, f"{where}: {verdict.message}", [], hint, None


@dataclass(frozen=True)
class _Reported:
    """The test loss a run reported: ``value``, read from ``where``; or no value, with
    ``unread`` the printed line about it that could not be read (for a TA), or no such line."""

    value: float | None
    where: str
    unread: str | None = None


def _reported_test_loss(check: ScriptCheck, ran: Ran) -> _Reported:
    """The test loss from a global named in `reads.test_loss`, else the last printed value.

    A printed line that is about the test loss but cannot be read with confidence (no number,
    several different ones, a percentage, a label the rubric does not list) is kept apart from
    "nothing printed": the first is the grader's doubt, only the second the student's omission.
    """
    for name in check.reads.get("test_loss", []):
        array = ran.arrays.get(f"global.{name}")
        if array is not None and array.size == 1:
            return _Reported(float(np.ravel(array)[0]), f"`{name}`")
    labels = check.reads.get("test_loss_printed", [])
    reading = curves.read_printed_value(ran.obs.printed.stdout, labels)
    if reading.value is not None:
        return _Reported(reading.value, f"printed: '{reading.line}'")
    if reading.line is not None:
        return _Reported(None, reading.problem, reading.line)
    shown = " or ".join(f"'{x}'" for x in labels)
    return _Reported(None, f"no test loss reported (printed as {shown or 'a labelled value'})")


def _unread_test_loss(check: ScriptCheck, ran: Ran, reported: _Reported) -> Verdict:
    """A printed test loss the grader cannot read: a TA reads it, unless no value could earn
    the credit anyway (the run's own training loss did not decrease)."""
    said = f"the script printed '{reported.unread}' about the test loss"
    curve, curve_where = _loss_curve(check, ran)
    if curve is not None and not curves.judge_training_loss(curve).decreases:
        why = f"{said}, but the training loss in {curve_where} did not decrease"
        return Status.FAILED, why, [], None, None
    message = f"for a TA: {said}, which the grader cannot read: {reported.where}"
    return Status.PENDING, message, [f"printed: {reported.unread}"], None, None


def _test_loss(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    reported = _reported_test_loss(check, ran)
    value, where = reported.value, reported.where
    if value is None:
        if reported.unread is not None:
            return _unread_test_loss(check, ran, reported)
        return Status.FAILED, where, [], "print the test loss, e.g. print(f'Test Loss: {x}')", None
    band = _reference(check, ctx)
    if band is None:
        return Status.SKIPPED, "compared with the reference by the staff", [], None, None
    shown = f"test loss {value:.4g} ({where})"
    details = [band.derivation]
    if not np.isfinite(value):
        return Status.FAILED, f"{shown} is not finite: training diverged", details, None, None
    if not band.low <= value <= band.high:
        return (
            Status.FAILED,
            f"{shown} is outside the range of correct runs [{band.low:.3g}, {band.high:.3g}]",
            details,
            None,
            None,
        )
    in_band = f"{shown} lies in the range of correct runs [{band.low:.3g}, {band.high:.3g}]"
    # A printed number is only as good as the run behind it: it counts when this run's own
    # training loss fell (a script that prints a plausible value without training must not).
    curve, curve_where = _loss_curve(check, ran)
    if curve is None:
        return Status.PENDING, f"{in_band}, but {curve_where}: for a TA", details, None, None
    if not curves.judge_training_loss(curve).decreases:
        why = f"{in_band}, but the training loss in {curve_where} did not decrease"
        return Status.FAILED, why, details, None, None
    return Status.PASSED, in_band, details, None, None


def _draws_loss_list(check: ScriptCheck, ran: Ran) -> str | None:
    """The name of the loss list a drawn line shows (`plt.plot(losses)` on axes titled
    'Training'), as it is or as its logarithm."""
    for name in check.reads.get("loss_curve", check.globals[:1]):
        values, _ = _series(ran, name)
        if values is None or values.size < 2:
            continue
        for figure in ran.obs.figures:
            for axes in figure.axes:
                for series in axes.series:
                    xy = ran.arrays.get(series.key)
                    if xy is None or xy.ndim != 2 or xy.shape[0] != values.size:
                        continue
                    if _plots(xy[:, 1], values):
                        return name
    return None


def _training_figure(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Verdict:
    if not ran.obs.figures:
        return Status.FAILED, "no figure was drawn", [], None, None
    if _plotted_loss(ran) is None:
        shown = _draws_loss_list(check, ran)
        if shown is not None:
            return Status.PASSED, f"the figure shows the training loss (`{shown}`)", [], None, None
        drawn = _epoch_curves(ran)
        if drawn:
            message = (
                f"for a TA: no axes or line is labelled 'loss', but the script drew "
                f"{len(drawn)} curve(s) against epochs: one may be the training loss"
            )
            return Status.PENDING, message, drawn[:6], "label the axes: plt.ylabel('loss')", None
        return (
            Status.FAILED,
            "no figure shows the training loss (no axes or line labelled 'loss')",
            [],
            "label the axes: plt.ylabel('loss')",
            None,
        )
    return Status.PASSED, "the figure shows the training loss", [], None, None


def _training_plot(check: ScriptCheck, ran: Ran, ctx: GradingContext) -> Plot | None:
    curve, where = _loss_curve(check, ran)
    if curve is None:
        return None
    epochs = [float(i) for i in range(min(curve.size, 5000))]
    return Plot(
        title=f"training loss ({where.strip('`')})",
        xlabel="epoch",
        ylabel="loss",
        series=[Series(label="training loss", panel="yours", x=epochs, y=_floats(curve))],
    )


# --- the analyses ----------------------------------------------------------------------------
AspectJudge = Callable[[ScriptCheck, Ran, GradingContext], Verdict]
PlotMaker = Callable[[ScriptCheck, Ran, GradingContext], Plot | None]


@dataclass(frozen=True)
class Analysis:
    """How one kind of script is judged: a judge per aspect (`rubric.SCRIPT_ANALYSES` names
    them) and the plot shown with the `figure` aspect."""

    aspects: dict[str, AspectJudge]
    plot: PlotMaker | None = None


ANALYSES: dict[str, Analysis] = {
    "double_descent": Analysis(
        {
            "runs": _runs,
            "fixed_curve": _fixed_curve,
            "tuned_curve": _tuned_curve,
            "figure": _figure,
        },
        _plot,
    ),
    "training_run": Analysis(
        {
            "runs": _runs,
            "loss_decreases": _loss_decreases,
            "test_loss": _test_loss,
            "figure": _training_figure,
        },
        _training_plot,
    ),
    # what the run left is judged by the homework's custom checks (the `script_run` fixture)
    "observe": Analysis({"runs": _runs}),
}
