"""The rich terminal report. It only reads a `GradeReport`; it computes no result.

Everything a student or a rubric wrote goes to rich as a `Text`, never as a string: rich parses
strings as markup (`[/x]` in an exception message crashed the report) and emoji codes.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.results import (
    CheckResult,
    Completeness,
    GradeReport,
    ProblemResult,
    Status,
    SubmissionResult,
    said_once,
)

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


def _check_points(check: CheckResult) -> str:
    if not (check.max_score or check.score):
        return ""
    points = _points(check.score, check.max_score)
    if check.partly_decided:  # the score counts; only the rest waits for a TA
        points += f", up to {check.pending_points:g} more for a TA"
    return f" [{points}]"


def _check_lines(group: CheckResult | list[CheckResult], limit: int = MAX_DETAILS) -> Text:
    """What one or more checks say (`CheckResult.text`: the same for all of them, see
    `said_once`), in its order, below a line with the mark, each check's id and points."""
    checks = group if isinstance(group, list) else [group]
    check = checks[0]
    mark, style = MARKS[check.status]
    said = check.text()
    text = Text()
    text.append(f"  {mark} ", style=style)
    for n, each in enumerate(checks):
        if n:
            text.append(", ")
        text.append(f"{each.id}", style="bold")
        text.append(_check_points(each), style="dim")
    text.append(f"  {said.message}")
    if said.location:
        text.append(f"\n      at {said.location}", style="cyan")
    if said.hint:
        text.append(f"\n      hint: {said.hint}", style="yellow")
    for detail in said.details[:limit]:
        text.append(f"\n      {detail}", style="dim")
    hidden = len(said.details) - limit
    if hidden > 0:  # every line is in --json and in --out's feedback files
        text.append(f"\n      … {hidden} more line(s): see --json or --out feedback/", style="dim")
    for each in checks:
        text.append_text(_review_line(each))
    return text


def _review_line(check: CheckResult) -> Text:
    """What course staff decided about a check, when it is not what the judges decided."""
    review = check.review
    if review is None:
        return Text()
    who = f" by {review.by}" if review.by else ""
    if review.state != "applied":
        return Text(
            f"\n      {check.id}: the TA's {review.kind}{who} was reopened ({review.reason})",
            style="yellow",
        )
    if review.overridden:
        was = f"{review.automatic_status.value} {review.automatic_score:g}/{check.max_score:g}"
        return Text(f"\n      {check.id}: overridden{who}; automatically {was}", style="magenta")
    return Text()


def _pending(problem: ProblemResult) -> float:
    """The most a TA can still add to this problem (never in its score)."""
    return sum(c.pending_points for c in problem.checks)


def _staff(checks: list[CheckResult]) -> float:
    """Points only the course staff's run can decide (a students' copy has no reference)."""
    return sum(c.max_score for c in checks if c.for_staff)


def _style(score: float, max_score: float, pending: float, staff: float) -> str:
    """Green when nothing was lost (points only the course staff can check are not lost),
    yellow when only a TA's points are missing (nothing is wrong yet), red when points were
    lost."""
    if score + staff >= max_score - 1e-9:
        return "green"
    if score + staff + pending >= max_score - 1e-9:
        return "yellow"
    return "red"


def _problem_style(problem: ProblemResult) -> str:
    return _style(problem.score, problem.max_score, _pending(problem), _staff(problem.checks))


def _with_pending(points: str, pending: float) -> str:
    return f"{points} (+{pending:g} pending)" if pending else points


def score_text(score: float, max_score: float, pending: float, staff: float) -> str:
    """`24/30 (+6 pending)`; in a students' copy, where `staff` points can only be checked by
    the course staff, what was checkable here instead: "7 of 7 points checkable here; 17
    checked by the course staff; 6 graded by a TA", never a bare `7/30` that reads as a fail."""
    if not staff:
        return _with_pending(_points(score, max_score), pending)
    checkable = max(max_score - staff - pending, 0.0)
    parts = [f"{score:g} of {checkable:g} points checkable here"]
    parts.append(f"{staff:g} checked by the course staff")
    if pending:
        parts.append(f"{pending:g} graded by a TA")
    return "; ".join(parts)


OPEN = (Status.FAILED, Status.ERROR, Status.PENDING)  # what a TA has to look at
BRIEF_DETAILS = 3  # in the class view; --full shows up to MAX_DETAILS


def needs_attention(sub: SubmissionResult) -> bool:
    """Whether a TA has anything to look at: grading failed, or a check failed, crashed or
    waits for them."""
    return bool(sub.error) or any(c.status in OPEN for p in sub.problems for c in p.checks)


