"""Courses: what a course is on disk, and how a homework is named and found.

A course is content, never grader code: a folder holding `course.yaml` (its id, title, where its
references are and, later, its environment) and one rubric per homework (`hw6.yaml`, with its
custom checks `hw6_checks.py` beside it). The repository's courses are the folders of `rubrics/`
(`rubrics/mfdnn/`, `rubrics/dl/`); an instructor keeps their own anywhere and passes it with
`--course DIR` (or a folder of course folders with `--rubrics DIR`).

A homework's full id is `course/homework` (`mfdnn/hw2`); the short id (`hw6`) works wherever
only one course has that homework. What a student writes (`homework = "hw6"`, optionally
`course = "mfdnn"`) is only ever matched against these ids: it is never a path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.errors import RubricError, UsageError
from grader.rubric import load_rubric

#: A students' bundle (`grader.bundle`) ships its one course inside the package; the grader
#: installed from this repository reads the repository's courses.
BUNDLED_COURSES = Path(__file__).resolve().parent / "_bundle"
DEFAULT_COURSES = (
    BUNDLED_COURSES
    if BUNDLED_COURSES.is_dir()
    else Path(__file__).resolve().parent.parent / "rubrics"
)
COURSE_FILE = "course.yaml"
_ID = r"^[a-z0-9][a-z0-9_\-]*$"


class CourseConfig(BaseModel):
    """`course.yaml`: what the grader needs to know of a course besides its rubrics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID, description="Short id, unique among the courses graded together.")
    title: str = Field(default="", description="How reports name the course.")
    reference: str = Field(
        default="reference",
        description="Folder of the reference packages (one per homework), relative to this file.",
    )


@dataclass(frozen=True)
class Homework:
    """One homework of one course: its rubric file and where its reference packages live."""

    course: str
    id: str
    rubric_path: Path
    reference_root: Path

    @property
    def qualified(self) -> str:
        return f"{self.course}/{self.id}"


@dataclass(frozen=True)
class Catalog:
    """Every homework of the courses in use, found by its full or (unambiguous) short id."""

    homeworks: tuple[Homework, ...]
    courses: dict[str, CourseConfig] = field(default_factory=dict)

    def find(self, name: str) -> Homework:
        """The homework an instructor or TA named (`--homework`, `grade template`): a usage
        error, listing what exists, when it is unknown or names several."""
        found = self.lookup(name)
        if found is not None:
            return found
        known = ", ".join(h.qualified for h in self.homeworks) or "none"
        matches = [h.qualified for h in self._short(name)]
        if len(matches) > 1:
            raise UsageError(
                f"homework {name!r} is in several courses ({', '.join(matches)}): name one"
            )
        raise UsageError(f"unknown homework {name!r} (known: {known})")

    def lookup(self, name: str, course: str | None = None) -> Homework | None:
        """The homework `name` (full or short id), within `course` when given; None when it is
        not exactly one known homework. Only ids match: a path or anything else is None."""
        name = name.strip().lower()
        if course is not None:
            name = f"{course.strip().lower()}/{name}"
        if "/" in name:
            return next((h for h in self.homeworks if h.qualified == name), None)
        short = self._short(name)
        return short[0] if len(short) == 1 else None

    def _short(self, name: str) -> list[Homework]:
        return [h for h in self.homeworks if h.id == name.strip().lower()]

    def class_folder(self, name: str) -> Homework | None:
        """The homework a class folder's name stands for: `hw2` when only one course has it, or
        `mfdnn-hw2` / `mfdnn_hw2` / `mfdnn.hw2`."""
        name = name.strip().lower()
        for sep in ("-", "_", "."):
            course, _, homework = name.partition(sep)
            if homework and course in self.courses:
                found = self.lookup(homework, course)
                if found is not None:
                    return found
        return self.lookup(name) if "/" not in name else None

    def class_of(self, folder: Path) -> Homework | None:
        """The homework a student folder's class folder stands for: `.../hw2/alice`,
        `.../dl-hw2/alice`, or `.../dl/hw2/alice` (a course folder holding class folders)."""
        parent = folder.resolve().parent
        course = self.course_folder(parent.parent.name)
        if course is not None:
            found = self.lookup(parent.name, course)
            if found is not None:
                return found
        return self.class_folder(parent.name)

    def course_folder(self, name: str) -> str | None:
        """The course id a folder holding class folders is named after (`submissions/mfdnn/`)."""
        name = name.strip().lower()
        return name if name in self.courses else None

    @property
    def names(self) -> set[str]:
        """Every folder name that stands for a homework or a course (for discovery)."""
        names = {h.qualified for h in self.homeworks} | set(self.courses)
        for h in self.homeworks:  # a short id names a class folder even where it is ambiguous
            names |= {h.id, *(f"{h.course}{sep}{h.id}" for sep in ("-", "_", "."))}
        return names


