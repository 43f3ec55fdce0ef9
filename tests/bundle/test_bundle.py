"""Students' bundles (issue 16): nothing leaks, and what they decide is what the TA decides.

Every demo homework is bundled twice: as its rubric stands (answers protected by default), and
from a copy of its course where every other check is hidden and one answer is made confirmable
(`visibility: public`), so hidden ids, TA prompts and confirmable answers are all exercised.

The leak test opens every file of each bundle, inside its archive too, and looks for every
distinctive line of the reference code, every distinctive number of an answer students may not
confirm (as the grader and JSON write numbers), every hidden check's id and every TA prompt.
The comparison grades the demo classes as the TA does and as a student with the bundle does:
every check the bundle decides must get the TA's status, score and message.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.bundle import BUNDLE_DIR, Bundle, build_bundle, distinctive
from grader.courses import Homework, load_catalog
from grader.judges.number import SALTED_NOTE
from grader.pipeline import GradeOptions, grade
from grader.reference import GRADING_TIME, encode_fact, load_reference, precomputed_path
from grader.results import GradeReport, Status
from grader.rubric import ANSWER_KINDS, FormulaCheck, ManualCheck, RefValue, Rubric, load_rubric

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "grader"
HOMEWORKS = sorted(h.qualified for h in load_catalog([ROOT / "rubrics"]).homeworks)
VARIANTS = ("as-shipped", "with-hidden")

pytestmark = pytest.mark.slow  # each hw6 bundle computes the reference's double-descent curves


# --- the courses bundled ------------------------------------------------------------------------


def _with_hidden(target: Path) -> Path:
    """A copy of the repository's courses where every other check is hidden and the first
    answer check left shown is made confirmable."""
    shutil.copytree(ROOT / "rubrics", target)
    for course in target.iterdir():
        config = yaml.safe_load((course / "course.yaml").read_text())
        config["reference"] = str((ROOT / "rubrics" / course.name / config["reference"]).resolve())
        (course / "course.yaml").write_text(yaml.safe_dump(config))
        for rubric in course.glob("*.yaml"):
            if rubric.name == "course.yaml":
                continue
            data = yaml.safe_load(rubric.read_text())
            checks = [c for p in data["problems"] for c in p["checks"]]
            for i, check in enumerate(checks):
                if i % 2:
                    check["visibility"] = "hidden"
            shown = [c for c in checks if c.get("visibility") != "hidden"]
            answers = [c for c in shown if c["kind"] in ANSWER_KINDS]
            if answers:
                answers[0]["visibility"] = "public"
            rubric.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


@pytest.fixture(scope="module")
def courses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    hidden = _with_hidden(tmp_path_factory.mktemp("courses") / "rubrics")
    return {"as-shipped": ROOT / "rubrics", "with-hidden": hidden}


@pytest.fixture(scope="module")
def bundles(
    courses: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[Homework, Bundle]]:
    built = {}
    for variant, root in courses.items():
        out = tmp_path_factory.mktemp(f"bundles-{variant}")
        for homework in load_catalog([root]).homeworks:
            built[variant, homework.qualified] = (homework, build_bundle(homework, out))
    return built


# --- what must not be in a bundle ---------------------------------------------------------------


def _files(bundle: Bundle) -> dict[str, bytes]:
    """Every file of the bundle's folder and of its archive, by where it is."""
    found = {str(p.relative_to(bundle.folder)): p.read_bytes() for p in _walk(bundle.folder)}
    with tarfile.open(bundle.archive) as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                found[f"{bundle.archive.name}:{member.name}"] = handle.read()
    for name, data in list(found.items()):  # archives inside: opened too
        if name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(fileobj=io.BytesIO(data)) as inner:
                for member in inner.getmembers():
                    handle = inner.extractfile(member) if member.isfile() else None
                    if handle is not None:
                        found[f"{name}:{member.name}"] = handle.read()
    return found


