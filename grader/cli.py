"""`grade`: the command line. The only module besides `report` that knows about the terminal."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from grader import __version__
from grader.courses import BUNDLED_COURSES, DEFAULT_COURSES, load_catalog
from grader.errors import GraderError, RubricError, UsageError
from grader.report.exports import (
    Export,
    export_class,
    figure_paths,
    fingerprint,
    mark_not_final,
    results_json,
)
from grader.report.live import LiveProgress
from grader.report.lms import CANVAS_CSV, MOODLE_CSV, canvas_csv, gradebook, moodle_csv
from grader.report.roster import Roster, load_roster
from grader.report.terminal import render, render_class, render_warnings
from grader.results import Completeness, GradeReport
from grader.rubric import load_rubric
from grader.sandbox.cache import CachingRunner
from grader.sandbox.confinement import WEAK_ISOLATION_WARNING
from grader.sandbox.jobs import Runner
from grader.sandbox.runner import SandboxRunner
from grader.sandbox.workers import prestart_runner, shutdown_runner
from grader.template import answer_template

if TYPE_CHECKING:
    from grader.review import ReviewedFolder


class ExitCode(IntEnum):
    OK = 0  # grading ran, whatever the scores
    INTERNAL = 1  # a grader bug
    USAGE = 2
    RUBRIC = 3
    MISSING_PACKAGES = 4  # `grade env`: a declared package could not be installed
    INTERRUPTED = 130  # Ctrl-C: partial results were still reported and exported


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Grade deep-learning homework submissions. Student code runs in a sandbox.",
        epilog="examples:\n  grade submissions/            grade every student folder\n"
        "  grade submissions/COURSE/HW/alice   grade one student\n"
        "  grade submissions/ -k p4b     only problem 4b\n"
        "  grade template COURSE/HW      print a blank answer sheet\n"
        "  grade env COURSE              install a course's packages, once, before grading\n"
        "  grade review submissions/COURSE/HW   grade what is pending, save it as data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a submission folder, or a folder of student folders",
    )
    parser.add_argument(
        "--homework",
        help="homework id, `course/hw` or `hw` where only one course has it "
        "(default: `homework` in answers.toml, else the class folder's name)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write grades.csv, results.json, junit.xml, gradescope/, feedback/ and "
        "provenance.json here; students already there and not graded now are kept",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="FILE",
        help="CSV mapping student folders to the LMS's identifiers (columns folder, id, login, "
        "name, email, section): adds them to grades.csv and writes canvas.csv and moodle.csv "
        "in --out",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="let a -k run replace complete results in --out (they are marked partial)",
    )
    parser.add_argument(
        "-k",
        dest="select",
        metavar="EXPR",
        help="only checks matching this pytest -k expression (e.g. p4b)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        help="students graded in parallel (default: all cores; with --scheduler, twice the "
        "cluster's worker threads)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run student code on a Dask cluster: a scheduler's address (tcp://host:8786), or "
        "local:N for N local one-thread workers; judging and the cache stay here "
        "(docs/cluster.md)",
    )
    parser.add_argument("--seed", type=int, default=0, help="run seed for the grader's inputs")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("GRADER_CACHE", Path.home() / ".cache" / "grader")),
        help="where observations of student code are cached (default: ~/.cache/grader)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="run all student code again, ignoring the cache"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted batch: finished students come from the cache "
        "(the default whenever the cache is on; the flag makes it explicit)",
    )
    _course_options(parser)
    parser.add_argument(
        "--reference", type=Path, default=None, help="reference folder (overrides the courses')"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="only the summary table")
    parser.add_argument(
        "--full",
        "-v",
        action="store_true",
        help="every check of every student (default for a class: the summary, then only the "
        "students with failed, crashed or pending checks)",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    return parser


def template_main(argv: list[str], console: Console) -> int:
    parser = argparse.ArgumentParser(
        prog="grade template", description="Print a blank, commented answer sheet."
    )
    parser.add_argument("homework", help="`course/hw`, or `hw` where only one course has it")
    _course_options(parser)
    args = parser.parse_args(argv)
    homework = load_catalog([args.rubrics, *args.course]).find(args.homework)
    sys.stdout.write(answer_template(load_rubric(homework.rubric_path), homework.course))
    return ExitCode.OK


def check_main(argv: list[str], console: Console) -> int:
    """`grade check mfdnn/hw6`: the rubric against its reference, before any student."""
    parser = argparse.ArgumentParser(
        prog="grade check",
        description="Check a homework's rubric against its reference: every ref: resolves, "
        "module variants differ, custom checks import. Exit 3 when anything is wrong.",
    )
    parser.add_argument("homework", nargs="*", help="`course/hw` (default: every homework)")
    _course_options(parser)
    args = parser.parse_args(argv)
    from grader.authoring import check_homework  # imports torch for the variants

    catalog = load_catalog([args.rubrics, *args.course])
    homeworks = [catalog.find(h) for h in args.homework] or list(catalog.homeworks)
    failed = False
    for homework in homeworks:
        found = check_homework(homework)
        failed = failed or bool(found.problems)
        mark = Text("✗ ", style="bold red") if found.problems else Text("✓ ", style="green")
        console.print(mark + Text(f"{homework.qualified} ({homework.rubric_path})"))
        for line in found.problems:
            console.print(Text(f"    error: {line}"))
        for line in found.notes:
            console.print(Text(f"    note: {line}"))
    return ExitCode.RUBRIC if failed else ExitCode.OK


def gradescope_main(argv: list[str], console: Console) -> int:
    """`grade gradescope mfdnn/hw6 --out autograder.zip`: a Gradescope autograder."""
    parser = argparse.ArgumentParser(
        prog="grade gradescope",
        description="Build a Gradescope autograder zip (setup.sh, run_autograder) that grades "
        "each submission of one homework in the sandbox, as `grade` does.",
    )
    parser.add_argument("homework", help="`course/hw`, or `hw` where only one course has it")
    parser.add_argument("--out", type=Path, required=True, metavar="ZIP", help="zip to write")
    parser.add_argument(
        "--allow-weak-isolation",
        action="store_true",
        help="grade even where bubblewrap cannot run (student code then runs with rlimits "
        "only); without it such an image is not built and nothing is graded",
    )
    _course_options(parser)
    args = parser.parse_args(argv)
    from grader.autograder import build_autograder

    homework = load_catalog([args.rubrics, *args.course]).find(args.homework)
    path = build_autograder(homework, args.out, allow_weak_isolation=args.allow_weak_isolation)
    console.print(Text(f"wrote {path}: upload it as the autograder of {homework.qualified}"))
    return ExitCode.OK


def bundle_main(argv: list[str], console: Console) -> int:
    """`grade bundle mfdnn/hw6 --out DIR`: what students install to check their own work."""
    parser = argparse.ArgumentParser(
        prog="grade bundle",
        description="Write a homework's students' bundle: the engine, the rubric reduced to "
        "what students may see, and the facts its public checks need, computed from the "
        "reference now (no reference code, no hidden checks, no TA prompts, no answers the "
        "rubric does not make confirmable).",
    )
    parser.add_argument("homework", help="`course/hw`, or `hw` where only one course has it")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write")
    parser.add_argument(
        "--attempts",
        type=int,
        default=None,
        metavar="N",
        help="let a student run the self-check at most N times (counted on their machine; "
        "default: no limit)",
    )
    _course_options(parser)
    args = parser.parse_args(argv)
    if args.attempts is not None and args.attempts < 1:
        raise UsageError("--attempts must be at least 1")
    from grader.bundle import build_bundle  # imports torch and the reference

    homework = load_catalog([args.rubrics, *args.course]).find(args.homework)
    built = build_bundle(homework, args.out, attempts=args.attempts)
    console.print(Text(f"bundle {built.version}"))
    console.print(Text(f"  installable folder: {built.folder} (pip install {built.folder})"))
    console.print(Text(f"  archive: {built.archive}"))
    return ExitCode.OK


def new_main(argv: list[str], console: Console) -> int:
    """`grade new mfdnn/hw5`: a rubric, a reference package and a test of it, to fill in."""
    parser = argparse.ArgumentParser(
        prog="grade new",
        description="Scaffold a homework: a course folder if needed, a rubric, a reference "
        "package and a test of the reference (see docs/adding-a-homework.md).",
    )
    parser.add_argument("homework", help="`course/hw`, e.g. mycourse/hw5")
    parser.add_argument("--rubrics", type=Path, default=DEFAULT_COURSES, help="courses folder")
    args = parser.parse_args(argv)
    from grader.authoring import scaffold

    for path in scaffold(args.homework, args.rubrics):
        console.print(Text(f"wrote {path}"))
    console.print(Text(f"next: fill them in, then run `grade check {args.homework}`"))
    return ExitCode.OK


def env_main(argv: list[str], console: Console) -> int:
    """`grade env mfdnn`: prepare the courses' sandbox environments, once, before grading."""
    parser = argparse.ArgumentParser(
        prog="grade env",
        description="Prepare a course's sandbox environment: install the packages its "
        "course.yaml declares (environment: packages) into a cached virtual environment that "
        "reuses the grader's own torch. Grading never downloads anything. Exit 4 when a "
        "package could not be installed.",
    )
    parser.add_argument("courses", nargs="*", help="course ids (default: every course)")
    _course_options(parser)
    parser.add_argument("--wheelhouse", type=Path, help="a folder of wheels to install from")
    parser.add_argument("--index-url", help="the package index to use (pip's --index-url)")
    parser.add_argument(
        "--extra-index-url",
        action="append",
        default=[],
        help="another index (repeatable), e.g. the one the grader's torch build came from",
    )
    parser.add_argument(
        "--offline", action="store_true", help="install only from the wheelhouse (no network)"
    )
    args = parser.parse_args(argv)
    from grader.prepare import offline_advice, prepare

    catalog = load_catalog([args.rubrics, *args.course])
    unknown = [c for c in args.courses if c not in catalog.courses]
    if unknown:
        known = ", ".join(sorted(catalog.courses)) or "none"
        raise UsageError(f"unknown course(s) {', '.join(unknown)} (known: {known})")
    missing = False
    for course in args.courses or sorted(catalog.courses):
        env = catalog.environment(course)
        if env.folder is None:
            console.print(Text(f"{course}: declares no packages; nothing to prepare"))
            continue
        console.print(Text(f"{course}: preparing {env.folder} ..."))
        done = prepare(
            env, args.wheelhouse, args.index_url, args.offline, tuple(args.extra_index_url)
        )
        for requirement in done.installed:
            console.print(Text("  ✓ ", style="green") + Text(requirement))
        for requirement, why in done.missing.items():
            console.print(Text("  ✗ ", style="bold red") + Text(f"{requirement}: {why}"))
        for line in offline_advice(done):
            console.print(Text(f"  {line}"))
        missing = missing or not done.complete
    return ExitCode.MISSING_PACKAGES if missing else ExitCode.OK


