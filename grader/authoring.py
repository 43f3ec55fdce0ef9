"""Authoring a homework: scaffold one (`grade new`), and check a rubric against its reference
(`grade check`), so an instructor finds their mistakes before a class is graded.

Adding a homework is writing course content (a rubric, a reference package, tests of the
reference), never grader code; these commands are the grader's side of that promise.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grader.courses import COURSE_FILE, DEFAULT_COURSES, Homework
from grader.errors import RubricError, UsageError
from grader.judges.analysis import AnalysisError, load_with_analyses, registered
from grader.reference import Reference, load_reference
from grader.rubric import (
    CompareRunCheck,
    CustomCheck,
    ModuleCheck,
    Problem,
    RefValue,
    Rubric,
    ScriptCheck,
)

if TYPE_CHECKING:
    from grader.judges.compare_run import Replay

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


@dataclass
class Findings:
    """What `grade check` found: problems make the rubric unusable, notes deserve a look."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_homework(homework: Homework) -> Findings:
    """Everything that can be checked without a student: the rubric validates, every name it
    asks of the reference exists, module variants differ from each other and from the reference
    (a variant equal to another accepts nothing new), the custom checks file imports and defines
    every function the rubric names, every script analysis resolves (`load_with_analyses`) and the
    checks file's own analyses shadow none of the grader's."""
    found = Findings()
    try:
        rubric = load_with_analyses(homework.rubric_path)
    except RubricError as exc:
        found.problems.append(str(exc))
        return found
    reference = load_reference(rubric, homework.reference_root)
    if rubric.reference is not None and reference is None:
        found.problems.append(
            f"no reference package {homework.reference_root / rubric.reference} "
            "(its __init__.py is missing)"
        )
    if reference is not None:
        found.problems.extend(reference.missing(rubric))
        if not found.problems:
            found.problems.extend(_variants_differ(rubric, reference))
            found.problems.extend(_replays_differ(rubric, reference))
    custom = _custom_checks(homework, rubric)
    found.problems.extend(custom)
    if not custom:
        found.problems.extend(_analyses(homework))
    for problem in rubric.problems:
        for check in problem.checks:
            if isinstance(check, ModuleCheck) and check.symbol != check.reference:
                found.notes.append(
                    f"problem {problem.id}, check {check.id}: students write `{check.symbol}`, "
                    f"the reference is `{check.reference}`: make sure `symbol` is the name the "
                    "statement asks for (a misspelt symbol costs every student the misnaming "
                    "deduction)"
                )
    return found


def _variants_differ(rubric: Rubric, reference: Reference) -> list[str]:
    import torch

    problems: list[str] = []
    for problem in rubric.problems:
        for check in problem.checks:
            if not isinstance(check, ModuleCheck) or len(check.variants) < 2:
                continue
            outputs: list[tuple[str, torch.Tensor]] = []
            generator = torch.Generator().manual_seed(0)
            x = torch.randn(*check.inputs[0], generator=generator, dtype=torch.float64)
            for variant in check.variants:
                module = reference.instance(
                    check.reference, *check.init_args, double=True, **variant.args
                )
                with torch.no_grad():
                    torch.manual_seed(1)
                    for param in module.parameters():
                        param.copy_(torch.randn_like(param))
                    out = module(x)
                for name, other in outputs:
                    if other.shape == out.shape and torch.allclose(other, out):
                        problems.append(
                            f"problem {problem.id}, check {check.id}: variants {name!r} and "
                            f"{variant.name!r} compute the same function"
                        )
                outputs.append((variant.name, out))
    return problems


def _replays_differ(rubric: Rubric, reference: Reference) -> list[str]:
    """Each `compare_run` check's replays run, hold the compared quantities, and a replay with
    a mistake differs from every accepted one (else a correct run would be named a mistake, or
    the mistake never found)."""
    problems: list[str] = []
    for problem in rubric.problems:
        for check in problem.checks:
            if not isinstance(check, CompareRunCheck):
                continue
            where = f"problem {problem.id}, check {check.id}"
            for replays in _replay_groups(problem, check):
                problems.extend(_replays_apart(check, reference, replays, where))
    return problems


def _analyses(homework: Homework) -> list[str]:
    """The analyses the homework's checks file registers, read even when no rubric entry names
    one (a name that shadows one of the grader's is refused before it misleads anyone)."""
    try:
        registered(homework.rubric_path)
    except AnalysisError as exc:
        return [str(exc)]
    return []


