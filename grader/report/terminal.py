"""The rich terminal report. It only reads a `GradeReport`; it computes no result.

Everything a student or a rubric wrote goes to rich as a `Text`, never as a string: rich parses
strings as markup (`[/x]` in an exception message crashed the report) and emoji codes.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.results import CheckResult, GradeReport, ProblemResult, Status, SubmissionResult

MARKS = {
    Status.PASSED: ("✓", "green"),
    Status.FAILED: ("✗", "red"),
    Status.ERROR: ("!", "bold red"),
    Status.PENDING: ("…", "yellow"),
    Status.SKIPPED: ("-", "dim"),
}


MAX_DETAILS = 14  # a values check names up to 12 wrong quantities; a TA's excerpt can run on


def _points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


def _check_lines(check: CheckResult) -> Text:
    """The check's one text (`CheckResult.text`), in its order, below a line with the mark and
    the points."""
    mark, style = MARKS[check.status]
    said = check.text()
    text = Text()
    text.append(f"  {mark} ", style=style)
    text.append(f"{check.id}", style="bold")
    if check.max_score or check.score:
        points = _points(check.score, check.max_score)
        if check.partly_decided:  # the score counts; only the rest waits for a TA
            points += f", up to {check.pending_points:g} more for a TA"
        text.append(f" [{points}]", style="dim")
    text.append(f"  {said.message}")
    if said.location:
        text.append(f"\n      at {said.location}", style="cyan")
    if said.hint:
        text.append(f"\n      hint: {said.hint}", style="yellow")
    for detail in said.details[:MAX_DETAILS]:
        text.append(f"\n      {detail}", style="dim")
    hidden = len(said.details) - MAX_DETAILS
    if hidden > 0:  # every line is in --json and in --out's feedback files
        text.append(f"\n      … {hidden} more line(s): see --json or --out feedback/", style="dim")
    return text


def _pending(problem: ProblemResult) -> float:
    """The most a TA can still add to this problem (never in its score)."""
    return sum(c.pending_points for c in problem.checks)


def _problem_style(problem: ProblemResult) -> str:
    """Green when full, yellow when only a TA's points are missing (nothing is wrong yet), red
    when points were lost."""
    if problem.score >= problem.max_score:
        return "green"
    if problem.score + _pending(problem) >= problem.max_score - 1e-9:
        return "yellow"
    return "red"


def _with_pending(points: str, pending: float) -> str:
    return f"{points} (+{pending:g} pending)" if pending else points


def render_submission(sub: SubmissionResult) -> Panel:
    parts: list[Text | Table] = []
    if sub.error:
        parts.append(Text(f"not graded: {sub.error}", style="bold red"))
    for note in sub.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    for problem in sub.problems:
        header = Text()
        header.append(f"{problem.id}", style="bold")
        header.append(f" {problem.title}  ")
        points = _with_pending(_points(problem.score, problem.max_score), _pending(problem))
        header.append(points, style=_problem_style(problem))
        parts.append(header)
        parts.extend(_check_lines(c) for c in problem.checks)
    pending = sum(_pending(p) for p in sub.problems)
    title = Text()
    title.append(sub.student, style="bold")
    title.append(f"  {sub.homework}  {_with_pending(_points(sub.score, sub.max_score), pending)}")
    return Panel(Group(*parts), title=title, title_align="left")


def _summary_cell(problem: ProblemResult) -> Text:
    """A problem's score in the class table; what a TA may still add is shown beside it, so a
    problem waiting for a TA never reads as a 0 the student earned."""
    pending = _pending(problem)
    if not pending:
        return Text(f"{problem.score:g}")
    if problem.score == 0 and not any(c.status is not Status.PENDING for c in problem.checks):
        return Text(f"+{pending:g}?", style="yellow")  # nothing decided yet
    return Text(f"{problem.score:g} +{pending:g}?", style="yellow")


def render_summary(subs: list[SubmissionResult], title: str = "Class summary") -> Table:
    """One row per student; a problem's maximum sits under its name in the header, so a
    homework of ten problems still fits a terminal."""
    maxima: dict[str, float] = {}
    for sub in subs:
        for p in sub.problems:
            maxima.setdefault(p.id, p.max_score)
    table = Table(title=Text(title), caption="+N?: up to N points still to be graded by a TA")
    table.add_column("student", no_wrap=True)
    for pid, max_score in maxima.items():
        table.add_column(Text(f"{pid}\n/{max_score:g}"), justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold", no_wrap=True)
    table.add_column("pending\n(points)", justify="right")
    table.add_column("errors", justify="right")
    for sub in subs:
        cells = {p.id: _summary_cell(p) for p in sub.problems}
        checks = [c for p in sub.problems for c in p.checks]
        pending = sum(c.status is Status.PENDING for c in checks)
        # the most a TA can add: a partly graded check's decided points are in the total
        open_points = sum(c.pending_points for c in checks)
        errors = sum(c.status is Status.ERROR for c in checks) + (1 if sub.error else 0)
        table.add_row(
            Text(sub.student),
            *(cells.get(pid, Text("-")) for pid in maxima),
            _points(sub.score, sub.max_score),
            f"{pending} ({open_points:g})" if pending else "0",
            str(errors),
        )
    return table


# A bin nobody fell in is a dot, never a blank: a right-justified cell loses its trailing
# blanks, which drew an all-zero problem (`█    `) exactly like an all-full one (`    █`).
EMPTY_BIN = "·"
BARS = "▁▂▃▄▅▆▇█"


def histogram(fractions: list[float], bins: int = 5) -> str:
    """Scores as a fraction of the maximum, in `bins` bins from 0 to full marks, as bar glyphs:
    any non-empty bin shows at least the lowest bar, an empty one a dot."""
    counts = [0] * bins
    for f in fractions:
        counts[min(max(int(f * bins), 0), bins - 1)] += 1
    top = max(counts) or 1
    return "".join(
        BARS[max(round(c / top * (len(BARS) - 1)), 0)] if c else EMPTY_BIN for c in counts
    )


def render_problem_stats(subs: list[SubmissionResult], title: str = "Per problem") -> Table:
    """Per problem: mean, share of students with full marks, and the spread of scores, over the
    students whose problem is decided: one still waiting for a TA would count as a 0."""
    table = Table(title=Text(title))
    for column in ("problem", "mean", "full marks", "0 … full"):
        table.add_column(column, justify="left" if column == "problem" else "right")
    graded = [s for s in subs if s.error is None]
    by_problem: dict[str, list[ProblemResult]] = {}
    for sub in graded:
        for p in sub.problems:
            by_problem.setdefault(p.id, []).append(p)
    for pid, problems in by_problem.items():
        max_score = problems[0].max_score or 1.0
        decided = [p for p in problems if not _pending(p)]
        waiting = len(problems) - len(decided)
        suffix = f" ({waiting} pending)" if waiting else ""
        if not decided:
            table.add_row(Text(pid), Text(f"for a TA{suffix}", style="yellow"), "", "")
            continue
        mean = sum(p.score for p in decided) / len(decided)
        full = sum(p.score >= p.max_score for p in decided) / len(decided)
        table.add_row(
            Text(pid),
            f"{mean:.2f}/{max_score:g}{suffix}",
            f"{full:.0%}",
            histogram([p.score / max_score for p in decided]),
        )
    return table


def render_failures(report: GradeReport) -> Table | None:
    """Students whose grading errored, with the reason: the ones a TA must look at first."""
    rows = []
    several = len({sub.homework for sub in report.submissions}) > 1
    for sub in report.submissions:
        who = f"{sub.student} ({sub.homework})" if several else sub.student
        if sub.error:
            rows.append((who, sub.error))
            continue
        for p in sub.problems:
            for c in p.checks:
                if c.status is Status.ERROR:
                    rows.append((who, f"{p.id} {c.id}: {c.message}"))
                    break
            else:
                continue
            break
    if not rows:
        return None
    table = Table(title="Errors (first per student)")
    table.add_column("student")
    table.add_column("reason")
    for student, reason in rows:
        table.add_row(Text(student), Text(reason))
    return table


def render_warnings(report: GradeReport, console: Console) -> None:
    for warning in report.warnings:
        console.print(Panel(Text(warning), title="warning", style="bold yellow"))


def render(report: GradeReport, console: Console) -> None:
    render_warnings(report, console)
    for sub in report.submissions:
        console.print(render_submission(sub))
    if len(report.submissions) > 1:
        render_class(report, console)


def render_class(report: GradeReport, console: Console) -> None:
    """Per homework (a batch can hold several, each with its own problems): the class table
    and the per-problem statistics; then the errors of all of them."""
    by_homework: dict[str, list[SubmissionResult]] = {}
    for sub in report.submissions:
        by_homework.setdefault(sub.homework, []).append(sub)
    several = len(by_homework) > 1
    for homework, subs in sorted(by_homework.items()):
        suffix = f": {homework}" if several else ""
        console.print(render_summary(subs, f"Class summary{suffix}"))
        console.print(render_problem_stats(subs, f"Per problem{suffix}"))
    failures = render_failures(report)
    if failures is not None:
        console.print(failures)
