"""Files course staff hand to other tools: a grade sheet, JSON, JUnit XML, Gradescope, feedback.

Like `report`, this module only *reads* a `GradeReport`: every number in every file is a number
the judges already put in the report, so an export can never disagree with the terminal.

Exports are deterministic (the same report gives byte-identical files) so that a re-run can be
diffed, committed or checksummed: students are sorted, keys keep the model's field order, nothing
records the time, and numbers are formatted one fixed way (`_num`).

Everything a student controls (folder name, answers echoed in messages, tracebacks, file names)
is treated as hostile: file names are sanitised to stay inside the output folder, CSV cells are
protected against spreadsheet formula injection, XML drops characters XML 1.0 cannot carry, and
Markdown escapes what would break its layout.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grader.errors import UsageError
from grader.report.roster import Roster
from grader.results import (
    CheckResult,
    Completeness,
    GradeReport,
    ProblemResult,
    Status,
    SubmissionResult,
    said_once,
)

GRADES_CSV = "grades.csv"
RESULTS_JSON = "results.json"
JUNIT_XML = "junit.xml"
GRADESCOPE_DIR = "gradescope"
FEEDBACK_DIR = "feedback"
PROVENANCE_JSON = "provenance.json"

# Gradescope's documented values (autograder specs, "Controlling test case visibility").
GRADESCOPE_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")

# A leading = + - @ makes Excel/LibreOffice/Sheets evaluate the cell; tab and CR do too after
# trimming (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NOTE_LIMIT = 200
_NAME_LIMIT = 80
# Device names Windows will not create as files, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): an
# ElementTree that contains them serialises happily into a file no parser will read back.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What is left to strip from text meant for people: other C0/C1 controls, DEL, lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

STATUS_MARKS = {
    Status.PASSED: ("✅", "passed"),
    Status.FAILED: ("❌", "failed"),
    Status.ERROR: ("⚠️", "error"),
    Status.PENDING: ("⏳", "TA to grade"),
    Status.SKIPPED: ("➖", "skipped"),
}


# --------------------------------------------------------------------------------------------
# shared helpers


def _num(value: float) -> str:
    """One fixed spelling for every number: `8`, `7.5`, `0.333333`, never `8.0` or `1e-07`.

    Six decimals is finer than any rubric weight, and rounding here (not `repr`) keeps tiny
    float noise (`7.499999999`) out of spreadsheets.
    """
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _clean(text: str) -> str:
    """Drop terminal colour codes and control characters: they garble every viewer."""
    return _CONTROL.sub("", _ANSI_ESCAPE.sub("", text))


def _one_line(text: str, limit: int | None = None) -> str:
    """Collapse whitespace so a value fits a CSV cell or a table row."""
    line = " ".join(_clean(text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 1] + "…"
    return line


def _sorted(subs: Iterable[SubmissionResult]) -> list[SubmissionResult]:
    """Students in a fixed order whatever order the sandbox finished them in."""
    return sorted(subs, key=lambda s: (s.student, s.homework))


def _checks(sub: SubmissionResult) -> list[tuple[ProblemResult, CheckResult]]:
    return [(p, c) for p in sub.problems for c in p.checks]


def _count(sub: SubmissionResult, status: Status) -> int:
    return sum(c.status is status for _, c in _checks(sub))


def _error_count(sub: SubmissionResult) -> int:
    """Crashed checks, plus one when the whole submission could not be graded."""
    return _count(sub, Status.ERROR) + (1 if sub.error else 0)


def _pending_points(sub: SubmissionResult) -> float:
    """The most a TA can still add: a check's own `pending_points`, not its maximum, since part
    of a pending check may already be decided and in the score."""
    return sum(c.pending_points for _, c in _checks(sub))


_NOT_FINAL = {
    Completeness.PARTIAL: "partial result: a -k selection left checks out, so the total is not "
    "the homework's",
    Completeness.UNFINISHED: "unfinished result: grading was interrupted before every check "
    "ran, so the total is not the homework's; run the same command with --resume to finish",
}


def not_final(sub: SubmissionResult) -> str | None:
    """Why this submission's total is not its grade, or None when every check was judged: said
    wherever the total is, so a partial or interrupted run never passes for a whole one."""
    state = sub.completeness
    if state is Completeness.COMPLETE:
        return None
    left = sub.not_run()
    points = sum(c.max_score for c in left)
    return f"{_NOT_FINAL[state]} ({_count_of(len(left), 'check')} worth {_points(points)} not run)"


def mark_not_final(report: GradeReport) -> GradeReport:
    """The report with `not_final`'s reason among the notes of each student it applies to, so
    results.json and --json say it too (their shape has no other place for it)."""
    subs = []
    for sub in report.submissions:
        final = not_final(sub)
        if final and final not in sub.notes:
            sub = sub.model_copy(update={"notes": [*sub.notes, final]})
        subs.append(sub)
    return report.model_copy(update={"submissions": subs})


def _notes(sub: SubmissionResult) -> list[str]:
    """The notes but the not-final one, which the feedback and Gradescope say louder, first."""
    final = not_final(sub)
    return [note for note in sub.notes if note != final]


def _count_of(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _points(value: float, more: bool = False) -> str:
    """`1 point`, `0.5 points`, `6 points` (`1 more point` with `more`): never `1 points`."""
    noun = "point" if _num(value) == "1" else "points"
    return f"{_num(value)} more {noun}" if more else f"{_num(value)} {noun}"


def _are(value: float) -> str:
    """The verb that agrees with `_points(value)`."""
    return "is" if _num(value) == "1" else "are"


# --------------------------------------------------------------------------------------------
# file names


def safe_name(name: str) -> str:
    """A file name that is the student's name where possible and can never leave its folder.

    Letters and digits of any script survive (a roster has names like `josé` or `张伟`);
    everything else, path separators included, becomes `_`; leading dots go, so neither `..`
    nor a hidden file can come out. Windows device names get a prefix so a class can be copied
    to a Windows share.
    """
    name = unicodedata.normalize("NFC", name)
    chars = [ch if ch.isalnum() or ch in "-_." else "_" for ch in name]
    safe = "".join(chars).lstrip(".")[:_NAME_LIMIT].rstrip(". ")
    if not safe:
        return "_"
    if safe.split(".")[0].upper() in _WINDOWS_RESERVED:
        return f"_{safe}"
    return safe


def _digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()[:8]


def file_stems(report: GradeReport) -> dict[tuple[str, str], str]:
    """A unique, safe file stem for each (student, homework), stable across runs.

    A name that needed sanitising gets a hash of the original appended, so `a b` and `a_b`
    cannot both become `a_b`; names that differ only in case (which collide on macOS and
    Windows) get one too. A student graded for several homeworks in one report gets the
    homework in the stem.
    """
    subs = _sorted(report.submissions)
    per_student: dict[str, int] = {}
    for sub in subs:
        per_student[sub.student] = per_student.get(sub.student, 0) + 1
    stems: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for sub in subs:
        stem = safe_name(sub.student)
        if stem != sub.student:
            stem = f"{stem}-{_digest(sub.student)}"
        if per_student[sub.student] > 1:
            stem = f"{stem}.{safe_name(sub.homework)}"
        if stem.casefold() in taken:
            stem = f"{stem}-{_digest(sub.student, sub.homework)}"
        counter = 2
        base = stem
        while stem.casefold() in taken:  # only on a hash collision: practically never
            stem = f"{base}-{counter}"
            counter += 1
        taken.add(stem.casefold())
        stems[(sub.student, sub.homework)] = stem
    return stems


# --------------------------------------------------------------------------------------------
# grades.csv


def _csv_text(value: str) -> str:
    """Keep the value readable but inert: a spreadsheet must never run it as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def problem_columns(report: GradeReport) -> list[tuple[str, str]]:
    """(homework, problem id) in rubric order: the order problems appear in the results.

    Scanning every submission (not just the first) keeps a column for a problem the first
    student happens to lack, e.g. one whose grading failed outright.
    """
    columns: list[tuple[str, str]] = []
    for sub in _sorted(report.submissions):
        for problem in sub.problems:
            if (sub.homework, problem.id) not in columns:
                columns.append((sub.homework, problem.id))
    return columns