def _course_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rubrics",
        type=Path,
        default=DEFAULT_COURSES,
        help="a course folder (course.yaml and its rubrics) or a folder of them "
        "(default: this repository's rubrics/)",
    )
    parser.add_argument(
        "--course",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="another course folder, kept anywhere (repeatable)",
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    console = Console(stderr=False)
    errors = Console(stderr=True)
    try:
        if argv[:1] == ["template"] and not Path("template").is_dir():
            return template_main(argv[1:], console)
        if argv[:1] == ["check"] and not Path("check").is_dir():
            return check_main(argv[1:], console)
        if argv[:1] == ["gradescope"] and not Path("gradescope").is_dir():
            return gradescope_main(argv[1:], console)
        if argv[:1] == ["new"] and not Path("new").is_dir():
            return new_main(argv[1:], console)
        if argv[:1] == ["env"] and not Path("env").is_dir():
            return env_main(argv[1:], console)
        if argv[:1] == ["review"] and not Path("review").is_dir():
            from grader.reviewing import review_main  # imports the pipeline, and torch

            return review_main(argv[1:], console)
        if argv[:1] == ["bundle"] and not Path("bundle").is_dir():
            return bundle_main(argv[1:], console)
        args = build_parser().parse_args(argv)
        return grade_main(args, console)
    except RubricError as exc:
        errors.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False)
        return ExitCode.RUBRIC
    except GraderError as exc:  # messages name folders and files a student named
        errors.print(Text.assemble(("error:", "bold red"), " ", str(exc)), highlight=False)
        return ExitCode.USAGE