def _is_course(folder: Path) -> bool:
    """A course folder holds `course.yaml`, or at least rubric files (`*.yaml`) of its own."""
    return folder.is_dir() and (
        (folder / COURSE_FILE).is_file() or any(p.is_file() for p in folder.glob("*.yaml"))
    )


def course_dirs(roots: Iterable[Path]) -> list[Path]:
    """The course folders in `roots`: each root is a course or a folder of course folders."""
    found: list[Path] = []
    for root in roots:
        if _is_course(root):
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.iterdir() if _is_course(p)))
    return found


def load_course(folder: Path) -> tuple[CourseConfig, list[Homework]]:
    """A course folder's config and homeworks (one per rubric file beside `course.yaml`).

    A folder of rubrics without `course.yaml` is a course named after the folder, with its
    references in `reference/` inside it (or none)."""
    path = folder / COURSE_FILE
    try:
        raw = (
            yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if path.is_file()
            else {"id": _folder_id(folder)}
        )
        config = CourseConfig.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RubricError(path, [str(exc)]) from exc
    reference_root = (folder / config.reference).resolve()
    homeworks = [
        Homework(config.id, rubric.stem.lower(), rubric, reference_root)
        for rubric in sorted(folder.glob("*.yaml"))
        if rubric.name != COURSE_FILE
    ]
    return config, homeworks


def _folder_id(folder: Path) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in folder.resolve().name.lower())
    return name.strip("-_") or "course"


def load_catalog(roots: Sequence[Path] = (DEFAULT_COURSES,)) -> Catalog:
    """Every course in `roots`; two courses with one id is an error naming both folders."""
    return _load_catalog(tuple(r.resolve() for r in roots))


@functools.lru_cache(maxsize=16)
def _load_catalog(roots: tuple[Path, ...]) -> Catalog:
    courses: dict[str, CourseConfig] = {}
    where: dict[str, Path] = {}
    homeworks: list[Homework] = []
    for folder in course_dirs(roots):
        config, found = load_course(folder)
        if config.id in courses:
            raise UsageError(
                f"two courses are named {config.id!r}: {where[config.id]} and {folder}"
            )
        courses[config.id] = config
        where[config.id] = folder
        homeworks.extend(found)
    return Catalog(tuple(homeworks), courses)


def rubric_fingerprints(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """Per homework (full id), names only its answers contain: the classes and scripts its
    rubric asks for. What recognises the homework of a folder that does not state it."""
    return _fingerprints(catalog.homeworks)


@functools.lru_cache(maxsize=16)
def _fingerprints(homeworks: tuple[Homework, ...]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for homework in homeworks:
        try:
            rubric = load_rubric(homework.rubric_path)
        except RubricError:
            continue
        marks = [m for p in rubric.problems for c in p.checks for m in c.recognised_by()]
        marks += rubric.recognise
        found[homework.qualified] = tuple(dict.fromkeys(marks))
    return found


def homework_at(rubric_path: Path) -> Homework:
    """The homework whose rubric is this file (its course folder holds `course.yaml`)."""
    _, homeworks = load_course(rubric_path.resolve().parent)
    for homework in homeworks:
        if homework.rubric_path.resolve() == rubric_path.resolve():
            return homework
    raise UsageError(f"{rubric_path} is not a rubric of a course (no course.yaml beside it)")
