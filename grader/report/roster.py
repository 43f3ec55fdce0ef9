"""A class roster: who each student folder is, for the LMS that takes the grades.

Submissions are keyed by folder name (`alice`), but Canvas, Moodle and Gradescope key students
by an identifier the university assigned (a SIS id, a login, an email). The roster is the one
place that maps one to the other, a CSV the course staff keep:

    folder,id,login,name,email,section
    alice,20231234,alice7,"Liddell, Alice",alice@example.edu,L01

Only `folder` is required; the other columns are copied into the exports where present. A
folder is matched to a graded student by its name as the grader prints it (`alice`, or
`sec1/alice` for namesakes), else by its last part (`alice` for `mfdnn/hw6/alice`, so one row
serves a student in every homework), never by anything fuzzier: a wrong match would put one
student's grade on another's record. Students without a row are listed, never dropped.

The file is staff-written but read as untrusted input all the same (it is often exported from
another system): its size and row count are capped before it is parsed, and every error names
the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError

MAX_ROSTER_BYTES = 8 * 1024 * 1024
MAX_ROSTER_ROWS = 100_000
_MAX_CELL = 1_000

# Header spellings accepted for each field (case and spaces ignored): the roster is often an
# LMS's own export with its own column names.
_ALIASES = {
    "folder": ("folder", "student_folder", "submission"),
    "id": ("id", "sis_id", "sis_user_id", "student_id", "id_number", "idnumber"),
    "login": ("login", "sis_login_id", "username", "user"),
    "name": ("name", "full_name", "student", "student_name"),
    "email": ("email", "email_address", "e-mail"),
    "section": ("section", "group"),
    "canvas_id": ("canvas_id", "canvas_user_id"),
}


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster; empty strings where the roster has no such column."""

    folder: str
    id: str = ""
    login: str = ""
    name: str = ""
    email: str = ""
    section: str = ""
    canvas_id: str = ""
    line: int = 0

    @property
    def person(self) -> str:
        """What makes two rows one person (a student in several homeworks): the first
        identifier the roster has, else the folder."""
        return self.id or self.login or self.email or self.folder


@dataclass(frozen=True)
class Roster:
    entries: tuple[RosterEntry, ...]
    source: str = "roster"

    def entry_for(self, student: str) -> RosterEntry | None:
        """The row for a graded student: exact folder, else the folder's last part."""
        by_folder = {e.folder: e for e in self.entries}
        found = by_folder.get(student)
        if found is None and "/" in student:
            found = by_folder.get(student.rsplit("/", 1)[1])
        return found

    def missing(self, students: Iterable[str]) -> list[str]:
        """Graded students with no roster row, sorted: to be said, since no LMS can take them."""
        return sorted({s for s in students if self.entry_for(s) is None})


def _normalise(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", "_").split())


def _columns(header: list[str], path: Path) -> dict[str, int]:
    """Which column holds each field; a roster without a folder column is a usage error."""
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _normalise(raw)
        for field_name, aliases in _ALIASES.items():
            if name in aliases and field_name not in found:
                found[field_name] = index
    if "folder" not in found:
        raise UsageError(
            f"{path}: line 1 has no `folder` column (the student folder's name); found "
            f"{', '.join(repr(h) for h in header) or 'nothing'}"
        )
    return found


def _read_capped(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ROSTER_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the roster {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise UsageError(f"{path} is over {MAX_ROSTER_BYTES // (1024 * 1024)} MiB: not a roster")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def parse_roster(text: str, path: Path) -> Roster:
    """The roster in `text`; a duplicate or empty folder, or an over-long cell, names its line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows: list[tuple[int, list[str]]] = []
        for row in reader:
            if len(rows) > MAX_ROSTER_ROWS:
                raise UsageError(f"{path} has over {MAX_ROSTER_ROWS} rows: not a roster")
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise UsageError(f"{path}: line {reader.line_num}: {exc}") from None
    if not rows:
        raise UsageError(f"{path} is empty: a roster needs a header line with `folder`")
    columns = _columns(rows[0][1], path)
    entries: dict[str, RosterEntry] = {}
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        values = {}
        for field_name, index in columns.items():
            cell = row[index].strip() if index < len(row) else ""
            if len(cell) > _MAX_CELL:
                raise UsageError(f"{path}: line {line}: the {field_name} is over {_MAX_CELL} chars")
            values[field_name] = cell
        folder = values.pop("folder")
        if not folder:
            raise UsageError(f"{path}: line {line} has no folder")
        if folder in entries:
            raise UsageError(
                f"{path}: line {line} repeats folder {folder!r} (first on line "
                f"{entries[folder].line}): one row per folder"
            )
        entries[folder] = RosterEntry(folder=folder, line=line, **values)
    return Roster(tuple(entries.values()), source=str(path))


def load_roster(path: Path) -> Roster:
    """`--roster FILE`: read capped, then parsed."""
    return parse_roster(_read_capped(path), path)