def _runner(args: argparse.Namespace) -> Runner:
    runner: Runner = SandboxRunner() if args.scheduler is None else _cluster(args)
    if args.no_cache:
        if args.resume:
            raise UsageError("--resume needs the cache; drop --no-cache")
        return runner
    return CachingRunner(runner, args.cache_dir / "observations")


def _cluster(args: argparse.Namespace) -> Runner:
    """A Dask cluster's runner; `--jobs` defaults to twice its worker threads, so that a worker
    finishing a probe finds the next one queued while the TA's process judges."""
    from grader.sandbox.cluster import ClusterRunner  # imports distributed: only when asked

    runner = ClusterRunner(args.scheduler)
    if args.jobs is None:
        args.jobs = max(2 * runner.slots(), 1)
    return runner


def grade_main(args: argparse.Namespace, console: Console) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.roster is not None and args.out is None:
        raise UsageError("--roster fills the exports: give --out DIR too")
    roster = load_roster(args.roster) if args.roster is not None else None  # before any grading
    if args.rubrics == DEFAULT_COURSES and BUNDLED_COURSES.is_dir():  # a students' bundle
        from grader.bundle import MANIFEST, take_attempt

        said = take_attempt(BUNDLED_COURSES / MANIFEST, args.cache_dir)
        if said:
            console.print(Text(said))
    progress = LiveProgress(Console(stderr=True))
    runner = _runner(args)
    if args.jobs is None:
        args.jobs = os.cpu_count() or 1
    if runner.isolation != "bubblewrap":  # said before any student code runs, and again after
        Console(stderr=True).print(f"[bold yellow]warning:[/] {WEAK_ISOLATION_WARNING}")
    if (os.cpu_count() or 1) > 1:
        prestart_runner(runner)  # its `import torch` overlaps ours, just below
    # Imported here, not at the top: torch alone takes about 2 s, which `grade --help` and
    # `grade template` never need, and which the first sandbox worker spends in parallel.
    from grader.pipeline import INTERRUPTED_WARNING, GradeOptions, grade

    folders: dict[str, ReviewedFolder] = {}
    options = GradeOptions(
        homework=args.homework,
        rubrics_dir=args.rubrics,
        courses=tuple(args.course),
        reference_dir=args.reference,
        select=args.select,
        jobs=args.jobs,
        seed=args.seed,
        runner=runner,
        on_planned=progress.planned,
        on_observed=progress.observed,
        on_students=progress.students,
        on_student=progress.judging,
        on_graded=progress.graded,
        on_folders=folders.update,
    )
    try:
        with progress:
            report = mark_not_final(grade(args.paths, options))
    finally:
        shutdown_runner(runner)
    if args.quiet:  # the summary only, but never without the warnings (interrupted, -k)
        render_warnings(report, console)
        render_class(report, console)
    else:
        render(report, console, full=args.full)
    if args.json:
        args.json.write_text(results_json(report), encoding="utf-8")
        console.print(Text(f"results written to {args.json}"))
    if args.out:
        run = _run_record(args, report)
        export = export_class(
            report, args.out, allow_partial=args.allow_partial, run=run, roster=roster
        )
        _say_export(export, args.out, console)
        if roster is not None:
            _export_lms(export.merge.report, roster, args.out, console)
        site = _write_site(args, export.merge.report, report, folders)
        console.print(Text(f"HTML report: {site} (student copies in {site.parent}/students/)"))
        for (student, problem), path in sorted(figure_paths(report, args.out).items()):
            console.print(Text(f"  {student} {problem}: curves beside the reference's in {path}"))
    return ExitCode.INTERRUPTED if INTERRUPTED_WARNING in report.warnings else ExitCode.OK


