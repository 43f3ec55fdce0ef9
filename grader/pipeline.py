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

import pytest
import torch

from grader.courses import (
    DEFAULT_COURSES,
    Catalog,
    CourseEnvironment,
    Homework,
    load_catalog,
    rubric_fingerprints,
)
from grader.discover import discover, submission_ids
from grader.errors import RubricError, UsageError
from grader.ingest.budget import not_graded_message
from grader.ingest.submission import ANSWER_SHEET, HOMEWORK_ADVICE, Submission, ingest
from grader.judges.analysis import load_with_analyses
from grader.judges.items import GraderPlugin, GradingSession
from grader.judges.kinds import plan_probe
from grader.judges.progress import StudentProgress
from grader.judges.selection import compile_selection
from grader.reference import (
    GRADING_TIME,
    PrecomputedReference,
    Reference,
    load_precomputed,
    load_reference,
)
from grader.results import (
    CheckResult,
    GradeReport,
    Status,
    SubmissionResult,
    problem_result,
    submission_result,
)
from grader.review import ReviewedFolder, apply_reviews, reviewed_folders
from grader.rubric import Check, CustomCheck, Rubric
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
    rubrics_dir: Path = DEFAULT_COURSES  # a course folder, or a folder of course folders
    courses: tuple[Path, ...] = ()  # more course folders (`--course DIR`), kept anywhere
    reference_dir: Path | None = None  # overrides every course's own reference folder
    select: str | None = None  # pytest -k expression
    jobs: int = 1
    seed: int = 0
    runner: Runner | None = None
    pytest_args: list[str] = field(default_factory=list)
    on_planned: Callable[[int], None] | None = None
    on_observed: Callable[[str, bool], None] | None = None  # (student, their code failed)
    # Progress by student, for the command line: how many in the batch, whose checks are being
    # judged, and each student's result as soon as all their checks are judged.
    on_students: Callable[[int], None] | None = None
    on_student: Callable[[str], None] | None = None
    on_graded: Callable[[SubmissionResult], None] | None = None
    # Course staff's decisions (each class folder's reviews.toml) applied to the results; off
    # only to see what the automatic judges alone decided.
    reviews: bool = True
    # Where each graded student's folder is (by result `student`), for readers of their own
    # files after grading: the HTML report's excerpts.
    on_folders: Callable[[dict[str, ReviewedFolder]], None] | None = None


def catalog_of(options: GradeOptions) -> Catalog:
    """The homeworks of the courses this run uses; none at all is the TA's mistake."""
    catalog = load_catalog([options.rubrics_dir, *options.courses])
    if not catalog.homeworks:
        folders = ", ".join(str(p) for p in [options.rubrics_dir, *options.courses])
        raise UsageError(f"no rubrics found in {folders}: pass --rubrics or --course")
    return catalog


@dataclass(frozen=True)
class Batch:
    """A graded batch, and where each student's folder and reviews are (`grade review` and the
    HTML report read the student's own files from there)."""

    report: GradeReport
    folders: dict[str, ReviewedFolder]


def grade(paths: Sequence[Path], options: GradeOptions) -> GradeReport:
    return grade_batch(paths, options).report