def render_submission(sub: SubmissionResult, brief: bool = False) -> Panel:
    """A student's panel: every check, or with `brief` only the checks a TA has to look at
    (failed, crashed, pending), each with at most `BRIEF_DETAILS` lines of details."""
    parts: list[Text | Table] = []
    if sub.error:
        why = sub.error.removeprefix("not graded: ")  # a budget's reason says it already
        parts.append(Text(f"not graded: {why}", style="bold red"))
    for note in sub.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    left_out = 0
    for problem in sub.problems:
        checks = [c for c in problem.checks if c.status in OPEN] if brief else problem.checks
        left_out += len(problem.checks) - len(checks)
        if not checks:
            continue
        header = Text()
        header.append(f"{problem.id}", style="bold")
        header.append(f" {problem.title}  ")
        staff = _staff(problem.checks)
        points = score_text(problem.score, problem.max_score, _pending(problem), staff)
        header.append(points, style=_problem_style(problem))
        parts.append(header)
        limit = BRIEF_DETAILS if brief else MAX_DETAILS
        parts.extend(_check_lines(group, limit) for group in said_once(checks))
    if brief and left_out:
        parts.append(Text(f"({left_out} other checks passed or were not run: --full)", "dim"))
    pending = sum(_pending(p) for p in sub.problems)
    staff = sum(_staff(p.checks) for p in sub.problems)
    title = Text()
    title.append(sub.student, style="bold")
    title.append(f"  {sub.homework}  ")
    title.append(
        score_text(sub.score, sub.max_score, pending, staff),
        style=_style(sub.score, sub.max_score, pending, staff) if staff else "",
    )
    if sub.completeness is not Completeness.COMPLETE:
        title.append(f"  {sub.completeness.value}", style="bold yellow")
    return Panel(Group(*parts), title=title, title_align="left")


# What a marked cell means, said under the table when such a cell is in it.
SUMMARY_KEY = {
    "…": "…: points still to be graded by a TA",
    "-": "-: not run",
    "(": "(N): partly run",
}


def _summary_cell(problem: ProblemResult) -> Text:
    """A problem's score in the class table; what a TA may still add is shown beside it, so a
    problem waiting for a TA never reads as a 0 the student earned."""
    pending = _pending(problem)
    if all(c.not_run for c in problem.checks) and problem.checks:
        return Text("-", style="dim")  # deselected by -k or cut off: no score at all
    if any(c.not_run for c in problem.checks):
        return Text(f"({problem.score:g})", style="yellow")
    if not pending:
        return Text(f"{problem.score:g}")
    # One character, not the points: a class table of ten problems must fit 80 columns, and
    # the `pending` column beside the total says how many points wait.
    if problem.score == 0 and all(c.status is Status.PENDING for c in problem.checks):
        return Text("…", style="yellow")  # nothing decided yet
    return Text(f"{problem.score:g}…", style="yellow")


def _total_cell(sub: SubmissionResult) -> Text:
    """The total, and `partial` or `unfinished` when it is not the homework's."""
    total = _points(sub.score, sub.max_score)
    if sub.completeness is Completeness.COMPLETE:
        return Text(total)
    return Text(f"{total} {sub.completeness.value}", style="yellow")


def render_summary(subs: list[SubmissionResult], title: str = "Class summary") -> Table:
    """One row per student; a problem's maximum sits under its name in the header, so a
    homework of ten problems still fits a terminal."""
    maxima: dict[str, float] = {}
    for sub in subs:
        for p in sub.problems:
            maxima.setdefault(p.id, p.max_score)
    # No vertical rules and one space between columns: ten problems, a total and the counts
    # fit 80 columns (boxed, they squeezed the pending and error counts out of sight).
    table = Table(
        title=Text(title),
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("student", no_wrap=True)
    for pid, max_score in maxima.items():
        table.add_column(Text(f"{pid}\n/{max_score:g}"), justify="right", no_wrap=True)
    table.add_column("total", justify="right", style="bold", no_wrap=True)
    table.add_column("pending\n(points)", justify="right")
    table.add_column("errors", justify="right")
    rows: list[dict[str, Text]] = []
    for sub in subs:
        cells = {p.id: _summary_cell(p) for p in sub.problems}
        rows.append(cells)
        checks = [c for p in sub.problems for c in p.checks]
        pending = sum(c.status is Status.PENDING for c in checks)
        # the most a TA can add: a partly graded check's decided points are in the total
        open_points = sum(c.pending_points for c in checks)
        errors = sum(c.status is Status.ERROR for c in checks) + (1 if sub.error else 0)
        table.add_row(
            Text(sub.student),
            *(cells.get(pid, Text("-")) for pid in maxima),
            _total_cell(sub),
            f"{pending} ({open_points:g})" if pending else "0",
            str(errors),
        )
    shown = "".join(cell.plain for row in rows for cell in row.values())
    keys = [text for mark, text in SUMMARY_KEY.items() if mark in shown]
    table.caption = " · ".join(keys) or None
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
    students whose problem is decided: one still waiting for a TA, or not run (-k, Ctrl-C),
    would count as a 0."""
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
        judged = [p for p in problems if not any(c.not_run for c in p.checks)]
        decided = [p for p in judged if not _pending(p)]
        waiting = len(judged) - len(decided)
        suffix = f" ({waiting} pending)" if waiting else ""
        if not judged:
            table.add_row(Text(pid), Text("not run", style="dim"), "", "")
            continue
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


def render(report: GradeReport, console: Console, full: bool = False) -> None:
    """The whole report. `full`: every check of every student, then the class tables (one
    student gets this always). Otherwise a view that fits a class: the tables first, then only
    the students a TA has to look at, with only what they have to look at."""
    render_warnings(report, console)
    if full or len(report.submissions) <= 1:
        for sub in report.submissions:
            console.print(render_submission(sub))
        if len(report.submissions) > 1:
            render_class(report, console)
        return
    render_class(report, console)
    shown = [sub for sub in report.submissions if needs_attention(sub)]
    for sub in shown:
        console.print(render_submission(sub, brief=True))
    quiet = len(report.submissions) - len(shown)
    console.print(
        Text(
            f"{len(shown)} student(s) with failed, crashed or pending checks shown"
            + (f"; {quiet} with nothing to look at not shown" if quiet else "")
            + "; --full shows every check of every student",
            style="dim",
        )
    )


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