def _write_site(
    args: argparse.Namespace,
    report: GradeReport,
    graded: GradeReport,
    folders: dict[str, ReviewedFolder],
) -> Path:
    """The static HTML report of the class in --out (grader.report.html), and where it is."""
    from grader.report.html import write_site
    from grader.report.staff import staff_only

    catalog = load_catalog([args.rubrics, *args.course])
    homeworks = [catalog.lookup(sub.homework) for sub in report.submissions]
    staff = staff_only({h.qualified: h for h in homeworks if h is not None}.values())
    roots = {}
    for sub in graded.submissions:
        folder = folders.get(sub.student)
        if folder is not None:
            roots[(sub.student, sub.homework)] = folder.class_dir / folder.name
    return write_site(report, args.out, staff, roots)[0]


def _run_record(args: argparse.Namespace, report: GradeReport) -> dict[str, Any]:
    """This run, for provenance.json: what a result in --out was graded with, and when."""
    rubrics = {}
    catalog = load_catalog([args.rubrics, *args.course])
    for homework in sorted({sub.homework for sub in report.submissions}):
        found = catalog.lookup(homework)
        if found is not None:  # not for `unknown`, whose students no rubric graded
            path = found.rubric_path
            checks = path.with_name(f"{path.stem}_checks.py")
            rubrics[homework] = fingerprint([path, *([checks] if checks.is_file() else [])])
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "grader_version": __version__,
        "selection": args.select,
        "seed": args.seed,
        "rubrics": rubrics,
        "interrupted": any(s.completeness is Completeness.UNFINISHED for s in report.submissions),
    }