def grade_batch(paths: Sequence[Path], options: GradeOptions) -> Batch:
    if options.select:
        compile_selection(options.select)  # a typo in -k is a usage error, not an empty grade
    catalog = catalog_of(options)
    forced = catalog.find(options.homework) if options.homework else None
    submissions = ingest_all(paths, catalog)
    if options.on_students:
        options.on_students(len(submissions))
    by_homework: dict[Homework, list[Submission]] = {}
    unknown: list[Submission] = []
    unrecognised: list[Submission] = []
    refused = [sub for sub in submissions if sub.not_graded is not None]  # over its ingest budget
    for sub in submissions:
        if sub.not_graded is not None:
            continue
        if forced is not None:  # the TA said which homework: no advice to say it
            sub.notes = [note for note in sub.notes if HOMEWORK_ADVICE not in note]
        homework = forced or _homework_of(sub, catalog)
        if homework is not None:
            by_homework.setdefault(homework, []).append(sub)
        elif sub.homework is not None and sub.homework_stated_at is not None:
            unrecognised.append(sub)  # what it states is no homework here: never folded in
        else:
            unknown.append(sub)
    if unknown and len(by_homework) == 1:
        (only,) = by_homework
        for sub in unknown:
            sub.notes.append(
                f"homework not stated; graded as {only.qualified} like the rest of the class"
            )
            by_homework[only].append(sub)
        unknown = []
    runner = options.runner or SandboxRunner()
    warnings = [WEAK_ISOLATION_WARNING] if runner.isolation != "bubblewrap" else []
    for course in sorted({h.course for h in by_homework}):
        warnings.extend(environment_warnings(catalog.environment(course)))
    results = [_unrecognised(sub, catalog) for sub in unknown + unrecognised + refused]
    if options.on_graded:
        for result in results:
            options.on_graded(result)
    interrupted = False
    try:
        for homework, subs in sorted(by_homework.items(), key=lambda item: item[0].qualified):
            rubric = load_with_analyses(homework.rubric_path)
            if interrupted:  # Ctrl-C stops the whole batch: the rest are unfinished, not graded
                results.extend(_assemble(homework, rubric, s, {}, interrupted=True) for s in subs)
                continue
            try:
                graded, interrupted = _grade_homework(
                    homework, rubric, subs, runner, options, catalog.environment(homework.course)
                )
            except KeyboardInterrupt:  # outside pytest's session (which turns it into a code)
                graded = [_assemble(homework, rubric, s, {}, True) for s in subs]
                interrupted = True
            results.extend(graded)
        if interrupted:
            warnings.append(INTERRUPTED_WARNING)
    finally:  # the batch is over (or interrupted): no warm worker outlives it
        close_runner(runner)
    results.sort(key=lambda r: r.student)
    if options.select and results and not any(_ran(r) for r in results):
        warnings.append(
            f"no check matches -k {options.select!r}: it selects by problem id, check id, check "
            "kind or homework (p4b, variance, module, a homework id); choose students by their "
            "folders"
        )
    report = GradeReport(submissions=results, warnings=warnings)
    folders = reviewed_folders([(sub.student, sub.root, sub.files) for sub in submissions])
    if options.reviews:
        report = apply_reviews(report, folders)
    if options.on_folders is not None:
        options.on_folders(folders)
    return Batch(report, folders)


def environment_warnings(env: CourseEnvironment) -> list[str]:
    """What the course staff should know before trusting a batch: declared packages that the
    sandbox lacks (code needing them goes to a TA instead of being graded)."""
    if env.folder is None:
        return []
    if env.prepared is None:
        names = ", ".join(p.requirement for p in env.packages)
        return [
            f"course {env.course} declares packages ({names}) but its environment is not "
            f"prepared: code that needs them goes to a TA; run `grade env {env.course}` first"
        ]
    missing = env.missing()
    if missing:
        return [
            f"course {env.course}: {', '.join(missing)} could not be installed by `grade env`; "
            "code that needs them goes to a TA"
        ]
    return []


def _ran(result: SubmissionResult) -> bool:
    return any(c.message != _DESELECTED for p in result.problems for c in p.checks) or bool(
        result.error
    )


def ingest_all(paths: Sequence[Path], catalog: Catalog) -> list[Submission]:
    """Every submission under `paths`, each knowing its homework where anything tells it.

    A student folder inside a class folder named after a homework (`submissions/mfdnn/hw6/alice`,
    `submissions/dl-hw2/grace`, `submissions/hw4/ann`) is that homework unless its own answer
    sheet says otherwise: the class folder's name beats a guess from the content. A homework a
    folder names is only ever compared with the ids of the courses' homeworks (`Catalog`):
    anything else (`"hw7"`, `"../mine"`) leaves that one folder unrecognised. Each submission's
    `student` is unique in the batch (`submission_ids`): folders that share a name are never
    merged.
    """
    fingerprints = rubric_fingerprints(catalog)
    found = [(path, folder) for path in paths for folder in discover(path, catalog.names)]
    ids = submission_ids(found)
    submissions = []
    done: set[Path] = set()
    for _, folder in found:
        resolved = folder.resolve()
        if resolved in done:
            continue
        done.add(resolved)
        sub = ingest(folder, student=ids[resolved], fingerprints=fingerprints)
        named = catalog.class_of(folder)
        sub.class_homework = named.qualified if named is not None else None
        if named is not None and "homework" not in sub.answers:
            if sub.homework_hint != named.qualified:
                sub.notes = [n for n in sub.notes if "from the content" not in n]
                sub.notes.append(f"homework {named.qualified} taken from the class folder's name")
            sub.homework_hint = named.qualified
        elif named is not None and _homework_of(sub, catalog) not in (None, named):
            sub.notes.append(
                f"graded as {sub.homework}, as its answer sheet says, though its class folder "
                f"is {named.qualified}'s"
            )
        submissions.append(sub)
    return submissions


