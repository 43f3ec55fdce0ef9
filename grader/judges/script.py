"""The `script` check kind: a student script run as written; its globals and figures judged.

This module observes the run (once per student) and hands each aspect to the check's analysis
(`grader.judges.analysis`: the grader's standard library or the homework's own), then turns its
verdict into the check's result: a failure of a script rebuilt from a writeup with doubts goes to
a TA, and the analysis' plot is drawn beside its `plot_with` aspect. Credit is split so the parts
that were done still count.
"""

from __future__ import annotations

import ast
import re

from grader.judges.analysis import Ran, draw_plot, judge_aspect, resolve
from grader.judges.context import GradingContext, Verdict, result
from grader.judges.crashes import locator
from grader.judges.planning import script_target
from grader.judges.sources import missing
from grader.results import CheckResult, Status
from grader.rubric import Problem, ScriptCheck
from grader.sandbox.observations import ScriptObservation

__all__ = ["Ran", "judge_script", "observed_run"]


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
    analysis = resolve(check.analysis, ctx.rubric.source)
    verdict = judge_aspect(check.analysis, analysis, part, check, ran, ctx)
    status, message, details, hint, source = verdict
    doubts = _assembly_doubts(ctx, ran.file)
    if status in (Status.FAILED, Status.ERROR) and doubts:
        # Rebuilt from a writeup with doubts (e.g. indentation lost at a page break): the failure
        # may be our parser's, so a TA decides.
        status = Status.PENDING
        message = f"for a TA: {message} (the script was rebuilt from a writeup)"
        details = [*details, *doubts]
    score = points if status is Status.PASSED else 0.0
    plot = (
        draw_plot(check.analysis, analysis, check, ran, ctx) if part == analysis.plot_with else None
    )
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
        if target.candidates:  # renamed, and the grader cannot tell which file, if any, is it
            could = "could each be it" if len(target.candidates) > 1 else "may be it"
            return (
                Status.PENDING,
                f"for a TA: no {check.file} was found, and {', '.join(target.candidates)} "
                f"{could} under another name",
                [],
                None,
                None,
            )
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