def _replays_apart(
    check: CompareRunCheck, reference: Reference, replays: list[Replay], where: str
) -> list[str]:
    """Each replay of one seed runs, and each with a mistake ends apart from the accepted."""
    from grader.judges.compare_run import reference_value

    problems: list[str] = []
    accepted: list[tuple[dict[str, object], dict[str, np.ndarray]]] = []
    for replay in replays:
        try:
            run = reference.value(RefValue(ref=check.reference, args=replay.args))
            values = {
                name: reference_value(run, name, quantity)
                for name, quantity in check.compare.items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{where}: the replay {replay.args} fails: {exc}")
            continue
        if replay.mistake is None:
            accepted.append((replay.args, values))
            continue
        for args, ok in accepted:
            if all(
                ok[n].shape == values[n].shape
                and np.allclose(ok[n], values[n], rtol=q.rtol, atol=q.atol)
                for n, q in check.compare.items()
            ):
                problems.append(
                    f"{where}: the replay {replay.args} ({replay.mistake!r}) ends as the "
                    f"accepted replay {args} does: the runs cannot be told apart"
                )
    return problems


def _replay_groups(problem: Problem, check: CompareRunCheck) -> list[list[Replay]]:
    """The replays of a `compare_run` check, one group per run of its script check: under the
    check's own seeds for a run as written, under the imposed seed for each other (`seeds`)."""
    from grader.judges.compare_run import replays_of

    script = next(c for c in problem.checks if isinstance(c, ScriptCheck) and c.id == check.run)
    return [
        replays_of(check) if isinstance(seed, str) else replays_of(check, [seed])
        for seed in script.seeds
    ]


def _custom_checks(homework: Homework, rubric: Rubric) -> list[str]:
    wanted = [(p.id, c) for p in rubric.problems for c in p.checks if isinstance(c, CustomCheck)]
    path = homework.rubric_path.with_name(f"{homework.rubric_path.stem}_checks.py")
    if not wanted:
        return []
    if not path.is_file():
        return [f"custom checks need {path.name} beside the rubric"]
    spec = importlib.util.spec_from_file_location(f"_grade_check_{path.stem}", path)
    if spec is None or spec.loader is None:
        return [f"{path.name} cannot be imported"]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the file look their module up there
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # an instructor's file: any error is theirs to see
        return [f"{path.name} does not import: {type(exc).__name__}: {exc}"]
    finally:
        sys.modules.pop(spec.name, None)
    return [
        f"problem {problem_id}, check {check.id}: {path.name} has no function {check.function}"
        for problem_id, check in wanted
        if not callable(getattr(module, check.function, None))
    ]


def scaffold(name: str, rubrics: Path = DEFAULT_COURSES) -> list[Path]:
    """`grade new mfdnn/hw5`: a course folder if needed, a rubric, a reference package and a
    test of the reference, each a starting point that already passes `grade check`."""
    course, _, homework = name.strip().lower().partition("/")
    if not homework or not _ID.match(course) or not _ID.match(homework):
        raise UsageError(f"name the homework as course/homework (e.g. mycourse/hw5), not {name!r}")
    course_dir = rubrics / course
    repo = rubrics.resolve().parent
    reference_root = repo / "reference" / course
    files = {
        course_dir / COURSE_FILE: (
            f"# The course {course}: its rubrics sit beside this file.\n"
            f"id: {course}\ntitle: {course}\nreference: ../../reference/{course}\n"
        ),
        course_dir / f"{homework}.yaml": _RUBRIC.format(homework=homework, course=course),
        reference_root / "__init__.py": f'"""Reference solutions of the course {course}."""\n',
        reference_root / homework / "__init__.py": _REFERENCE.format(homework=homework),
        repo / "tests" / f"test_reference_{course}_{homework}.py": _TEST.format(
            homework=homework, course=course
        ),
    }
    if (course_dir / f"{homework}.yaml").exists():
        raise UsageError(f"{course_dir / f'{homework}.yaml'} exists already")
    written = []
    for path, text in files.items():
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


_RUBRIC = """# {course}/{homework}: the rubric. Check it with `grade check {course}/{homework}`;
# every `ref:` is computed by reference/{course}/{homework} and verified by its tests.
schema_version: 1
homework: {homework}
title: "{homework}"
reference: {homework}
problems:
  - id: p1
    title: "Problem 1"
    points: 2
    checks:
      - id: answer
        kind: number
        title: "the value asked for"
        points: 1
        expected: {{ref: p1_answer}}
      - id: proof
        kind: manual
        title: "the argument"
        points: 1
        prompt: "What a TA looks for (never shown to students)."
"""

_REFERENCE = '''"""Reference solutions of {homework}: every name a rubric `ref:` uses is here.

Import this package's own modules relatively (`from .training import run`).
"""


def p1_answer() -> int:
    """Problem 1's value, computed (never typed in) and verified by the tests."""
    return 6 * 7
'''

_TEST = '''"""Tests of the {course}/{homework} reference: a closed form against a simulation,
a count against a real module, a claim against an experiment."""

from __future__ import annotations

from pathlib import Path

from grader.courses import homework_at
from grader.reference import load_reference
from grader.rubric import load_rubric

RUBRIC = Path(__file__).resolve().parents[1] / "rubrics" / "{course}" / "{homework}.yaml"


def test_p1_answer_is_what_the_statement_asks() -> None:
    homework = homework_at(RUBRIC)
    reference = load_reference(load_rubric(RUBRIC), homework.reference_root)
    assert reference is not None
    assert reference.attribute("p1_answer")() == 42  # replace with an independent derivation
'''