def _homework_of(sub: Submission, catalog: Catalog) -> Homework | None:
    """The homework a submission names or was recognised as; only ever a known id."""
    stated = sub.homework
    if stated is None:
        return None
    found = catalog.lookup(stated, sub.course)
    if found is None and sub.course is None and sub.class_homework is not None:
        # a short id several courses have (`hw2`), in a class folder of one of them
        in_class = catalog.lookup(sub.class_homework)
        if in_class is not None and in_class.id == stated.strip().lower():
            return in_class
    return found


def make_session(path: Path, folders: Sequence[Path], options: GradeOptions) -> GradingSession:
    """A grading session for one rubric file, as `pytest -p grader.plugin` builds it: only the
    submissions of that rubric's homework, as `grade` routes them."""
    path = path.resolve()
    catalog = load_catalog([path.parent, options.rubrics_dir, *options.courses])
    homework = next((h for h in catalog.homeworks if h.rubric_path.resolve() == path), None)
    if homework is None:
        raise UsageError(f"{path} is not a rubric of a course (no course.yaml beside it)")
    rubric = load_with_analyses(path)
    subs = [s for s in ingest_all(folders, catalog) if _homework_of(s, catalog) == homework]
    runner = options.runner or SandboxRunner()
    return _session(homework, rubric, subs, runner, options, catalog.environment(homework.course))


def _checked_reference(
    homework: Homework, rubric: Rubric, options: GradeOptions
) -> Reference | None:
    """The homework's reference, checked against the rubric before any student is graded: a
    `{ref: ...}` it lacks is an invalid rubric (exit 3), not an error in every student's report.
    A rubric of a students' bundle comes with its precomputed reference instead."""
    bundled = load_precomputed(homework.rubric_path)
    if bundled is not None:
        return bundled
    reference = load_reference(rubric, options.reference_dir or homework.reference_root)
    if reference is not None:
        missing = reference.missing(rubric)
        if missing:
            raise RubricError(homework.rubric_path, missing)
    return reference


def _session(
    homework: Homework,
    rubric: Rubric,
    subs: list[Submission],
    runner: Runner,
    options: GradeOptions,
    environment: CourseEnvironment | None = None,
) -> GradingSession:
    # The grader's own torch work (references on tiny tensors) is fastest on one thread, and the
    # cores belong to the sandboxes running student code in parallel.
    torch.set_num_threads(1)
    return GradingSession(
        rubric=rubric,
        rubric_path=homework.rubric_path,
        submissions=subs,
        reference=_checked_reference(homework, rubric, options),
        observer=Observer(runner, plan_probe, options.seed, environment=environment),
        run_seed=options.seed,
        jobs=options.jobs,
        on_planned=options.on_planned,
        on_observed=options.on_observed,
    )


