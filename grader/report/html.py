"""A static HTML report of a class: `--out DIR` writes it under DIR/html/.

- `index.html`: the class (one sortable table per homework, per-problem distributions and
  pending counts, links to every student's pages);
- `staff/<student>.html`: everything about one student, for course staff (each check with its
  reason, the student's own lines with the one at fault highlighted, the curves beside the
  reference's, TA prompts and decisions);
- `students/<student>.html`: the copy to send back, without what the rubric hides or only staff
  see (hidden checks, TA prompts, reference values: a line that states one is withheld whole,
  figures that draw the reference's curves are left out).

No server and no network: styles and the sorting script are inline, figures are inline PNGs.
Like every export it only reads the report, and everything a student wrote is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

from grader.report.exports import figure_paths, file_stems, not_final
from grader.report.staff import StaffOnly
from grader.results import (
    CheckResult,
    GradeReport,
    ProblemResult,
    Status,
    SubmissionResult,
    said_once,
)

HTML_DIR = "html"
CONTEXT_LINES = 3  # of the student's file around a highlighted line
MAX_SOURCE_BYTES = 2 * 2**20  # read of one student file for an excerpt; beyond, no excerpt
WITHHELD = "(withheld from this copy: it states a value of the reference solution)"

MARKS = {
    Status.PASSED: ("✓", "passed"),
    Status.FAILED: ("✗", "failed"),
    Status.ERROR: ("!", "error"),
    Status.PENDING: ("…", "pending"),
    Status.SKIPPED: ("-", "skipped"),
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:70rem;padding:0 .8rem;
color:#222;line-height:1.4}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.6rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5rem 0}
th,td{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th[data-sort]{cursor:pointer;user-select:none;background:#f4f4f4}
th[data-sort]:after{content:" ⇅";color:#999}
.check{border-left:4px solid #ccc;padding:.3rem .6rem;margin:.5rem 0;overflow-wrap:anywhere}
.passed{border-color:#2a7}.failed,.error{border-color:#c33}.pending{border-color:#d90}
.skipped{border-color:#bbb;color:#666}
.mark{font-weight:bold;margin-right:.3rem}.pts{color:#555;margin-left:.4rem}
pre{background:#f7f7f7;padding:.4rem;overflow-x:auto;font-size:.85rem;margin:.3rem 0}
pre .hl{background:#fff0a0;display:block}
.staff{background:#eef4ff;padding:.2rem .4rem;margin:.2rem 0}
.review{background:#f0fff0;padding:.2rem .4rem;margin:.2rem 0}
.note{color:#a60}.dist{font-family:monospace;letter-spacing:.1rem}
img{max-width:100%;height:auto}
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var down = th.getAttribute("aria-sort") !== "ascending";
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-value");
        var y = b.cells[column].getAttribute("data-value");
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return down ? order : -order;
      });
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", down ? "ascending" : "descending");
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _points(value: float) -> str:
    return f"{_num(value)} point" + ("" if _num(value) == "1" else "s")


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
            *body,
            f"<script>{SORT_SCRIPT}</script>",
            "</body></html>",
            "",
        ]
    )


# --------------------------------------------------------------------------------------------
# the student's own lines


def source_excerpt(root: Path | None, check: CheckResult) -> tuple[list[str], int] | None:
    """Up to CONTEXT_LINES lines either side of the line a check points at in the student's
    file, and the index of that line; None when there is no such line to show. The path is
    the report's, relative to the student's folder, and must stay inside it."""
    source = check.source
    if root is None or source is None or not source.line:
        return None
    given = root / source.file
    path = given.resolve()
    if given.is_symlink() or not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_SOURCE_BYTES:
        return None
    lines = raw.decode("utf-8", errors="replace").splitlines()
    at = source.line - 1
    if not 0 <= at < len(lines):
        return None
    start = max(at - CONTEXT_LINES, 0)
    return lines[start : at + CONTEXT_LINES + 1], at - start


def _pre(lines: list[str], highlight: int | None, first_number: int | None = None) -> str:
    shown = []
    for n, line in enumerate(lines):
        number = f"{first_number + n:>4}  " if first_number is not None else ""
        text = _e(number + line)
        shown.append(f'<span class="hl">{text}</span>' if n == highlight else text)
    # highlighted spans are blocks: no newline after them, or the line doubles
    joined = ""
    for n, part in enumerate(shown):
        joined += part + ("" if n == highlight or n == len(shown) - 1 else "\n")
    return f"<pre>{joined}</pre>"


# --------------------------------------------------------------------------------------------
# a student's page


class _View:
    """What one copy of a page may show: all of it (staff) or the student's share."""

    def __init__(self, staff: StaffOnly, for_student: bool) -> None:
        self.staff = staff
        self.for_student = for_student

    def text(self, line: str) -> str:
        if self.for_student and self.staff.reveals(line):
            return WITHHELD
        return line

    def shows(self, homework: str, problem: str, check: CheckResult) -> bool:
        return not (self.for_student and (homework, problem, check.id) in self.staff.hidden)


