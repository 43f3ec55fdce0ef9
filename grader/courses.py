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
import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.errors import RubricError, UsageError
from grader.rubric import SAFE_LOADER, load_rubric

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


class Package(BaseModel):
    """A package the course's starters import: how pip names it, how code imports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str = Field(
        description="What pip installs, with a version if the course pins one "
        "(`scikit-learn`, `torchsummary==1.5.1`)."
    )
    imports: list[str] = Field(
        default_factory=list,
        description="Top-level import names it provides (`sklearn`); default: the requirement's "
        "name with `-` as `_`.",
    )

    @property
    def name(self) -> str:
        for stop in "<>=!~[; ":
            head, _, _ = self.requirement.partition(stop)
            if head != self.requirement:
                return head.strip()
        return self.requirement.strip()

    @property
    def import_names(self) -> list[str]:
        return self.imports or [self.name.replace("-", "_").lower()]


class EnvironmentConfig(BaseModel):
    """`environment:` in course.yaml: what student code of this course may import beyond the
    grader's own packages (torch, NumPy, matplotlib), prepared once by `grade env COURSE`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    packages: list[Package] = Field(default_factory=list)
    wheelhouse: str | None = Field(
        default=None,
        description="A folder of wheels (relative to course.yaml) to install from without a "
        "network; `grade env --wheelhouse DIR` overrides it.",
    )

    @field_validator("packages", mode="before")
    @classmethod
    def _plain_names(cls, value: object) -> object:
        """`- scikit-learn` is short for `- {requirement: scikit-learn}`."""
        if isinstance(value, list):
            return [{"requirement": v} if isinstance(v, str) else v for v in value]
        return value


class CourseConfig(BaseModel):
    """`course.yaml`: what the grader needs to know of a course besides its rubrics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID, description="Short id, unique among the courses graded together.")
    title: str = Field(default="", description="How reports name the course.")
    reference: str = Field(
        default="reference",
        description="Folder of the reference packages (one per homework), relative to this file.",
    )
    environment: EnvironmentConfig = Field(
        default_factory=EnvironmentConfig,
        description="Packages the course's code imports (`grade env` prepares them).",
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
    folders: dict[str, Path] = field(default_factory=dict)

    def environment(self, course: str) -> CourseEnvironment:
        """The course's declared packages and its prepared environment, if prepared."""
        config = self.courses.get(course)
        if config is None:
            return CourseEnvironment(course, ())
        return course_environment(config, self.folders.get(course))

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
    """The course folders in `roots`: each root is a course or a folder of course folders.

    One folder reached twice (`--course rubrics/mfdnn` beside the default `rubrics/`, or the
    plugin adding a rubric's own folder) is one course, listed once: only two *different*
    folders with one id are a conflict.
    """
    found: dict[Path, None] = {}
    for root in roots:
        if _is_course(root):
            found.setdefault(root.resolve())
        elif root.is_dir():
            for folder in sorted(p for p in root.iterdir() if _is_course(p)):
                found.setdefault(folder.resolve())
    return list(found)


def load_course(folder: Path) -> tuple[CourseConfig, list[Homework]]:
    """A course folder's config and homeworks (one per rubric file beside `course.yaml`).

    A folder of rubrics without `course.yaml` is a course named after the folder, with its
    references in `reference/` inside it (or none)."""
    path = folder / COURSE_FILE
    try:
        raw = (
            yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
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
    return Catalog(tuple(homeworks), courses, where)


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


# --- the course environment ------------------------------------------------------------------

ENVS_VAR = "GRADER_ENVS"  # where prepared environments live (default ~/.cache/grader/envs)
ENV_MARKER = "grader-env.json"  # written by `grade env` when it is done: what it installed


def envs_root() -> Path:
    configured = os.environ.get(ENVS_VAR)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "grader" / "envs"


def grader_site_packages() -> list[str]:
    """The grader's own package folders, which a course environment reuses (torch)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


@dataclass(frozen=True)
class CourseEnvironment:
    """A course's declared packages, and where its environment is prepared (if it is).

    The folder's name carries a fingerprint of the declaration, the interpreter and the grader
    environment it reuses: changing any of them names a new environment, to prepare again.
    """

    course: str
    packages: tuple[Package, ...]
    folder: Path | None = None
    wheelhouse: Path | None = None

    @property
    def declared(self) -> set[str]:
        """Every import name the course declares."""
        return {name for package in self.packages for name in package.import_names}

    @property
    def prepared(self) -> Path | None:
        """The prepared environment's folder (its interpreter runs student code), or None."""
        if self.folder is not None and (self.folder / ENV_MARKER).is_file():
            return self.folder
        return None

    @property
    def site_packages(self) -> Path | None:
        if self.folder is None:
            return None
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.folder / "lib" / version / "site-packages"

    def missing(self) -> dict[str, str]:
        """Requirement -> why, for the packages `grade env` could not install (from its marker)."""
        prepared = self.prepared
        if prepared is None:
            return {}
        try:
            state = json.loads((prepared / ENV_MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        missing = state.get("missing", {}) if isinstance(state, dict) else {}
        return {str(k): str(v) for k, v in missing.items()} if isinstance(missing, dict) else {}

    def provides(self, name: str) -> bool:
        """Whether the prepared environment holds the top-level package `name` (its folder,
        module or extension in site-packages), looked up without importing anything."""
        site = self.site_packages
        if self.prepared is None or site is None or not site.is_dir():
            return False
        return (
            (site / name).is_dir() or any(site.glob(f"{name}.py")) or any(site.glob(f"{name}.*.so"))
        )


def course_environment(config: CourseConfig, folder: Path | None) -> CourseEnvironment:
    """Where `config`'s environment lives, whether or not it is prepared yet."""
    packages = tuple(config.environment.packages)
    wheelhouse = None
    if config.environment.wheelhouse and folder is not None:
        wheelhouse = (folder / config.environment.wheelhouse).resolve()
    if not packages:
        return CourseEnvironment(config.id, packages, None, wheelhouse)
    digest = hashlib.sha256(
        json.dumps(
            {
                "packages": sorted(p.requirement for p in packages),
                "python": sys.version,
                "reuses": grader_site_packages(),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:12]
    return CourseEnvironment(config.id, packages, envs_root() / f"{config.id}-{digest}", wheelhouse)
