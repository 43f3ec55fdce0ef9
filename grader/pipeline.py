"""The grading pipeline in one place: discover -> ingest -> observe (sandbox) -> judge -> results.

`grade` is the library entry point the CLI calls; it knows nothing about terminals.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from grader.discover import class_homework, discover
from grader.errors import RubricError, UsageError
from grader.ingest.budget import not_graded_message
from grader.ingest.submission import Submission, ingest
from grader.judges.context import check_parts, part_id, part_points
from grader.plugin import GraderPlugin, GradingSession, compile_selection
from grader.reference import load_reference
from grader.results import (
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)
from grader.rubric import DEFAULT_RUBRICS, Rubric, load_rubric
from grader.sandbox.confinement import WEAK_ISOLATION_WARNING
from grader.sandbox.jobs import Runner
from grader.sandbox.observe import Observer
from grader.sandbox.runner import SandboxRunner
from grader.sandbox.workers import close_runner

PYTEST_INI = Path(__file__).with_name("pytest-grader.ini")
INTERRUPTED_WARNING = (
    "grading was interrupted: these results are partial; run the same command with --resume to "
    "finish (students already run come from the cache)"
)


@dataclass
class GradeOptions:
    homework: str | None = None
    rubrics_dir: Path = DEFAULT_RUBRICS
    reference_dir: Path | None = None
    select: str | None = None  # pytest -k expression
    jobs: int = 1
    seed: int = 0
    runner: Runner | None = None
    pytest_args: list[str] = field(default_factory=list)
    on_planned: Callable[[int], None] | None = None
    on_observed: Callable[[str, bool], None] | None = None  # (student, their code failed)


def rubric_path(homework: str, rubrics_dir: Path) -> Path:
    path = rubrics_dir / f"{homework}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in rubrics_dir.glob("*.yaml"))
        raise UsageError(
            f"unknown homework {homework!r}: no rubric {path} (known: {', '.join(known) or 'none'})"
        )
    return path


def grade(paths: Sequence[Path], options: GradeOptions) -> GradeReport:
    if options.select:
        compile_selection(options.select)  # a typo in -k is a usage error, not an empty grade
    submissions = ingest_all(paths, options.rubrics_dir)
    by_homework: dict[str, list[Submission]] = {}
    unknown: list[Submission] = []
    refused = [sub for sub in submissions if sub.not_graded is not None]  # over its ingest budget
    for sub in submissions:
        homework = options.homework or sub.homework
        if sub.not_graded is not None:
            continue
        if homework is None:
            unknown.append(sub)
        else:
            by_homework.setdefault(homework, []).append(sub)
    if unknown and len(by_homework) == 1:
        (only,) = by_homework
        for sub in unknown:
            sub.notes.append(f"homework not stated; graded as {only} like the rest of the class")
            by_homework[only].append(sub)
        unknown = []
    runner = options.runner or SandboxRunner()
    warnings = [WEAK_ISOLATION_WARNING] if runner.isolation != "bubblewrap" else []
    results: list[SubmissionResult] = [_unrecognised(sub) for sub in unknown + refused]
    try:
        for homework, subs in sorted(by_homework.items()):
            rubric = load_rubric(rubric_path(homework, options.rubrics_dir))
            graded, interrupted = _grade_homework(rubric, subs, runner, options)
            results.extend(graded)
            if interrupted:
                warnings.append(INTERRUPTED_WARNING)
    finally:  # the batch is over (or interrupted): no warm worker outlives it
        close_runner(runner)
    results.sort(key=lambda r: r.student)
    if options.select and results and not any(_ran(r) for r in results):
        warnings.append(
            f"no check matches -k {options.select!r}: it selects by problem id, check id, check "
            "kind or homework (p4b, variance, module, hw6); choose students by their folders"
        )
    return GradeReport(submissions=results, warnings=warnings)


def _ran(result: SubmissionResult) -> bool:
    return any(c.message != _DESELECTED for p in result.problems for c in p.checks) or bool(
        result.error
    )


def ingest_all(paths: Sequence[Path], rubrics_dir: Path) -> list[Submission]:
    """Every submission under `paths`, each knowing its homework where anything tells it.

    A student folder inside a class folder named after a homework (`submissions/hw2/alice`) is
    that homework when nothing in the folder itself says which homework it is.
    """
    homeworks = {p.stem.lower() for p in rubrics_dir.glob("*.yaml")}
    submissions = []
    for path in paths:
        for folder in discover(path, homeworks):
            sub = ingest(folder)
            named = class_homework(folder, homeworks)
            if sub.homework is None and named is not None:
                sub.homework_hint = named
                sub.notes.append(f"homework {named} taken from the class folder's name")
            submissions.append(sub)
    return submissions


def make_session(path: Path, folders: Sequence[Path], options: GradeOptions) -> GradingSession:
    """A grading session for one rubric file, as `pytest -p grader.plugin` builds it."""
    rubric = load_rubric(path)
    subs = ingest_all(folders, path.parent)
    return _session(rubric, path, subs, options.runner or SandboxRunner(), options)


def _session(
    rubric: Rubric, path: Path, subs: list[Submission], runner: Runner, options: GradeOptions
) -> GradingSession:
    # The grader's own torch work (references on tiny tensors) is fastest on one thread, and the
    # cores belong to the sandboxes running student code in parallel.
    torch.set_num_threads(1)
    return GradingSession(
        rubric=rubric,
        rubric_path=path,
        submissions=subs,
        reference=load_reference(rubric, options.reference_dir),
        observer=Observer(rubric, runner, options.seed),
        run_seed=options.seed,
        jobs=options.jobs,
        on_planned=options.on_planned,
        on_observed=options.on_observed,
    )


def _grade_homework(
    rubric: Rubric, subs: list[Submission], runner: Runner, options: GradeOptions
) -> tuple[list[SubmissionResult], bool]:
    path = rubric_path(rubric.homework, options.rubrics_dir)
    session = _session(rubric, path, subs, runner, options)
    args = [
        "-c",
        str(PYTEST_INI),
        "--rootdir",
        str(session.rubric_path.parent),
        # Per-item machinery grading has no use for (log capture, warning capture, fault
        # handler): it cost ~0.8 ms of each check's ~1.3 ms of pytest overhead, which adds up
        # to seconds when a class is re-judged from the cache.
        *("-p", "no:cacheprovider", "-p", "no:logging", "-p", "no:warnings"),
        *("-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception"),
        # Verdicts are read from the session, never from pytest's report: its failure summary
        # (quadratic in the number of failed checks) would only be written to a discarded buffer.
        "--tb=no",
        # Each rubric's `<homework>_checks.py` imported by its path, not as a top-level module
        # `hw6_checks`: a second rubric folder in the same process (tests, a library caller)
        # would otherwise clash with the first one's module and stop collection.
        "--import-mode=importlib",
        "-q",
        str(session.rubric_path),
        *_custom_check_files(session.rubric_path),
        *options.pytest_args,
    ]
    if options.select:
        args += ["-k", options.select]
    # pytest names a checks file after its path below --rootdir (`hw6_checks`) and reuses any
    # module of that name already imported: another rubric folder's, or this one's before an
    # edit. Each session imports its own, as it is now.
    for checks in _custom_check_files(session.rubric_path):
        sys.modules.pop(Path(checks).stem, None)
    plugin = GraderPlugin(session)
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(args, plugins=[plugin])
    if plugin.collection_errors:  # pytest says "interrupted"; it is the rubric's checks file
        file, _ = plugin.collection_errors[0]
        path = session.rubric_path.parent / file if file else session.rubric_path
        raise RubricError(path, [error for _, error in plugin.collection_errors])
    interrupted = code == pytest.ExitCode.INTERRUPTED
    return [_assemble(rubric, sub, session.results, interrupted) for sub in subs], interrupted


def _custom_check_files(path: Path) -> list[str]:
    """Instructors' pytest functions live beside the rubric as `<homework>_checks.py`."""
    checks = path.with_name(f"{path.stem}_checks.py")
    return [str(checks)] if checks.is_file() else []