def _check_points(check: CheckResult) -> str:
    points = f"{_num(check.score)}/{_num(check.max_score)}"
    if check.status is Status.PENDING:
        points += f", up to {_points(check.pending_points)} for a TA"
    return points


def _review_html(check: CheckResult, view: _View) -> list[str]:
    review = check.review
    if review is None:
        return []
    if review.applied:
        who = "" if view.for_student else f" ({_e(review.by or '?')}, {_e(review.at)})"
        kind = "overridden by a TA" if review.overridden else "graded by a TA"
        if review.overridden:
            was = f"{MARKS[review.automatic_status][1]}, {_num(review.automatic_score)}"
            kind += f"; the automatic verdict was {was}"
        comment = _e(view.text(review.comment))
        return [f'<div class="review">{_e(check.id)}: {kind}{who}: {comment}</div>']
    if view.for_student:
        return []
    return [
        f'<div class="staff">{_e(check.id)}: reopened decision ({_e(review.by)}): '
        f"{_e(review.reason)}; was {_num(review.points or 0)}: {_e(review.comment)}</div>"
    ]


def _check_html(
    sub: SubmissionResult,
    problem: ProblemResult,
    group: list[CheckResult],
    root: Path | None,
    view: _View,
) -> list[str]:
    """One check, or checks that say the same thing (`said_once`): said once, under them all."""
    check = group[0]
    mark, css = MARKS[check.status]
    said = check.text()
    names = []
    for each in group:
        title = f" ({_e(each.title)})" if each.title else ""
        names.append(
            f'<b>{_e(each.id)}</b>{title}<span class="pts">[{_e(_check_points(each))}]</span>'
        )
    out = [
        f'<div class="check {css}" id="{_e(problem.id)}-{_e(check.id)}">',
        f'<span class="mark">{mark}</span>' + ", ".join(names),
        f"<div>{_e(view.text(said.message))}</div>",
    ]
    for each in group:
        out.extend(_review_html(each, view))
    if said.location:
        out.append(f"<div>at <code>{_e(said.location)}</code></div>")
    excerpt = source_excerpt(root, check)
    if excerpt is not None and check.source is not None and check.source.line:
        lines, at = excerpt
        lines = [view.text(line) for line in lines]
        out.append(_pre(lines, at, first_number=check.source.line - at))
    if said.hint:
        out.append(f"<div>hint: {_e(view.text(said.hint))}</div>")
    if said.details:
        out.append(_pre([view.text(line) for line in said.details], None))
    for each in group:
        prompt = view.staff.prompts.get((sub.homework, problem.id, each.id))
        if prompt and not view.for_student:
            out.append(f'<div class="staff">TA prompt ({_e(each.id)}): {_e(prompt)}</div>')
    return [*out, "</div>"]


def _figure_html(path: Path | None) -> list[str]:
    if path is None or not path.is_file():
        return []
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return [
        '<figure><img alt="your curves beside the reference\'s" '
        f'src="data:image/png;base64,{data}"></figure>'
    ]


def student_page(
    sub: SubmissionResult,
    root: Path | None,
    view: _View,
    figures: Mapping[str, Path],
    links: str = "",
) -> str:
    heading = f"{sub.student} · {sub.homework}"
    pending = sum(c.pending_points for p in sub.problems for c in p.checks)
    body = [links, f"<h1>{_e(heading)}</h1>"]
    total = f"Total: {_num(sub.score)} / {_points(sub.max_score)}"
    if pending:
        total += f" (up to {_points(pending)} still to be graded by a TA)"
    body.append(f"<p><b>{_e(total)}</b></p>")
    final = not_final(sub)
    if final:
        body.append(f'<p class="note">Not the grade yet: {_e(final)}.</p>')
    if sub.error:
        body.append(f'<p class="note">Not graded: {_e(view.text(sub.error))}</p>')
    body.extend(f'<p class="note">note: {_e(view.text(note))}</p>' for note in sub.notes)
    for problem in sub.problems:
        checks = [c for c in problem.checks if view.shows(sub.homework, problem.id, c)]
        if not checks:
            continue
        score = f"{_num(problem.score)} / {_num(problem.max_score)}"
        title = f"{problem.id} {problem.title}".strip()
        body.append(f"<h2>{_e(title)} · {_e(score)}</h2>")
        if not view.for_student:
            body.extend(_figure_html(figures.get(problem.id)))
        for group in said_once(checks):
            body.extend(_check_html(sub, problem, group, root, view))
    return _page(heading, body)


# --------------------------------------------------------------------------------------------
# the class page


BARS = "▁▂▃▄▅▆▇█"


