"""`grade bundle COURSE/HOMEWORK`: what students get to check their own work, and nothing more.

A bundle is an installable package (and the same as one `.tar.gz`): the grader's engine as it
is (it holds no course content), the homework's rubric reduced to what students may see, and the
facts its public checks need, computed from the reference when the bundle is built. Students
install it and run `grade my-folder/`; the engine finds the bundled course (`grader/_bundle/`)
and judges with `PrecomputedReference` (`grader.reference`) instead of the reference package.

What never goes in:
- reference code: facts are data (numbers, arrays, the points a formula is sampled at with the
  reference's values there), never functions or modules;
- hidden checks: left out of the rubric; a problem says only how many points wait for grading;
- a script check judged by the homework's own analysis (its checks file is not shipped):
  withheld as a hidden check is;
- TA prompts (manual checks) and the rubric's description (it may explain the answers);
- the expected value of an answer the instructor has not made confirmable (`visibility: public`):
  the check stays, its answer's form is checked, its `expected` is replaced by a name the bundle
  does not hold, so the verdict waits for grading;
- any precomputed fact that contains one of those protected answers (a module's parameter count
  that is also a number answer): dropped, and that part too waits for grading.

A module check's equivalence (and what rests on it: backward, the parameter count, independence)
is judged the other way round: the reference's weights, the grader's inputs and the reference's
outputs and gradients on them are stored as data (`grader.judges.reverse`), loaded into the
student's layer at self-check time and compared. Whatever a public check needs that is not in
the bundle makes that part "checked at grading time", never a guess.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import yaml

from grader import __version__
from grader.courses import Homework
from grader.errors import UsageError
from grader.ingest.submission import Submission
from grader.judges.analysis import load_with_analyses, standard
from grader.judges.context import GradingContext
from grader.judges.formula import _reference_samples
from grader.judges.module import _reference_count
from grader.judges.reverse import REVERSE_ASPECTS, reverse_facts, reverse_key
from grader.reference import (
    Reference,
    SaltedAnswer,
    encode_fact,
    load_reference,
    precomputed_path,
    value_key,
)
from grader.rubric import (
    ANSWER_KINDS,
    Check,
    CompareRunCheck,
    FormulaCheck,
    ManualCheck,
    ModuleCheck,
    NumberCheck,
    Problem,
    RefValue,
    Rubric,
    ScriptCheck,
)
from grader.sandbox.observe import Observer, probe_id

ENGINE = Path(__file__).resolve().parent
BUNDLE_DIR = "_bundle"  # inside the package: found by `grader.courses` when installed
MANIFEST = "BUNDLE.json"
#: What a withheld answer's `expected` becomes: a name no bundle holds.
WITHHELD = RefValue(ref="withheld_until_grading")


@dataclass(frozen=True)
class Bundle:
    """A built bundle: its folder (installable with pip), its archive and its version."""

    folder: Path
    archive: Path
    version: str


def build_bundle(
    homework: Homework, out: Path, seed: int = 0, attempts: int | None = None
) -> Bundle:
    """Build `homework`'s students' bundle under `out`; the reference must be installed."""
    rubric = load_with_analyses(homework.rubric_path)
    reference = load_reference(rubric, homework.reference_root)
    if reference is None:
        raise UsageError(f"{homework.qualified}: its reference is not installed; cannot bundle")
    protected = protected_numbers(rubric, reference)
    reduced, hidden = reduce_rubric(rubric)
    name = f"grader-{homework.course}-{homework.id}"
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    course_dir = folder / "grader" / BUNDLE_DIR / homework.course
    _copy_engine(folder / "grader")
    course_dir.mkdir(parents=True)
    rubric_path = course_dir / f"{homework.id}.yaml"
    rubric_path.write_text(_rubric_yaml(reduced), encoding="utf-8")
    # facts keyed by the checks exactly as students load them
    reloaded = load_with_analyses(rubric_path)
    values, memo = precompute(reloaded, reference, seed, protected)
    values.update(_salted_answers(rubric, reference))
    facts = {"values": values, "memo": memo, "hidden": hidden}
    digest = hashlib.sha256(
        rubric_path.read_bytes() + json.dumps(facts, sort_keys=True).encode()
    ).hexdigest()[:12]
    version = f"{__version__}+{homework.course}.{homework.id}.{digest}"
    precomputed_path(rubric_path).write_text(
        json.dumps({"version": version, **facts}, sort_keys=True), encoding="utf-8"
    )
    (course_dir / "course.yaml").write_text(
        yaml.safe_dump({"id": homework.course, "title": homework.course, "reference": "none"}),
        encoding="utf-8",
    )
    manifest = {
        "version": version,
        "homework": homework.qualified,
        "grader": __version__,
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "hidden": hidden,
        "attempts": attempts,
    }
    (folder / "grader" / BUNDLE_DIR / MANIFEST).write_text(
        json.dumps(manifest, indent=2), encoding="utf-8"
    )
    (folder / "pyproject.toml").write_text(_pyproject(name, version), encoding="utf-8")
    (folder / "README.md").write_text(_readme(homework, version), encoding="utf-8")
    archive = out / f"{name}-{digest}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=name)
    return Bundle(folder, archive, version)


# --- what students may see ----------------------------------------------------------------


def reduce_rubric(rubric: Rubric) -> tuple[Rubric, dict[str, float]]:
    """The rubric as students get it, and per problem the points of its hidden checks."""
    problems: list[Problem] = []
    hidden: dict[str, float] = {}
    for problem in rubric.problems:
        shown = [_students_check(problem.id, c) for c in problem.checks if _shipped(c, problem)]
        withheld = sum(c.points for c in problem.checks if not _shipped(c, problem))
        if withheld:
            hidden[problem.id] = withheld
        if shown:
            points = sum(c.points for c in shown)
            problems.append(problem.model_copy(update={"checks": shown, "points": points}))
    reduced = rubric.model_copy(update={"problems": problems, "description": "", "reference": None})
    return reduced, hidden


def _shipped(check: Check, problem: Problem) -> bool:
    """Whether students get the check: not a hidden one, nor a script check judged by the
    homework's own analysis (its checks file, which may hold answers, is not shipped), nor a
    `compare_run` reading the run of a script check they do not get."""
    if check.shown == "hidden":
        return False
    if isinstance(check, CompareRunCheck):
        run = next((c for c in problem.checks if c.id == check.run), None)
        return run is not None and _shipped(run, problem)
    return not isinstance(check, ScriptCheck) or check.analysis in standard()


def _students_check(problem_id: str, check: Check) -> Check:
    """One check as students get it: no TA prompt, no answer they may not confirm, and a
    confirmable exact number named by a key whose fact is its salted hash."""
    if isinstance(check, ManualCheck):
        return check.model_copy(update={"prompt": ""})
    if _salted(check):
        return check.model_copy(update={"expected": _confirm_key(problem_id, check)})
    if check.kind in ANSWER_KINDS and check.shown != "public":
        return check.model_copy(update={"expected": WITHHELD})
    return check


def _confirm_key(problem_id: str, check: Check) -> RefValue:
    return RefValue(ref=f"confirm_{problem_id}_{check.id}")


def _salted_answers(rubric: Rubric, reference: Reference) -> dict[str, Any]:
    """The salted hash of every confirmable exact number, under its key in the bundle's rubric
    (one salt per bundle, so equal answers of two bundles hash apart)."""
    salt = secrets.token_hex(16)
    facts: dict[str, Any] = {}
    for problem in rubric.problems:
        for check in problem.checks:
            if not _salted(check):
                continue
            expected = getattr(check, "expected", None)
            value = reference.value(expected) if isinstance(expected, RefValue) else expected
            salted = SaltedAnswer.of(float(cast(float, value)), salt)
            facts[value_key(_confirm_key(problem.id, check))] = encode_fact(salted)
    return facts


def _salted(check: Check) -> bool:
    """A confirmable number judged exactly: students confirm it by its salted hash."""
    return (
        isinstance(check, NumberCheck)
        and check.shown == "public"
        and check.atol == 0
        and check.rtol == 0
    )


def _rubric_yaml(rubric: Rubric) -> str:
    # What the rubric set, as it set it: a default written out reloads validated (60.0 where
    # the unvalidated default is 60), and a probe's plan hashed with it would differ from the
    # staff's, so the same submission would not be the same job.
    data = rubric.model_dump(mode="json", exclude_unset=True)
    header = "# A students' bundle rubric, written by `grade bundle`: hidden checks left out.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --- facts from the reference ---------------------------------------------------------------


def precompute(
    rubric: Rubric, reference: Reference, seed: int, protected: set[float]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The facts the public checks of `rubric` need, keyed as the judges key them: `values`
    (what `Reference.value` returns) and `memo` (what judges memoise per run). A fact holding
    a protected answer is left out."""
    ctx = GradingContext(
        submission=cast(Submission, None),
        rubric=rubric,
        reference=reference,
        observer=cast(Observer, None),
        run_seed=seed,
    )
    values: dict[str, Any] = {}
    reverses: dict[str, Any] = {}  # the reverse transplant's data (`grader.judges.reverse`)
    for problem in rubric.problems:
        for check in problem.checks:
            if check.shown != "public":  # its verdict waits for grading: nothing to ship
                continue
            for ref in _needed_values(check):
                values[value_key(ref)] = encode_fact(reference.value(ref))
            if isinstance(check, FormulaCheck):
                _reference_samples(problem, check, ctx)
            if isinstance(check, ModuleCheck):
                _reference_count(check, ctx)
                if REVERSE_ASPECTS & set(check.aspects):
                    reverse = reverse_facts(check, reference, seed)
                    if reverse is not None and not _layout_reveals(reverse, protected):
                        reverses[reverse_key(probe_id(problem, check))] = encode_fact(reverse)
    memo = {k: encode_fact(v) for k, v in reference.memo.items() if k.startswith(_MEMO_FACTS)}
    memo.update(reverses)
    keep = lambda fact: not (_numbers(fact) & protected)  # noqa: E731
    return (
        {k: v for k, v in values.items() if keep(v)},
        {k: v for k, v in memo.items() if keep(v)},
    )