def _grade_homework(
    homework: Homework,
    rubric: Rubric,
    subs: list[Submission],
    runner: Runner,
    options: GradeOptions,
    environment: CourseEnvironment | None = None,
) -> tuple[list[SubmissionResult], bool]:
    session = _session(homework, rubric, subs, runner, options, environment)
    args = [
        "-c",
        str(PYTEST_INI),
        "--rootdir",
        str(session.rubric_path.parent),
        # Only the course folder's own conftest files count: one above it (a repository's
        # tests/conftest.py, a home folder's) has no say in grading.
        "--confcutdir",
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

    def finished(sub: Submission) -> None:  # as soon as their checks are judged, for progress
        if options.on_graded is not None:
            reason = session.over_budget(sub.student)
            options.on_graded(
                _over_budget(homework, sub, reason)
                if reason
                else _assemble(homework, rubric, sub, session.results)
            )

    progress = StudentProgress(subs, options.on_student, finished)
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(args, plugins=[plugin, progress])
    if plugin.collection_errors:  # pytest says "interrupted"; it is the rubric's checks file
        file, _ = plugin.collection_errors[0]
        path = session.rubric_path.parent / file if file else session.rubric_path
        raise RubricError(path, [error for _, error in plugin.collection_errors])
    interrupted = code == pytest.ExitCode.INTERRUPTED
    reference = session.reference
    bundled = isinstance(reference, PrecomputedReference)
    graded = [
        _over_budget(homework, sub, reason)
        if (reason := session.over_budget(sub.student))
        else _assemble(homework, rubric, sub, session.results, interrupted, bundled)
        for sub in subs
    ]
    if isinstance(reference, PrecomputedReference):
        note = reference.note()
        graded = [g.model_copy(update={"notes": [note, *g.notes]}) for g in graded]
    return graded, interrupted


def _over_budget(homework: Homework, sub: Submission, reason: str) -> SubmissionResult:
    """A student whose judging ran over its CPU or memory budget (`grader.judges.budget`): not
    graded, with why, as one over its ingest budget; classmates are judged as ever."""
    return SubmissionResult(
        student=sub.student,
        homework=homework.qualified,
        score=0.0,
        max_score=0.0,
        problems=[],
        notes=list(sub.notes),
        error=not_graded_message(reason),
    )


def _custom_check_files(path: Path) -> list[str]:
    """Instructors' pytest functions live beside the rubric as `<homework>_checks.py`."""
    checks = path.with_name(f"{path.stem}_checks.py")
    return [str(checks)] if checks.is_file() else []


def _assemble(
    homework: Homework,
    rubric: Rubric,
    sub: Submission,
    results: dict[tuple[str, str, str], CheckResult],
    interrupted: bool = False,
    bundled: bool = False,
) -> SubmissionResult:
    """One student's result, every check in rubric order, each carrying its visibility.

    In a students' bundle a custom check whose functions file is not shipped was never
    collected: it is checked at grading time, not deselected."""
    problems = []
    for problem in rubric.problems:
        checks = []
        for check in problem.checks:
            for part in check.parts():
                cid = check.part_id(part)
                found = results.get((sub.student, problem.id, cid))
                if found is None and bundled and isinstance(check, CustomCheck):
                    found = CheckResult(
                        id=cid,
                        status=Status.SKIPPED,
                        score=0.0,
                        max_score=check.points_of(part),
                        message=GRADING_TIME,
                        title=check.title,
                    )
                found = found or _not_run(check, part, cid, interrupted)
                checks.append(found.model_copy(update={"visibility": check.shown}))
        problems.append(problem_result(problem.id, problem.title, problem.points, checks))
    notes = list(sub.notes)
    if sub.answer_sheet_error:
        notes.append(str(sub.answer_sheet_error))
    notes.extend(
        f"{image.file}, page {image.page} is scanned or handwritten: a TA reads what the grader "
        f"could not; --out writes its image beside the feedback ({image.name})"
        for image in sub.page_images
    )
    return submission_result(sub.student, homework.qualified, problems, notes, sub.page_images)


_DESELECTED = "not run (deselected)"


def _not_run(check: Check, part: str | None, cid: str, interrupted: bool = False) -> CheckResult:
    return CheckResult(
        id=cid,
        status=Status.SKIPPED,
        score=0.0,
        max_score=check.points_of(part),
        message="not run (interrupted: run again with --resume)" if interrupted else _DESELECTED,
        title=check.title,
    )


def _unrecognised(sub: Submission, catalog: Catalog) -> SubmissionResult:
    stated = sub.homework
    at = sub.homework_stated_at
    if stated is not None and at is not None:  # the student's own words: theirs to fix
        where = f"{at.file}, line {at.line}" if at.line else ANSWER_SHEET
        shown = stated if len(stated) <= 40 else stated[:39] + "…"
        course = f" (course {sub.course!r})" if sub.course else ""
        known = ", ".join(h.qualified for h in catalog.homeworks)
        reason = (
            f"{sub.student}: {where}: homework = {shown!r}{course} is not a homework graded "
            f"here (graded here: {known}); write one of them, or the course staff can pass "
            "--homework"
        )
    else:
        example = catalog.homeworks[0].id if catalog.homeworks else "HOMEWORK"
        reason = (
            f'cannot tell which homework this is: add `homework = "{example}"` to answers.toml '
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
        page_images=list(sub.page_images),  # a scanned writeup names no homework: a TA reads it
    )