def _problem_pending(problem: ProblemResult) -> bool:
    return any(c.pending_points for c in problem.checks)


def final_total(sub: SubmissionResult) -> str:
    """The total an LMS may take as the grade, or "" while it is not one: a -k or interrupted
    run, a submission that could not be graded, or points still waiting for a TA. An empty cell
    reads as "no grade yet" in every gradebook; a 0 would read as a grade."""
    if not_final(sub) or sub.error or _pending_points(sub):
        return ""
    return _num(sub.score)


ROSTER_COLUMNS = ("id", "login", "name", "email", "section")


def _identity(sub: SubmissionResult, roster: Roster | None) -> list[str]:
    if roster is None:
        return []
    entry = roster.entry_for(sub.student)
    if entry is None:
        return ["" for _ in ROSTER_COLUMNS]
    return [_csv_text(getattr(entry, name)) for name in ROSTER_COLUMNS]


def grades_csv(report: GradeReport, roster: Roster | None = None) -> str:
    """One row per submission for a spreadsheet or an LMS grade import.

    Columns: student, the roster's identifiers when there is a roster (id, login, name, email,
    section: empty for a student the roster lacks, who keeps the row), homework, each problem's
    score, total (one `<homework>/total` per homework when the report holds several; each row
    fills its own), decided_points (what is decided so far), max_total, pending (checks waiting
    for a TA), pending_points (the most a TA can still add), errors (crashed checks, +1 if
    grading failed) and notes (why, if it failed).

    A score cell holds a number only when it is final: a problem or total with points waiting
    for a TA is empty (never 0, which an LMS would take as the grade), and so is everything a
    -k selection or an interrupted run left unjudged, and the total of a submission that could
    not be graded; `decided_points` carries what is already decided, and notes say why.
    """
    columns = problem_columns(report)
    homeworks = list(dict.fromkeys(hw for hw, _ in columns))
    several = len(homeworks) > 1
    names = [f"{hw}/{pid}" if several else pid for hw, pid in columns]
    # One total column per homework when there are several: a single `total` column would mix
    # hw6 and hw2 totals, and an import mapping it to one assignment would mix them too.
    totals = [f"{hw}/total" for hw in homeworks] if several else ["total"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    header = [
        "student",
        *(ROSTER_COLUMNS if roster is not None else ()),
        "homework",
        *names,
        *totals,
        "decided_points",
        "max_total",
        "pending",
        "pending_points",
        "errors",
        "notes",
    ]
    writer.writerow([_csv_text(h) for h in header])
    for sub in _sorted(report.submissions):
        scores = {
            (sub.homework, p.id): _num(p.score)
            if sub.problem_complete(p.id) and not _problem_pending(p)
            else ""
            for p in sub.problems
        }
        final = not_final(sub)
        note = _not_graded(_one_line(sub.error)) if sub.error else (final or "")
        writer.writerow(
            [
                _csv_text(sub.student),
                *_identity(sub, roster),
                _csv_text(sub.homework),
                *(scores.get(col, "") for col in columns),
                *(
                    final_total(sub) if name in (f"{sub.homework}/total", "total") else ""
                    for name in totals
                ),
                _num(sub.score),
                _num(sub.max_score),
                str(_count(sub, Status.PENDING)),
                _num(_pending_points(sub)),
                str(_error_count(sub)),
                _csv_text(_one_line(note, _NOTE_LIMIT)),
            ]
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# results.json


def results_json(report: GradeReport) -> str:
    """The report's own JSON contract, students sorted, so other tools read one stable file."""
    data = report.model_dump(mode="json")
    data["submissions"] = [s.model_dump(mode="json") for s in _sorted(report.submissions)]
    return json.dumps(data, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# Gradescope


def _gradescope_output(check: CheckResult) -> str:
    lines: list[str] = []
    if check.partly_decided:
        lines.append(
            f"Partly graded: the {_points(check.score)} shown {_are(check.score)} awarded for "
            "what was graded automatically; a TA will grade the rest (up to "
            f"{_points(check.pending_points, more=True)})."
        )
    elif check.status is Status.PENDING:
        lines.append(
            f"A TA will grade this part (up to {_points(check.pending_points)}); "
            "the 0 shown here is a placeholder."
        )
    elif check.status is Status.SKIPPED:
        lines.append("Not graded automatically.")
    lines.extend(check.text().lines())
    return _clean("\n".join(lines))


def _gradescope_test(problem: ProblemResult, check: CheckResult, visibility: str) -> dict[str, Any]:
    name = f"{problem.id} {check.id}"
    if check.title:
        name = f"{name}: {check.title}"
    test: dict[str, Any] = {
        "name": _one_line(name),
        "name_format": "text",
        "score": check.score,
        "max_score": check.max_score,
        "output": _gradescope_output(check),
        "output_format": "text",
        # A check the rubric keeps hidden counts in the score, but students never see it.
        "visibility": "hidden" if check.visibility == "hidden" else visibility,
        "tags": [problem.id],
    }
    # Gradescope colours a test by `status`, else by score < max_score. A pending or skipped
    # check is neither right nor wrong, so it gets no status rather than a false verdict.
    if check.status is Status.PASSED:
        test["status"] = "passed"
    elif check.status in (Status.FAILED, Status.ERROR):
        test["status"] = "failed"
    return test


def _gradescope_summary(sub: SubmissionResult) -> str:
    lines = [f"{sub.homework}: {_num(sub.score)} / {_points(sub.max_score)}."]
    final = not_final(sub)
    if final:
        lines.insert(0, f"NOT FINAL: {final}.")
    if sub.error:
        lines.append(f"Not graded: {_why(sub.error)}")
    pending = _pending_points(sub)
    if pending:
        lines.append(
            f"{_num(pending)} of these points {_are(pending)} graded by a TA and "
            f"{_are(pending)} not included yet."
        )
    lines.extend(f"Note: {note}" for note in _notes(sub))
    return _clean("\n".join(lines))


def gradescope_results(sub: SubmissionResult, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's autograder `results.json` for one student: one test per check.

    The top-level `score` is set explicitly because Gradescope would otherwise sum the tests,
    and our problem scores are clamped at 0 (a deduction never makes a problem negative).
    """
    if visibility not in GRADESCOPE_VISIBILITY:
        raise ValueError(f"visibility must be one of {GRADESCOPE_VISIBILITY}, not {visibility!r}")
    return {
        "score": sub.score,
        "output": _gradescope_summary(sub),
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": [_gradescope_test(p, c, visibility) for p, c in _checks(sub)],
    }


# --------------------------------------------------------------------------------------------
# JUnit XML


def _xml(text: str) -> str:
    """Text XML 1.0 can carry: ElementTree escapes < & " but keeps \\x00, which no parser reads."""
    return _XML_INVALID.sub("", _ANSI_ESCAPE.sub("", text))


def _junit_body(check: CheckResult) -> str:
    """The points, then the check's one text but its message (the element's `message`)."""
    lines = [f"{_num(check.score)} / {_points(check.max_score)}", *check.text().lines()[1:]]
    return _xml("\n".join(lines))


_JUNIT_OUTCOME = {
    Status.FAILED: "failure",
    Status.ERROR: "error",
    Status.PENDING: "skipped",
    Status.SKIPPED: "skipped",
}


def _junit_case(suite: ET.Element, classname: str, name: str, check: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=_xml(classname), name=_xml(name), time="0")
    tag = _JUNIT_OUTCOME.get(check.status)
    if tag is None:
        return
    outcome = ET.SubElement(case, tag, message=_xml(_one_line(check.text().message)))
    if tag != "skipped":
        outcome.set("type", check.status.value)
        outcome.text = _junit_body(check)


def _junit_suite(parent: ET.Element, sub: SubmissionResult) -> dict[str, int]:
    if sub.error:
        crash = CheckResult(
            id="grading", status=Status.ERROR, score=0.0, max_score=0.0, message=sub.error
        )
        cases = [(sub.student, "grading", crash)]
    else:
        cases = [(f"{sub.student}.{p.id}", c.id, c) for p, c in _checks(sub)]
    counts = {
        "tests": len(cases),
        "failures": sum(c.status is Status.FAILED for *_, c in cases),
        "errors": sum(c.status is Status.ERROR for *_, c in cases),
        "skipped": sum(c.status in (Status.PENDING, Status.SKIPPED) for *_, c in cases),
    }
    attributes = {"name": _xml(sub.student)}
    attributes.update((key, str(value)) for key, value in counts.items())
    attributes["time"] = "0"
    suite = ET.SubElement(parent, "testsuite", attributes)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("homework", sub.homework),
        ("score", _num(sub.score)),
        ("max_score", _num(sub.max_score)),
    ):
        ET.SubElement(properties, "property", name=key, value=_xml(value))
    if sub.completeness is not Completeness.COMPLETE:  # only then, so whole runs read as before
        ET.SubElement(properties, "property", name="completeness", value=sub.completeness.value)
    for classname, name, check in cases:
        _junit_case(suite, classname, name, check)
    return counts


def junit_xml(report: GradeReport) -> str:
    """JUnit XML (testsuites > one testsuite per student > one testcase per check) for CI.

    Pending and skipped checks are `<skipped>`: CI must not go red because a TA has not graded
    yet. A submission that could not be graded at all is one `<error>` testcase named `grading`.
    """
    root = ET.Element("testsuites", name="grader")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for sub in _sorted(report.submissions):
        for key, value in _junit_suite(root, sub).items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


# --------------------------------------------------------------------------------------------
# feedback/<student>.md


def _md(text: str) -> str:
    """Inline Markdown from untrusted text: one line, no stray code spans, tables or HTML."""
    line = _one_line(text)
    for char in "\\`|<":
        line = line.replace(char, f"\\{char}")
    return line


def _md_code_span(text: str) -> str:
    """A code span that survives backticks inside it (CommonMark: use a longer fence)."""
    text = _one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_code_block(lines: list[str], indent: str) -> list[str]:
    """A fenced block whose fence is longer than any backtick run the student put inside."""
    body = [_clean(line) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}", *(f"{indent}{line}".rstrip() for line in body), f"{indent}{fence}"]


def _md_points(check: CheckResult) -> str:
    if check.partly_decided:
        earned = f"{_num(check.score)} / {_num(check.max_score)}"
        return f"{earned} so far, up to {_num(check.pending_points)} more from a TA"
    if check.status is Status.PENDING:
        return f"up to {_points(check.pending_points)}"
    if check.max_score == 0:
        return f"deduction {_num(check.score)}" if check.score else ""
    return f"{_num(check.score)} / {_num(check.max_score)}"


def _md_name(check: CheckResult) -> str:
    name = f"**{_md(check.id)}**"
    return name + (f" ({_md(check.title)})" if check.title else "")


def _md_check(group: CheckResult | list[CheckResult]) -> list[str]:
    """One check, or checks that say the same thing (`said_once`): said once, under them all."""
    checks = group if isinstance(group, list) else [group]
    check = checks[0]
    mark, word = STATUS_MARKS[check.status]
    if len(checks) == 1:
        points = _md_points(check)
        head = f"- {mark} {_md_name(check)} · {word}" + (f" · {points}" if points else "")
    else:
        names = "; ".join(
            _md_name(c) + (f" · {_md_points(c)}" if _md_points(c) else "") for c in checks
        )
        head = f"- {mark} {names} · {word}"
    said = check.text()
    head += f": {_md(said.message)}"
    lines = [head]
    if said.location:
        lines.append(f"  - where: {_md_code_span(said.location)}")
    if said.hint:
        lines.append(f"  - hint: {_md(said.hint)}")
    if said.details:
        lines.extend(["  - details:", "", *_md_code_block(list(said.details), "    ")])
    return lines


def _md_summary_table(sub: SubmissionResult) -> list[str]:
    lines = ["| problem | score |", "| --- | ---: |"]
    for p in sub.problems:
        label = _md(f"{p.id} {p.title}".strip())
        lines.append(f"| {label} | {_num(p.score)} / {_num(p.max_score)} |")
    return lines


def _md_pending_line(sub: SubmissionResult, pending: list[CheckResult]) -> str:
    points = _pending_points(sub)
    if not any(c.partly_decided for c in pending):
        these = "This" if _num(points) == "1" else "These"
        return f"{these} {_points(points)} {_are(points)} not in the total above yet."
    return (
        f"Up to {_points(points, more=True)} {_are(points)} not in the total above yet; what is "
        "already graded in a partly graded part is."
    )


def _md_pending(sub: SubmissionResult) -> list[str]:
    pending = [(p, c) for p, c in _shown_checks(sub) if c.status is Status.PENDING]
    if not pending:
        return []
    lines = [
        "## Still to be graded by a TA",
        "",
        _md_pending_line(sub, [c for _, c in pending]),
        "",
    ]
    lines.extend(
        f"- ⏳ **{_md(p.id)} {_md(c.id)}** (up to {_points(c.pending_points)}): {_md(c.message)}"
        for p, c in pending
    )
    return [*lines, ""]


def _shown_checks(sub: SubmissionResult) -> list[tuple[ProblemResult, CheckResult]]:
    """The checks a student may see: all but those the rubric keeps hidden."""
    return [(p, c) for p, c in _checks(sub) if c.visibility != "hidden"]


def _md_hidden(checks: list[CheckResult]) -> list[str]:
    """Hidden checks are summed, never named: their points are in the scores shown."""
    hidden = [c for c in checks if c.visibility == "hidden"]
    if not hidden:
        return []
    earned = sum(c.score for c in hidden)
    worth = sum(c.max_score for c in hidden)
    return [f"- checks not shown to students: {_num(earned)} / {_num(worth)}"]


def _md_page_images(sub: SubmissionResult, stem: str | None) -> list[str]:
    """The writeup pages a TA reads as images (scans: no text layer, or OCR text), linked where
    --out wrote them.

    The link is relative to the feedback file (`feedback/<stem>/<name>`); the names are the
    grader's own (`report-page-2.png`), never a path the student chose.
    """
    if not sub.page_images:
        return []
    lines = ["## Pages read by a TA", ""]
    for image in sub.page_images:
        label = _md(f"{image.file}, page {image.page}")
        if stem is None:
            lines.append(f"- {label}: scanned or handwritten")
        else:
            lines.append(f"- {label}: ![page {image.page}](<{stem}/{safe_name(image.name)}>)")
    return [*lines, ""]


def page_image_paths(report: GradeReport, out_dir: Path) -> dict[Path, bytes]:
    """Where --out writes each page image (feedback/<stem>/<name>) and its PNG (empty for a
    result read back from an earlier results.json, whose image is already there)."""
    stems = file_stems(report)
    paths: dict[Path, bytes] = {}
    for sub in _sorted(report.submissions):
        for image in sub.page_images:
            stem = stems[(sub.student, sub.homework)]
            paths[_inside(out_dir, FEEDBACK_DIR, stem, safe_name(image.name))] = image.png
    return paths


def feedback_markdown(sub: SubmissionResult, stem: str | None = None) -> str:
    """The file a student reads: total, TA-pending items, then every check with where and why.

    `stem` is the student's file stem under feedback/, where their page images are linked from
    (None: the pages are named, not linked)."""
    lines = [
        f"# Feedback: {_md(sub.student)} · {_md(sub.homework)}",
        "",
        f"**Total: {_num(sub.score)} / {_points(sub.max_score)}**",
        "",
    ]
    final = not_final(sub)
    if final:
        lines[2] = f"**Total so far: {_num(sub.score)} / {_points(sub.max_score)} (not final)**"
        lines[3:3] = ["", f"> **Not your grade yet:** {_md(final)}."]
    staff = sum(c.max_score for _, c in _checks(sub) if c.for_staff)
    if staff and not final:  # a students' copy: what it could check, not a bare 7 / 30
        checkable = max(sub.max_score - staff - _pending_points(sub), 0.0)
        lines[2] = (
            f"**{_num(sub.score)} of {_points(checkable)} checkable here; {_num(staff)} "
            f"checked by the course staff; {_num(_pending_points(sub))} graded by a TA**"
        )
    if sub.error:
        lines.extend([f"> **Not graded:** {_md(sub.error)}", ""])
    if _notes(sub):
        lines.extend([*(f"- note: {_md(note)}" for note in _notes(sub)), ""])
    if sub.problems:
        lines.extend([*_md_summary_table(sub), ""])
    lines.extend(_md_pending(sub))
    lines.extend(_md_page_images(sub, stem))
    for p in sub.problems:
        title = f"{p.id} · {p.title}" if p.title else p.id
        lines.extend([f"## {_md(title)} · {_num(p.score)} / {_num(p.max_score)}", ""])
        for group in said_once([c for c in p.checks if c.visibility != "hidden"]):
            lines.extend(_md_check(group))
        lines.extend(_md_hidden(list(p.checks)))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# writing


def _write(path: Path, text: str) -> Path:
    """UTF-8 bytes exactly as built (no newline translation), so files match on every OS."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", errors="replace"))
    return path


def _inside(out_dir: Path, *parts: str) -> Path:
    """Join, then prove the path stays under out_dir: a last line behind `safe_name`."""
    path = out_dir.joinpath(*parts)
    # Lexical on purpose: a staff member may symlink feedback/ elsewhere; only `..` is a bug.
    if not Path(os.path.normpath(path)).is_relative_to(os.path.normpath(out_dir)):
        raise ValueError(f"refusing to write outside {out_dir}: {path}")
    return path


def write_exports(report: GradeReport, out_dir: Path, roster: Roster | None = None) -> list[Path]:
    """Write every export under out_dir and return the paths written, in a fixed order.

    Files from an earlier run for students no longer in the report are left alone: deleting
    in a folder the user named is not an export's business.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out_dir / GRADES_CSV, grades_csv(report, roster)),
        _write(out_dir / RESULTS_JSON, results_json(report)),
        _write(out_dir / JUNIT_XML, junit_xml(report)),
    ]
    stems = file_stems(report)
    for sub in _sorted(report.submissions):
        stem = stems[(sub.student, sub.homework)]
        gradescope = json.dumps(gradescope_results(sub), indent=2) + "\n"
        written.append(_write(_inside(out_dir, GRADESCOPE_DIR, stem, "results.json"), gradescope))
        feedback = feedback_markdown(sub, stem)
        written.append(_write(_inside(out_dir, FEEDBACK_DIR, f"{stem}.md"), feedback))
    for path, png in page_image_paths(report, out_dir).items():
        if png:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)
        if path.is_file():  # written now, or by the run whose result was kept
            written.append(path)
    written.extend(write_figures(report, out_dir))
    return written


# --------------------------------------------------------------------------------------------
# exporting into a folder that already holds a class


def read_results(out_dir: Path) -> GradeReport | None:
    """The report an earlier `--out` left in out_dir, or None when there is none.

    A results.json that is not ours is a usage error: merging into it, or writing over it,
    would lose whatever it is.
    """
    path = out_dir / RESULTS_JSON
    if not path.is_file():
        return None
    try:
        return GradeReport.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise UsageError(
            f"{path} is not a grader results file ({where}: {first['msg']}); choose another "
            "--out folder or move that file away"
        ) from None


def _key(sub: SubmissionResult) -> tuple[str, str]:
    return (sub.student, sub.homework)


@dataclass
class Merge:
    """The report an export writes: this run's students over the earlier run's, and what that
    decided, so the command line can say it."""

    report: GradeReport
    kept: list[str] = field(default_factory=list)  # earlier students this run did not grade
    held: list[str] = field(default_factory=list)  # unfinished now: their earlier results stay
    partial_over_whole: list[str] = field(default_factory=list)  # replaced by a -k selection
    graded: set[tuple[str, str]] = field(default_factory=set)  # entries from this run


def merge_reports(earlier: GradeReport | None, new: GradeReport) -> Merge:
    """This run's results over an earlier export's, student by student (and homework).

    Regrading one student into the class folder must keep the other students; an interrupted
    run must not wipe out finished results with unfinished ones (the earlier result stays until
    a run finishes that student). A partial (-k) result over a whole one is replaced but listed,
    so the caller can refuse it unless asked.
    """
    if earlier is None:
        return Merge(report=new, graded={_key(sub) for sub in new.submissions})
    merged = {_key(sub): sub for sub in earlier.submissions}
    kept = {_key(sub) for sub in earlier.submissions}
    merge = Merge(report=new)
    for sub in new.submissions:
        key = _key(sub)
        before = merged.get(key)
        kept.discard(key)
        if before is not None and sub.completeness is Completeness.UNFINISHED:
            merge.held.append(sub.student)
            continue
        if (
            before is not None
            and sub.completeness is Completeness.PARTIAL
            and before.completeness is Completeness.COMPLETE
        ):
            merge.partial_over_whole.append(sub.student)
        merged[key] = sub
        merge.graded.add(key)
    merge.kept = sorted(student for student, _ in kept)
    merge.report = GradeReport(submissions=_sorted(merged.values()), warnings=new.warnings)
    return merge


def _export_paths(report: GradeReport, out_dir: Path) -> set[Path]:
    """Every per-student file an export of this report writes (not the class-wide files)."""
    stems = file_stems(report)
    paths = set(figure_paths(report, out_dir).values()) | set(page_image_paths(report, out_dir))
    for stem in stems.values():
        paths.add(_inside(out_dir, GRADESCOPE_DIR, stem, "results.json"))
        paths.add(_inside(out_dir, FEEDBACK_DIR, f"{stem}.md"))
    return paths


@dataclass
class Export:
    merge: Merge
    written: list[Path]
    removed: list[Path]


# --------------------------------------------------------------------------------------------
# provenance.json: which run produced each result


def fingerprint(paths: Iterable[Path]) -> str:
    """A rubric's fingerprint: sha256 over its files (the YAML and any `_checks.py`), by name
    and content, so an edited rubric never passes for the one a result was graded with."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"sha256:{digest.hexdigest()}"


def _student_key(sub: SubmissionResult) -> str:
    return f"{sub.homework}/{sub.student}"


def provenance(earlier: dict[str, Any] | None, merge: Merge, run: dict[str, Any]) -> dict[str, Any]:
    """provenance.json after this run: every run a result in results.json comes from, and for
    each result (`homework/student`) the run it comes from.

    Kept apart from results.json on purpose: results.json is a contract whose shape other tools
    read, and stays byte-identical between runs; this file records dates and versions. A run no
    result comes from any more is dropped. Results from an export written before this file
    existed come from run `null`: nobody knows which.
    """
    runs: dict[int, dict[str, Any]] = {}
    students: dict[str, int | None] = {}
    if earlier:
        runs = {int(r["id"]): r for r in earlier.get("runs", []) if isinstance(r, dict)}
        students = dict(earlier.get("students", {}))
    run_id = max(runs, default=0) + 1
    mapping: dict[str, int | None] = {}
    for sub in _sorted(merge.report.submissions):
        key = _student_key(sub)
        mapping[key] = run_id if _key(sub) in merge.graded else students.get(key)
    used = {value for value in mapping.values() if value is not None}
    kept_runs = [runs[i] for i in sorted(runs) if i in used]
    if run_id in used:
        kept_runs.append({"id": run_id, **run})
    return {"runs": kept_runs, "students": mapping}


def _read_provenance(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / PROVENANCE_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not readable JSON ({exc}); move it away") from None
    return data if isinstance(data, dict) else None


def export_class(
    report: GradeReport,
    out_dir: Path,
    *,
    allow_partial: bool = False,
    run: dict[str, Any] | None = None,
    roster: Roster | None = None,
) -> Export:
    """Write `report` into out_dir, merged into whatever class an earlier export left there.

    Per-student files the earlier export wrote and this one does not (a student whose file name
    changed, say) are removed: only those, named by the earlier results.json, never anything
    else in the folder. A -k selection that would replace a whole result is refused unless
    `allow_partial`: the class folder is where grades are uploaded from.
    """
    earlier = read_results(out_dir)
    merge = merge_reports(earlier, report)
    if merge.partial_over_whole and not allow_partial:
        names = ", ".join(merge.partial_over_whole)
        raise UsageError(
            f"{out_dir} holds complete results for {names}; this -k run graded only part of "
            "the homework and would replace them with a partial total. Drop -k, write to "
            "another --out folder, or pass --allow-partial to replace them (marked partial)"
        )
    earlier_provenance = _read_provenance(out_dir)
    written = write_exports(merge.report, out_dir, roster)
    if run is not None:
        record = provenance(earlier_provenance, merge, run)
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        written.append(_write(out_dir / PROVENANCE_JSON, text))
    removed = []
    if earlier is not None:
        for path in sorted(_export_paths(earlier, out_dir) - set(written)):
            if path.is_file():
                path.unlink()
                removed.append(path)
                if path.parent != out_dir and not any(path.parent.iterdir()):
                    path.parent.rmdir()  # gradescope/<student>/, now empty
    return Export(merge=merge, written=written, removed=removed)


# --- figures ------------------------------------------------------------------------------------

FIGURES_DIR = "figures"


def figure_paths(report: GradeReport, out_dir: Path) -> dict[tuple[str, str], Path]:
    """Where each student's plot for each problem goes: figures/<student>-<problem>.png."""
    stems = file_stems(report)
    paths: dict[tuple[str, str], Path] = {}
    for sub in _sorted(report.submissions):
        for problem in sub.problems:
            if any(c.plot for c in problem.checks):
                name = f"{stems[(sub.student, sub.homework)]}-{safe_name(problem.id)}.png"
                paths[(sub.student, problem.id)] = _inside(out_dir, FIGURES_DIR, name)
    return paths


def write_figures(report: GradeReport, out_dir: Path) -> list[Path]:
    """One PNG per student and plotted problem: their curves beside the reference's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    paths = figure_paths(report, out_dir)
    for sub in report.submissions:
        for problem in sub.problems:
            path = paths.get((sub.student, problem.id))
            plot = next((c.plot for c in problem.checks if c.plot), None)
            if path is None or plot is None:
                continue
            fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
            for ax, panel, title in (
                (axes[0], "yours", f"{sub.student}"),
                (axes[1], "reference", "reference"),
            ):
                for series in (s for s in plot.series if s.panel == panel):
                    ys = [float("nan") if y is None else y for y in series.y]
                    ax.plot(series.x, ys, marker=".", label=series.label)
                ax.set_title(title)
                ax.set_xlabel(plot.xlabel)
                ax.set_ylabel(plot.ylabel)
                ax.set_yscale("log")
                if ax.has_data():
                    ax.legend()
                else:
                    ax.text(0.5, 0.5, "no curves to show", ha="center", transform=ax.transAxes)
            fig.suptitle(plot.title)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=90, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written


def _why(error: str) -> str:
    """A submission's error without a leading "not graded: " (a budget's or ingest's reason
    says it already), so exports do not say it twice."""
    return error.removeprefix("not graded: ")


def _not_graded(error: str) -> str:
    return f"not graded: {_why(error)}"