def _layout_reveals(reverse: dict[str, Any], protected: set[float]) -> bool:
    """Whether the reference's weights would give away a protected answer: their shapes add up
    to the layer's parameter count, which a homework may ask for without letting students
    confirm it (hw6's p4a, hw4's count of C3's parameters). Such a check's equivalence and
    backward then wait for grading, like its `param_count`; an instructor who makes the count
    confirmable (`visibility: public`) ships them."""
    return float(sum(math.prod(shape) for _, shape in reverse["layout"])) in protected


#: The memo entries judges compute from the reference alone (never from a student's answer).
_MEMO_FACTS = ("formula:", "count:")


def _needed_values(check: Check) -> list[RefValue]:
    """The `{ref: ...}` values a public check reads: a confirmable answer's expected value, a
    script's reference run (when an aspect besides `runs` compares with it)."""
    if check.kind in ANSWER_KINDS and check.kind != "formula" and not _salted(check):
        expected = getattr(check, "expected", None)
        return [expected] if isinstance(expected, RefValue) and expected != WITHHELD else []
    if isinstance(check, ScriptCheck) and set(check.aspects) - {"runs"}:
        return [RefValue(ref=check.reference, args=check.reference_args)]
    return []


def protected_numbers(rubric: Rubric, reference: Reference) -> set[float]:
    """The distinctive numbers of every answer students may not confirm (hidden checks, and
    answers not made public): no fact in the bundle may hold one."""
    found: set[float] = set()
    for problem in rubric.problems:
        for check in problem.checks:
            if check.shown == "public" or (check.kind not in ANSWER_KINDS and not _hidden(check)):
                continue
            expected = getattr(check, "expected", None)
            if isinstance(expected, RefValue) and not isinstance(check, FormulaCheck):
                found |= _numbers(encode_fact(reference.value(expected)))
            elif expected is not None and not isinstance(expected, RefValue):
                found |= _numbers(expected)
    return found