def _assemble(
    rubric: Rubric,
    sub: Submission,
    results: dict[tuple[str, str, str], CheckResult],
    interrupted: bool = False,
) -> SubmissionResult:
    problems = []
    for problem in rubric.problems:
        checks = []
        for check in problem.checks:
            for part in check_parts(check):
                cid = part_id(check, part)
                found = results.get((sub.student, problem.id, cid))
                checks.append(found or _not_run(check, part, cid, interrupted))
        problems.append(problem_result(problem.id, problem.title, problem.points, checks))
    notes = list(sub.notes)
    if sub.answer_sheet_error:
        notes.append(str(sub.answer_sheet_error))
    return submission_result(sub.student, rubric.homework, problems, notes)


_DESELECTED = "not run (deselected)"


def _not_run(check: Any, part: str | None, cid: str, interrupted: bool = False) -> CheckResult:
    return CheckResult(
        id=cid,
        status=Status.SKIPPED,
        score=0.0,
        max_score=part_points(check, part),
        message="not run (interrupted: run again with --resume)" if interrupted else _DESELECTED,
        title=check.title,
    )


def _unrecognised(sub: Submission) -> SubmissionResult:
    reason = (
        'cannot tell which homework this is: add `homework = "hw6"` to answers.toml '
        "or pass --homework"
    )
    if sub.answer_sheet_error:
        reason = f"{sub.answer_sheet_error}; {reason}"
    if sub.not_graded is not None:
        reason = not_graded_message(sub.not_graded)
    return SubmissionResult(
        student=sub.student,
        homework="unknown",
        score=0.0,
        max_score=0.0,
        problems=[],
        notes=list(sub.notes),
        error=reason,
    )
