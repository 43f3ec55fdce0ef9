"""Grade import files for learning management systems: Canvas and Moodle.

Both take one row per student and one column per assignment, and both find the student by an
identifier the roster supplies (`grader.report.roster`), never by our folder names:

- Canvas (gradebook "Import"): the columns of its own gradebook export, `Student`, `ID`,
  `SIS User ID`, `SIS Login ID`, `Section`, then one column per assignment named
  `Assignment name (assignment id)`; a column without an id matches an assignment by name or
  creates one. A `Points Possible` row under the header gives each assignment's maximum.
- Moodle (Grades > Import > CSV file): any identifier column, chosen at import time as "Map
  from" (`ID number`, `Email address` or `Username`), and one column per grade item.

A cell is the homework's total only when it is final (`exports.final_total`): points waiting
for a TA, a -k run, an interrupted run or a submission that could not be graded leave it empty,
which both systems read as "no grade", never 0. One row per person: a student graded in several
homeworks gets one total per homework in one row. Two results for one person and homework (two
folders the roster maps to one student) leave that cell empty and are reported: picking one
would be a silent guess.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from grader.report.exports import _csv_text, final_total
from grader.report.roster import Roster, RosterEntry
from grader.results import GradeReport, SubmissionResult

CANVAS_CSV = "canvas.csv"
MOODLE_CSV = "moodle.csv"
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("ID number", "Email address", "Username", "Full name")


@dataclass
class Gradebook:
    """One row per person, one total per homework, and what could not be placed."""

    homeworks: list[str]
    max_scores: dict[str, float]
    rows: list[tuple[RosterEntry, dict[str, str]]]
    missing: list[str] = field(default_factory=list)  # graded students the roster lacks
    conflicts: list[str] = field(default_factory=list)  # "person hw: folder, folder"


def gradebook(report: GradeReport, roster: Roster) -> Gradebook:
    """The class as an LMS sees it: persons (roster rows) by homework."""
    subs = sorted(report.submissions, key=lambda s: (s.student, s.homework))
    graded = [s for s in subs if s.homework != "unknown"]
    homeworks = sorted({s.homework for s in graded})
    max_scores = {s.homework: s.max_score for s in graded if s.max_score}
    # Keyed apart so a folder the roster lacks can never merge into a roster student whose id
    # happens to equal the folder's name.
    people: dict[tuple[str, str], tuple[RosterEntry, dict[str, list[SubmissionResult]]]] = {}
    missing = roster.missing(s.student for s in subs)
    for sub in graded:
        found = roster.entry_for(sub.student)
        entry = found or RosterEntry(folder=sub.student)
        key = ("roster", found.person) if found else ("folder", sub.student)
        _, by_homework = people.setdefault(key, (entry, {}))
        by_homework.setdefault(sub.homework, []).append(sub)
    rows = []
    conflicts = []
    for key in sorted(people):
        entry, by_homework = people[key]
        person = key[1]
        cells = {}
        for homework, results in by_homework.items():
            if len(results) > 1:
                folders = ", ".join(s.student for s in results)
                conflicts.append(f"{person} {homework}: {folders}")
                cells[homework] = ""
            else:
                cells[homework] = final_total(results[0])
        rows.append((entry, cells))
    return Gradebook(homeworks, max_scores, rows, missing, conflicts)


def _write(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[_csv_text(cell) for cell in row] for row in rows])
    return buffer.getvalue()


def _max(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def canvas_csv(book: Gradebook) -> str:
    """Canvas's gradebook import. Students the roster lacks are kept with their folder as the
    name and no ids: Canvas lists them as unmatched in its import preview, where the instructor
    can pair them by hand, instead of their grade silently vanishing."""
    header = [*CANVAS_IDENTITY, *book.homeworks]
    points = [
        "Points Possible",
        "",
        "",
        "",
        "",
        *(_max(book.max_scores.get(h, 0)) for h in book.homeworks),
    ]
    rows = [header, points]
    for entry, cells in book.rows:
        identity = [
            entry.name or entry.folder,
            entry.canvas_id,
            entry.id,
            entry.login,
            entry.section,
        ]
        rows.append([*identity, *(cells.get(h, "") for h in book.homeworks)])
    return _write(rows)


def moodle_csv(book: Gradebook) -> str:
    """Moodle's CSV grade import. A person without any identifier (no roster row, or a row
    with none) is left out: Moodle cannot map them to a user, and the command line lists them."""
    rows = [[*MOODLE_IDENTITY, *book.homeworks]]
    for entry, cells in book.rows:
        if not (entry.id or entry.email or entry.login):
            continue
        identity = [entry.id, entry.email, entry.login, entry.name]
        rows.append([*identity, *(cells.get(h, "") for h in book.homeworks)])
    return _write(rows)