def _walk(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _reference_lines(homework: Homework, rubric: Rubric) -> set[str]:
    """The reference package's lines that say something (long enough to be its own)."""
    assert rubric.reference is not None
    lines: set[str] = set()
    for path in (homework.reference_root / rubric.reference).rglob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 16 and not set(line) <= set("#=-*\"' "):
                lines.add(line)
    return lines


def _protected(homework: Homework, rubric: Rubric) -> set[float]:
    """The distinctive numbers of every answer students may not confirm, from the reference."""
    reference = load_reference(rubric, homework.reference_root)
    assert reference is not None
    numbers: set[float] = set()
    for problem in rubric.problems:
        for check in problem.checks:
            expected = getattr(check, "expected", None)
            if check.shown == "public" or expected is None or isinstance(check, FormulaCheck):
                continue
            if check.kind not in ANSWER_KINDS and check.shown != "hidden":
                continue
            value = reference.value(expected) if isinstance(expected, RefValue) else expected
            numbers |= _numbers(encode_fact(value))
    return numbers


def _numbers(value: Any) -> set[float]:
    if isinstance(value, dict):
        return set().union(*(_numbers(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_numbers(v) for v in value))
    if isinstance(value, int | float) and not isinstance(value, bool) and distinctive(value):
        return {float(value)}
    return set()


def _stated(rubric: Rubric) -> set[float]:
    """Numbers the rubric states besides its answers (input shapes, given weights, tolerances):
    students see them in the statement, so finding one is no leak."""
    data = rubric.model_dump(mode="json")
    for problem in data["problems"]:
        for check in problem["checks"]:
            for key in ("expected", "prompt"):
                check.pop(key, None)
    data.pop("description", None)
    return _numbers(data)


def _id_patterns(check_id: str) -> list[re.Pattern[str]]:
    """A check id as a rubric (YAML) or a precomputed key (JSON) names a check; an id with an
    underscore anywhere at all (`total` is also a word of a values check's forms)."""
    quoted = re.escape(check_id)
    patterns = [rf"(?m)\bid:\s*['\"]?{quoted}['\"]?\s*$", rf'"id":\s*"{quoted}"']
    if "_" in check_id:
        patterns.append(rf"\b{quoted}\b")
    return [re.compile(p) for p in patterns]


def _in_bundle(name: str) -> str:
    """A file's path inside the bundle's folder, for one found in the archive too."""
    if ":" not in name:
        return name
    return name.rsplit(":", 1)[-1].split("/", 1)[-1]


def _number_patterns(number: float) -> list[re.Pattern[str]]:
    """How a number may be written: as Python and JSON write it, with thousands separators,
    rounded to 4 and 6 significant digits (where that still says something); never as part of
    a longer number."""
    if number.is_integer():
        n = int(number)
        forms = {str(n), f"{n:,}", f"{n:_}"}
    else:
        rounded = {f"{number:.4g}", f"{number:.6g}"}
        forms = {repr(number), *(r for r in rounded if distinctive(float(r)))}
    return [re.compile(rf"(?<![\d.]){re.escape(f)}(?![\d])") for f in forms]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("qualified", HOMEWORKS)
def test_a_bundle_holds_no_reference_code_no_hidden_check_and_no_protected_answer(
    bundles: dict[tuple[str, str], tuple[Homework, Bundle]], variant: str, qualified: str
) -> None:
    homework, bundle = bundles[variant, qualified]
    rubric = load_rubric(homework.rubric_path)
    files = _files(bundle)
    texts = {name: data.decode("utf-8", errors="replace") for name, data in files.items()}
    engine_source = {
        str(p.relative_to(ENGINE)): p.read_bytes()
        for p in _walk(ENGINE)
        if "__pycache__" not in p.parts and BUNDLE_DIR not in p.parts
    }
    data_files: dict[str, str] = {}
    for name, data in files.items():
        assert not name.endswith((".pyc", ".so", ".pt", ".pkl")), name
        inside = _in_bundle(name)
        if inside.startswith("grader/") and BUNDLE_DIR not in inside:
            # the engine: the grader's own public code, byte for byte, and nothing more
            assert engine_source.get(inside.removeprefix("grader/")) == data, name
        else:
            data_files[name] = texts[name]
    leaks: list[str] = []
    for line in _reference_lines(homework, rubric):  # the engine is public code, checked above
        leaks += [f"reference line {line!r} in {n}" for n, t in data_files.items() if line in t]
    for number in _protected(homework, rubric) - _stated(rubric):
        for pattern in _number_patterns(number):
            leaks += [
                f"answer {pattern.pattern} in {n}"
                for n, t in data_files.items()
                if pattern.search(t)
            ]
    hidden = [(p.id, c.id) for p in rubric.problems for c in p.checks if c.shown == "hidden"]
    shown_ids = {c.id for p in rubric.problems for c in p.checks if c.shown != "hidden"}
    for problem_id, check_id in hidden:
        if check_id in shown_ids:  # another problem's check of the same id is shown
            continue
        leaks += [
            f"hidden check {problem_id}.{check_id} in {n}"
            for n, t in data_files.items()
            if any(pattern.search(t) for pattern in _id_patterns(check_id))
        ]
    prompts = [
        c.prompt
        for p in rubric.problems
        for c in p.checks
        if isinstance(c, ManualCheck) and c.prompt
    ]
    for prompt in prompts:
        leaks += [f"TA prompt {prompt[:40]!r} in {n}" for n, t in texts.items() if prompt in t]
    assert not leaks, "\n".join(leaks[:20])
    if variant == "with-hidden":
        assert hidden, "the test copy hides every other check"
    assert _reference_lines(homework, rubric), "the reference has lines to look for"


# --- the same verdicts -------------------------------------------------------------------------


def _class(homework: Homework) -> list[Path]:
    folder = ROOT / "submissions" / homework.course / homework.id
    return sorted(p for p in folder.iterdir() if p.is_dir())


#: The difference a failed equivalence reports: measured on the TA's weights at grading time, on
#: the bundle's in a self-check (the reverse transplant), so the figure differs, nothing else.
_DIFFERENCE = re.compile(r"max abs diff [^)]*\)")
#: How long a script ran: the same recording when replayed, but two live runs under
#: `--record-sandbox` (the TA's and the student's) take their own time.
_DURATION = re.compile(r"ran to the end in \d+ s")


def _said(message: str) -> str:
    return _DURATION.sub("ran to the end", _DIFFERENCE.sub("max abs diff ?)", message))


def _compare(ta: GradeReport, student: GradeReport, hidden: set[tuple[str, str]]) -> int:
    """Every check the bundle decided has the TA's verdict; returns how many it decided."""
    by_key = {
        (s.student, p.id, c.id): c for s in ta.submissions for p in s.problems for c in p.checks
    }
    decided = 0
    for sub in student.submissions:
        for problem in sub.problems:
            for check in problem.checks:
                assert (problem.id, check.id.split(".")[0]) not in hidden
                theirs = by_key[sub.student, problem.id, check.id]
                if check.message in (GRADING_TIME, "not run (deselected)"):
                    assert check.status is Status.SKIPPED
                    continue
                if SALTED_NOTE in check.message:  # a wrong confirmable number: no value to show
                    assert (check.status, check.score) == (theirs.status, theirs.score)
                    assert "expected" in theirs.message
                    decided += 1
                    continue
                mine = (check.status, check.score, _said(check.message), check.hint, check.details)
                assert mine == (
                    theirs.status,
                    theirs.score,
                    _said(theirs.message),
                    theirs.hint,
                    theirs.details,
                ), (sub.student, check.id)
                decided += 1
    return decided


@pytest.mark.sandbox  # a class's script checks (hw2's LaTeX student) run in the real sandbox
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("qualified", HOMEWORKS)
def test_written_answers_get_the_tas_verdicts(
    bundles: dict[tuple[str, str], tuple[Homework, Bundle]],
    courses: dict[str, Path],
    variant: str,
    qualified: str,
) -> None:
    """Checks that run no student code, on every demo class (those that do need recordings,
    which exist for the HW6 class: the next test)."""
    homework, bundle = bundles[variant, qualified]
    select = "not module and not script and not custom"
    ta = grade(_class(homework), GradeOptions(rubrics_dir=courses[variant], select=select))
    mine = grade(
        _class(homework),
        GradeOptions(rubrics_dir=bundle.folder / "grader" / BUNDLE_DIR, select=select),
    )
    rubric = load_rubric(homework.rubric_path)
    hidden = {(p.id, c.id) for p in rubric.problems for c in p.checks if c.shown == "hidden"}
    decided = _compare(ta, mine, hidden)
    public = [c for p in rubric.problems for c in p.checks if c.shown == "public"]
    if variant == "with-hidden" and any(c.kind in ANSWER_KINDS for c in public):
        assert decided, "a confirmable answer is decided by the bundle"
    assert all(s.notes and "students' bundle" in s.notes[0] for s in mine.submissions)


#: Per demo class, the students whose layer's equivalence the bundle leaves for grading (the
#: staff's grader decides it only with some reference parameters zero-filled, which needs the
#: reference's code); the bundle decides every other one, and as the TA does.
UNDECIDED_EQUIVALENCE = {"mfdnn/hw6": {"dave"}, "mfdnn/hw4": {"dara"}}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("qualified", sorted(UNDECIDED_EQUIVALENCE))
def test_a_class_with_modules_gets_the_tas_verdicts(
    bundles: dict[tuple[str, str], tuple[Homework, Bundle]],
    courses: dict[str, Path],
    variant: str,
    qualified: str,
    recorded_runner: Any,
) -> None:
    """The whole HW6 and HW4 classes, their modules and scripts replayed from their recorded
    runs (the bundle's second runs of a module, on the reference's weights, too)."""
    homework, bundle = bundles[variant, qualified]
    students = _class(homework)
    ta = grade(students, GradeOptions(rubrics_dir=courses[variant], runner=recorded_runner()))
    mine = grade(
        students,
        GradeOptions(rubrics_dir=bundle.folder / "grader" / BUNDLE_DIR, runner=recorded_runner()),
    )
    rubric = load_rubric(homework.rubric_path)
    hidden = {(p.id, c.id) for p in rubric.problems for c in p.checks if c.shown == "hidden"}
    assert _compare(ta, mine, hidden) >= len(students)
    equivalence = {
        sub.student.rsplit("/", 1)[-1]: check
        for sub in mine.submissions
        for problem in sub.problems
        for check in problem.checks
        if check.id.endswith(".equivalence")
    }
    if not equivalence:  # the with-hidden copy hides the module check
        return
    assert len(equivalence) == len(students)
    waiting = {s for s, c in equivalence.items() if c.message == GRADING_TIME}
    bundled = bundle.folder / "grader" / BUNDLE_DIR / homework.course / f"{homework.id}.yaml"
    memo = json.loads(precomputed_path(bundled).read_text(encoding="utf-8"))["memo"]
    if not any(key.startswith("reverse:") for key in memo):
        # the reference's weights would give away a count students may not confirm (hw6's p4a)
        decided = {s: c.status for s, c in equivalence.items() if s not in waiting}
        assert set(decided.values()) <= {Status.ERROR}, decided  # only a crash is said now
        return
    assert waiting == UNDECIDED_EQUIVALENCE[qualified]
    assert any(c.status is Status.PASSED for c in equivalence.values())
    assert any(c.status is Status.FAILED for c in equivalence.values())


# --- the bundle's own engine, as a student runs it -----------------------------------------------


def _grade_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`grade ARGS` run by the bundle's own copy of the engine (its folder first on the path,
    as after `pip install`), in a fresh process."""
    code = "import sys; from grader.cli import main; sys.exit(main())"
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(folder)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_student_runs_the_bundle_and_is_told_its_version_and_what_waits(
    bundles: dict[tuple[str, str], tuple[Homework, Bundle]], tmp_path: Path
) -> None:
    """dl/hw2 runs no student code: no sandbox starts."""
    homework, bundle = bundles["with-hidden", "dl/hw2"]
    student = _class(homework)[0]
    run = _grade_in(bundle.folder, str(student), "--cache-dir", str(tmp_path))
    assert run.returncode == 0, run.stderr
    out = " ".join(run.stdout.split())  # the panel wraps lines
    assert f"students' bundle {bundle.version}" in out
    assert "checked at grading time" in out
    hidden = load_catalog([bundle.folder / "grader" / BUNDLE_DIR]).homeworks
    assert [h.qualified for h in hidden] == ["dl/hw2"]  # the bundled course, and only it


def test_the_attempt_limit_is_counted_on_the_students_machine(tmp_path: Path) -> None:
    homework = load_catalog([ROOT / "rubrics"]).find("dl/hw2")
    bundle = build_bundle(homework, tmp_path / "out", attempts=1)
    student = _class(homework)[0]
    first = _grade_in(bundle.folder, str(student), "--cache-dir", str(tmp_path / "cache"))
    assert first.returncode == 0, first.stderr
    assert "self-check 1 of 1 allowed" in first.stdout
    second = _grade_in(bundle.folder, str(student), "--cache-dir", str(tmp_path / "cache"))
    assert second.returncode == 2
    assert "self-checks are used up" in " ".join(second.stderr.split())
