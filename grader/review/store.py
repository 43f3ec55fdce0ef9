"""reviews.toml: course staff's decisions on one class, read and written as plain, diff-able TOML.

The file holds three kinds of entry, each an array-of-tables block (`docs/reviews.md`):
`[[decision]]` (a pending item graded), `[[override]]` (an automatic verdict replaced, with a
reason) and `[[regrade]]` (a student's request and how it was resolved: the audit trail).

A TA may edit the file by hand, so it is read block by block: each `[[...]]` block is parsed on
its own, and a block that does not parse or does not validate is an error naming the file and
its line, while every other block is still read. `grade review` writes the file back in one
stable order (kind, then student, problem, check) and copies a malformed block through verbatim,
so saving never loses what a TA typed, even where it is wrong.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REVIEWS_FILE = "reviews.toml"
FORMAT_VERSION = 1
MAX_REVIEWS_BYTES = 8 * 2**20  # a class's decisions; a larger file is refused before it is read

Kind = Literal["decision", "override", "regrade"]
KINDS: tuple[Kind, ...] = ("decision", "override", "regrade")

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]\s*(#.*)?$")


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    student: str = Field(min_length=1, description="The student's folder name in the class.")
    problem: str = Field(min_length=1)
    check: str = Field(min_length=1, description="The check id as results name it (stm.shape).")

    @property
    def target(self) -> tuple[str, str, str]:
        return (self.student, self.problem, self.check)


class Decision(_Entry):
    """A pending item graded by a TA: `points` for what was pending (the check's pending share),
    or `result = "pass"` (all of it) / `"fail"` (none of it)."""

    points: float | None = Field(default=None, ge=0)
    result: Literal["pass", "fail"] | None = None
    comment: str = ""
    by: str = ""
    at: str = ""
    fingerprint: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_verdict(self) -> Decision:
        if (self.points is None) == (self.result is None):
            raise ValueError('give exactly one of `points` or `result` ("pass" or "fail")')
        if self.points is not None and not math.isfinite(self.points):
            raise ValueError("points must be a finite number")
        return self


class Override(_Entry):
    """An automatic verdict replaced: `points` is the check's whole score from now on (between
    0, or the automatic deduction for a check that only deducts, and the check's maximum)."""

    points: float
    reason: str = Field(min_length=1, description="Why, in words the student will read.")
    by: str = ""
    at: str = ""
    fingerprint: str = Field(min_length=1)

    @model_validator(mode="after")
    def _finite(self) -> Override:
        if not math.isfinite(self.points):
            raise ValueError("points must be a finite number")
        return self


class Regrade(_Entry):
    """A student's regrade request and, once resolved, the resolution (kept as an audit trail;
    a changed score is a `decision` or `override` of its own)."""

    request: str = Field(min_length=1)
    requested_at: str = ""
    status: Literal["open", "resolved"] = "open"
    resolution: str = ""
    resolved_by: str = ""
    resolved_at: str = ""

    @model_validator(mode="after")
    def _resolved_says_how(self) -> Regrade:
        if self.status == "resolved" and not self.resolution:
            raise ValueError("a resolved regrade request needs a `resolution`")
        return self


Entry = Decision | Override | Regrade
_MODELS: dict[str, type[BaseModel]] = {
    "decision": Decision,
    "override": Override,
    "regrade": Regrade,
}


@dataclass(frozen=True)
class ReviewError:
    """A block of the file that could not be used, with where it is and why."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Reviews:
    """Everything one reviews.toml holds: the entries read, and what could not be read."""

    path: Path
    decisions: list[Decision] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    regrades: list[Regrade] = field(default_factory=list)
    errors: list[ReviewError] = field(default_factory=list)
    verbatim: list[str] = field(default_factory=list)  # malformed blocks, kept as typed
    lines: dict[int, int] = field(default_factory=dict)  # id(entry) -> its line, for messages

    def line_of(self, entry: BaseModel) -> int:
        return self.lines.get(id(entry), 0)

    def add(self, entry: Entry) -> None:
        """Add `entry`, replacing an earlier entry of the same kind for the same check (and,
        for a regrade request, the same request)."""
        if isinstance(entry, Decision):
            self.decisions = [d for d in self.decisions if d.target != entry.target] + [entry]
        elif isinstance(entry, Override):
            self.overrides = [o for o in self.overrides if o.target != entry.target] + [entry]
        else:
            same = (entry.target, entry.requested_at)
            kept = [r for r in self.regrades if (r.target, r.requested_at) != same]
            self.regrades = [*kept, entry]

    def remove(self, kind: Kind, target: tuple[str, str, str]) -> None:
        if kind == "decision":
            self.decisions = [d for d in self.decisions if d.target != target]
        elif kind == "override":
            self.overrides = [o for o in self.overrides if o.target != target]


def reviews_path(class_dir: Path) -> Path:
    """Where a class's reviews live: inside the class folder, beside its student folders, so
    they travel with the class and every `grade` of any of its students finds them."""
    return class_dir / REVIEWS_FILE


def _blocks(text: str) -> list[tuple[int, str | None, str]]:
    """The file cut at each `[[kind]]` header: (first line, kind or None for the preamble,
    text). Linear in the file's size."""
    blocks: list[tuple[int, str | None, list[str]]] = [(1, None, [])]
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            blocks.append((number, header.group(1), []))
        blocks[-1][2].append(line)
    return [(start, kind, "\n".join(body) + "\n") for start, kind, body in blocks]


def _toml_error_line(start: int, exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
    line = start + int(found.group(1)) - 1 if found else start
    return line, re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def parse_reviews(text: str, path: Path) -> Reviews:
    """Every entry of a reviews.toml's text; an unusable block is an error with its line."""
    reviews = Reviews(path=path)
    for start, kind, body in _blocks(text):
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError as exc:
            line, message = _toml_error_line(start, exc)
            reviews.errors.append(ReviewError(path, line, f"not valid TOML: {message}"))
            if kind is not None:
                reviews.verbatim.append(body)
            continue
        if kind is None:
            _check_preamble(data, reviews, start)
            continue
        _read_block(data, kind, start, body, reviews)
    return reviews


def _check_preamble(data: dict[str, Any], reviews: Reviews, start: int) -> None:
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        reviews.errors.append(
            ReviewError(
                reviews.path,
                start,
                f"version = {version!r}: this grader reads version {FORMAT_VERSION}",
            )
        )
    unknown = sorted(set(data) - {"version"})
    if unknown:
        reviews.errors.append(
            ReviewError(reviews.path, start, f"unknown top-level keys {unknown}: ignored")
        )


def _read_block(data: dict[str, Any], kind: str, start: int, body: str, reviews: Reviews) -> None:
    model = _MODELS.get(kind)
    entries = data.get(kind)
    if set(data) != {kind}:
        stray = sorted(set(data) - {kind})
        message = f"[[{kind}]]: {stray} outside the entry (a [table] header inside it?)"
        reviews.errors.append(ReviewError(reviews.path, start, message))
        reviews.verbatim.append(body)
        return
    if model is None or not isinstance(entries, list) or len(entries) != 1:
        known = ", ".join(f"[[{k}]]" for k in KINDS)
        reviews.errors.append(
            ReviewError(reviews.path, start, f"[[{kind}]] is not an entry kind ({known})")
        )
        reviews.verbatim.append(body)
        return
    try:
        entry = model.model_validate(entries[0])
    except ValidationError as exc:
        message = f"[[{kind}]] {_first_error(exc)}"
        reviews.errors.append(ReviewError(reviews.path, start, message))
        reviews.verbatim.append(body)
        return
    assert isinstance(entry, Decision | Override | Regrade)
    reviews.lines[id(entry)] = start
    if isinstance(entry, Decision):
        reviews.decisions.append(entry)
    elif isinstance(entry, Override):
        reviews.overrides.append(entry)
    else:
        reviews.regrades.append(entry)


def load_reviews(class_dir: Path) -> Reviews:
    """The class's reviews, or an empty set when it has none yet. A file too large or not
    UTF-8 is one error, never a crash of the batch."""
    path = reviews_path(class_dir)
    reviews = Reviews(path=path)
    if not path.is_file():
        return reviews
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_REVIEWS_BYTES + 1)
    except OSError as exc:
        reviews.errors.append(ReviewError(path, 0, f"cannot be read: {exc.strerror}"))
        return reviews
    if len(raw) > MAX_REVIEWS_BYTES:
        limit = MAX_REVIEWS_BYTES // 2**20
        reviews.errors.append(ReviewError(path, 0, f"larger than {limit} MiB: not read"))
        return reviews
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        reviews.errors.append(ReviewError(path, line, "not UTF-8 text"))
        return reviews
    return parse_reviews(text, path)


# --------------------------------------------------------------------------------------------
# writing


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return toml_string(str(value))


def _entry_toml(kind: str, entry: BaseModel) -> str:
    lines = [f"[[{kind}]]"]
    for name, value in entry.model_dump().items():
        if value is None or (value == "" and name not in ("student", "problem", "check")):
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def render_reviews(reviews: Reviews) -> str:
    """The file's text: a header, then every entry in one stable order, then any malformed
    blocks exactly as they were typed."""
    parts = [
        "# Course staff's reviews of this class: pending items graded, automatic verdicts\n"
        "# overridden, regrade requests. Written by `grade review`; may be edited by hand.\n"
        "# Format: docs/reviews.md in the grader's repository.\n"
        f"version = {FORMAT_VERSION}\n"
    ]
    ordered: list[tuple[str, list[Any]]] = [
        ("decision", sorted(reviews.decisions, key=lambda e: e.target)),
        ("override", sorted(reviews.overrides, key=lambda e: e.target)),
        ("regrade", sorted(reviews.regrades, key=lambda e: (e.target, e.requested_at))),
    ]
    for kind, entries in ordered:
        parts.extend("\n" + _entry_toml(kind, entry) for entry in entries)
    if reviews.verbatim:
        parts.append("\n# Blocks that could not be read (fix them; `grade` reports each):\n")
        parts.extend("\n" + block.rstrip("\n") + "\n" for block in reviews.verbatim)
    return "".join(parts)


def save_reviews(reviews: Reviews) -> None:
    """Write the file whole, through a temporary file and a rename: an interrupted save leaves
    the previous file, never half of one."""
    reviews.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = reviews.path.with_name(f".{reviews.path.name}.tmp")
    temporary.write_text(render_reviews(reviews), encoding="utf-8")
    temporary.replace(reviews.path)