def _export_lms(report: GradeReport, roster: Roster, out: Path, console: Console) -> None:
    """canvas.csv and moodle.csv for the whole class in --out, and who they could not place:
    a student the roster lacks is named here, never silently left out of a gradebook."""
    book = gradebook(report, roster)
    for name, text in ((CANVAS_CSV, canvas_csv(book)), (MOODLE_CSV, moodle_csv(book))):
        (out / name).write_bytes(text.encode("utf-8"))
    console.print(Text(f"LMS imports written: {out / CANVAS_CSV}, {out / MOODLE_CSV}"))
    if book.missing:
        console.print(
            Text(
                f"not in the roster {roster.source} ({len(book.missing)}): "
                f"{', '.join(book.missing)}: kept in grades.csv and canvas.csv without ids, "
                "left out of moodle.csv; add them to the roster",
                style="bold yellow",
            )
        )
    for conflict in book.conflicts:
        console.print(
            Text(f"two results for one roster student, cell left empty: {conflict}", style="yellow")
        )


def _say_export(export: Export, out: Path, console: Console) -> None:
    """What the export did to the folder, above all what it kept of an earlier run there."""
    merge = export.merge
    lines = [Text(f"{len(export.written)} files written to {out}/ (grades.csv, feedback/, ...)")]
    if merge.kept:
        lines.append(
            Text(
                f"kept the earlier results of {len(merge.kept)} other student(s) in {out}/; "
                "grades.csv and results.json hold the whole class"
            )
        )
    if merge.held:
        held = ", ".join(merge.held)
        lines.append(Text(f"unfinished now, earlier results kept for: {held}", style="yellow"))
    if merge.partial_over_whole:
        names = ", ".join(merge.partial_over_whole)
        lines.append(Text(f"replaced with partial (-k) results: {names}", style="yellow"))
    lines.extend(Text(f"removed stale {path}") for path in export.removed)
    for line in lines:
        console.print(line)


if __name__ == "__main__":
    sys.exit(main())