def _hidden(check: Check) -> bool:
    return check.shown == "hidden"


def distinctive(number: float) -> bool:
    """A number that says something when found: not 0, 1, 2 or another small round count that
    any code or data holds by chance."""
    if not math.isfinite(number):
        return False
    if float(number).is_integer():
        return abs(number) >= 100
    return len(f"{abs(number):.12g}".replace("0.", "").lstrip("0")) >= 3


def _numbers(value: Any) -> set[float]:
    """The distinctive numbers anywhere in a JSON-like value."""
    found: set[float] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif (
            isinstance(item, int | float)
            and not isinstance(item, bool)
            and distinctive(float(item))
        ):
            found.add(float(item))
    return found


# --- a student's attempts ------------------------------------------------------------------


def take_attempt(manifest: Path, cache_dir: Path) -> str | None:
    """Count one self-check against the bundle's limit, if it sets one (`--attempts`; off by
    default), as okpy and otter limit theirs: recorded on the student's machine, so it paces
    a student rather than secures anything. None when there is no limit."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    limit = data.get("attempts")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    version = str(data.get("version", "unknown"))
    record = cache_dir / "attempts" / (re.sub(r"[^\w.+-]", "_", version) + ".json")
    try:
        used = int(json.loads(record.read_text(encoding="utf-8")).get("used", 0))
    except (OSError, ValueError, AttributeError):
        used = 0
    if used >= limit:
        raise UsageError(
            f"this bundle's {limit} self-checks are used up (bundle {version}); your work is "
            "still graded in full when you hand it in"
        )
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"used": used + 1}), encoding="utf-8")
    return f"self-check {used + 1} of {limit} allowed with this bundle"


# --- the package ----------------------------------------------------------------------------


def _copy_engine(target: Path) -> None:
    """The grader's own package, as it is (no course content lives in it), minus caches and
    any bundle it was itself installed from."""
    shutil.copytree(
        ENGINE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", BUNDLE_DIR)
    )


def _pyproject(name: str, version: str) -> str:
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version.partition("+")[0]}"
description = "Self-check for students: {version}"
requires-python = ">=3.11"
dependencies = ["torch>=2.3", "numpy>=2.1", "pytest>=7.4", "pydantic>=2.5", "rich>=13",
                "pyyaml>=6", "matplotlib>=3.7", "pypdf>=4"]

[project.scripts]
grade = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = ["*.ini", "py.typed", "{BUNDLE_DIR}/*.json", "{BUNDLE_DIR}/*/*"]
"grader.sandbox" = ["inside/*.py"]
"""


def _readme(homework: Homework, version: str) -> str:
    return f"""# Self-check for {homework.qualified}

Bundle version {version}.

    pip install .
    grade my-folder/

Every check this bundle can decide is judged as the course staff's run judges it, with the same
messages. Checks marked "checked at grading time" are judged when your work is graded: some are
hidden, some need what this bundle does not ship (answers you may not confirm, the reference
solution itself).
"""