def _distribution(scores: list[float], max_score: float, bins: int = 5) -> str:
    counts = [0] * bins
    for score in scores:
        counts[min(max(int(score / (max_score or 1.0) * bins), 0), bins - 1)] += 1
    top = max(counts) or 1
    return "".join(BARS[round(c / top * 7)] if c else "·" for c in counts)


def _class_table(homework: str, subs: list[SubmissionResult], stems: dict) -> list[str]:
    maxima: dict[str, float] = {}
    for sub in subs:
        for p in sub.problems:
            maxima.setdefault(p.id, p.max_score)
    head = ['<th data-sort="text">student</th>']
    head += [f'<th data-sort="num">{_e(pid)} /{_num(m)}</th>' for pid, m in maxima.items()]
    head += ['<th data-sort="num">total</th>', '<th data-sort="num">pending points</th>']
    head.append("<th>pages</th>")
    rows = []
    for sub in subs:
        stem = stems[(sub.student, sub.homework)]
        scores = {p.id: p for p in sub.problems}
        cells = [f'<td data-value="{_e(sub.student)}">{_e(sub.student)}</td>']
        for pid in maxima:
            found = scores.get(pid)
            value = _num(found.score) if found else ""
            waiting = found is not None and any(c.status is Status.PENDING for c in found.checks)
            cells.append(f'<td data-value="{value}">{value}{"…" if waiting else ""}</td>')
        pending = sum(c.pending_points for p in sub.problems for c in p.checks)
        cells.append(f'<td data-value="{_num(sub.score)}">{_num(sub.score)}</td>')
        cells.append(f'<td data-value="{_num(pending)}">{_num(pending)}</td>')
        cells.append(
            f'<td><a href="staff/{_e(stem)}.html">staff</a> · '
            f'<a href="students/{_e(stem)}.html">student copy</a></td>'
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return [
        f"<h2>{_e(homework)}</h2>",
        '<div class="scroll"><table class="sortable">',
        "<thead><tr>" + "".join(head) + "</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody></table></div>",
        '<p class="note">…: points still to be graded by a TA (not in the total yet). '
        "Click a column's name to sort by it.</p>",
        *_problem_stats(subs, maxima),
    ]


def _problem_stats(subs: list[SubmissionResult], maxima: dict[str, float]) -> list[str]:
    rows = []
    for pid, max_score in maxima.items():
        problems = [p for s in subs for p in s.problems if p.id == pid and not s.error]
        decided = [p for p in problems if not any(c.status is Status.PENDING for c in p.checks)]
        waiting = len(problems) - len(decided)
        mean = _num(sum(p.score for p in decided) / len(decided)) if decided else "-"
        spread = _distribution([p.score for p in decided], max_score) if decided else ""
        rows.append(
            f"<tr><td>{_e(pid)}</td><td>{mean}</td><td>{len(decided)}</td><td>{waiting}</td>"
            f'<td class="dist">{spread}</td></tr>'
        )
    return [
        '<div class="scroll"><table>',
        "<thead><tr><th>problem</th><th>mean (decided)</th><th>decided</th>"
        "<th>pending</th><th>0 … full</th></tr></thead>",
        "<tbody>",
        *rows,
        "</tbody></table></div>",
    ]


def class_page(report: GradeReport, stems: dict) -> str:
    body = ["<h1>Class report</h1>"]
    body.extend(f'<p class="note">warning: {_e(w)}</p>' for w in report.warnings)
    by_homework: dict[str, list[SubmissionResult]] = {}
    for sub in sorted(report.submissions, key=lambda s: s.student):
        by_homework.setdefault(sub.homework, []).append(sub)
    for homework, subs in sorted(by_homework.items()):
        body.extend(_class_table(homework, subs, stems))
    return _page("Class report", body)


# --------------------------------------------------------------------------------------------
# writing


def write_site(
    report: GradeReport,
    out_dir: Path,
    staff: StaffOnly,
    roots: Mapping[tuple[str, str], Path] | None = None,
) -> list[Path]:
    """Write the site under out_dir/html/; `roots` maps (student, homework) to the student's
    folder, for the excerpts of their own files (students without one get none)."""
    site = out_dir / HTML_DIR
    stems = file_stems(report)
    figures: dict[tuple[str, str], Path] = dict(figure_paths(report, out_dir))
    written = [_write(site / "index.html", class_page(report, stems))]
    for sub in report.submissions:
        stem = stems[(sub.student, sub.homework)]
        root = (roots or {}).get((sub.student, sub.homework))
        mine = {pid: path for (student, pid), path in figures.items() if student == sub.student}
        back = '<p><a href="../index.html">class</a></p>'
        for folder, for_student in (("staff", False), ("students", True)):
            view = _View(staff, for_student)
            page = student_page(sub, root, view, mine, "" if for_student else back)
            written.append(_write(site / folder / f"{stem}.html", page))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", errors="replace"))
    return path
