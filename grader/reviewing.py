"""`grade review CLASS`: a TA finishes grading a class in the terminal, and it is saved as data.

The class is graded first (from the cache: no student code runs again), with its reviews.toml
applied, so what is left is exactly what is still pending, reopened decisions included. Each
pending item is shown with the student's excerpt and the rubric's prompt; the TA types points
(or `p` pass, `f` fail, `s` skip, `q` quit) and a comment, and the decision is saved at once:
an interrupted review loses nothing. By problem across the class by default (one question for
every student in turn, which is how TAs grade), or `--by student`.

The same command overrides one automatic verdict (`--override STUDENT PROBLEM CHECK --points N
--reason TEXT`) and records a regrade request and its resolution (`--regrade`, `--resolve`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader.courses import DEFAULT_COURSES, load_catalog
from grader.errors import UsageError
from grader.pipeline import Batch, GradeOptions, grade_batch
from grader.results import CheckResult, GradeReport, ProblemResult, Status
from grader.review import (
    Decision,
    Override,
    Regrade,
    Reviews,
    fingerprint,
    load_reviews,
    reviews_path,
    save_reviews,
)
from grader.rubric import ManualCheck, load_rubric
from grader.sandbox.cache import CachingRunner
from grader.sandbox.runner import SandboxRunner

MAX_EXCERPT_LINES = 40  # of an item's excerpt on screen; the whole of it is in --out feedback/


@dataclass(frozen=True)
class Item:
    """One pending check of one student, as the walk shows it."""

    student: str  # the name reviews.toml knows them by (their folder's name)
    homework: str
    problem: ProblemResult
    check: CheckResult
    prompt: str
    fingerprint: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _prompts(homeworks: set[str], rubrics: Path, courses: list[Path]) -> dict[tuple[str, ...], str]:
    """(homework, problem, result id) -> what the rubric tells the TA to look for."""
    catalog = load_catalog([rubrics, *courses])
    found: dict[tuple[str, ...], str] = {}
    for qualified in homeworks:
        homework = catalog.lookup(qualified)
        if homework is None:
            continue
        for problem in load_rubric(homework.rubric_path).problems:
            for check in problem.checks:
                prompt = check.prompt if isinstance(check, ManualCheck) else ""
                for part in check.parts():
                    found[(qualified, problem.id, check.part_id(part))] = prompt or check.title
    return found


def pending_items(batch: Batch, prompts: dict[tuple[str, ...], str], by: str) -> list[Item]:
    """Every pending check of the class, in the walk's order."""
    items = []
    order: dict[str, int] = {}
    for sub in batch.report.submissions:
        folder = batch.folders.get(sub.student)
        if folder is None or sub.error:
            continue
        for problem in sub.problems:
            order.setdefault(problem.id, len(order))
            for check in problem.checks:
                if check.status is not Status.PENDING:
                    continue
                key = (sub.homework, problem.id, check.id)
                printed = fingerprint(folder.files_digest, check)
                items.append(
                    Item(folder.name, sub.homework, problem, check, prompts.get(key, ""), printed)
                )
    if by == "student":
        items.sort(key=lambda i: (i.student, order[i.problem.id]))
    else:
        items.sort(key=lambda i: (order[i.problem.id], _position(i), i.student))
    return items


def _position(item: Item) -> int:
    """Where the check stands in its problem: the rubric's order, not the alphabet's."""
    return next(n for n, c in enumerate(item.problem.checks) if c.id == item.check.id)


# --------------------------------------------------------------------------------------------
# the walk


def _show(item: Item, left: int, console: Console) -> None:
    check = item.check
    console.print()
    head = Text()
    head.append(f"[{left} left] ", style="dim")
    head.append(f"{item.problem.id} {check.id}", style="bold")
    head.append(f" · {item.student} · up to {check.pending_points:g} point")
    head.append("" if check.pending_points == 1 else "s")
    if check.partly_decided:
        head.append(f" (already {check.score:g} decided)")
    console.print(head)
    if item.prompt:
        console.print(Text(f"  look for: {item.prompt}", style="cyan"))
    said = check.text()
    console.print(Text(f"  {said.message}"))
    if said.location:
        console.print(Text(f"  at {said.location}", style="cyan"))
    for line in said.details[:MAX_EXCERPT_LINES]:
        console.print(Text(f"  │ {line}"))
    if len(said.details) > MAX_EXCERPT_LINES:
        console.print(Text(f"  │ … {len(said.details) - MAX_EXCERPT_LINES} more lines", "dim"))
    if check.review is not None and check.review.state == "reopened":
        earlier = check.review
        console.print(
            Text(
                f"  reopened: {earlier.reason}; earlier {earlier.points:g} point(s) by "
                f"{earlier.by or '?'}: {earlier.comment}",
                style="yellow",
            )
        )


def _ask_points(item: Item, ask: Callable[[str], str], console: Console) -> str | float | None:
    """Points, or 'skip' / 'quit'; None asks again."""
    most = item.check.pending_points
    answer = ask(f"points 0-{most:g} (p pass, f fail, s skip, q quit): ").strip().lower()
    if answer in ("q", "quit"):
        return "quit"
    if answer in ("s", "skip", ""):
        return "skip"
    if answer in ("p", "pass"):
        return most
    if answer in ("f", "fail"):
        return 0.0
    try:
        points = float(answer)
    except ValueError:
        console.print(Text(f"  {answer!r} is not a number, p, f, s or q", style="red"))
        return None
    if not 0 <= points <= most + 1e-9:
        console.print(Text(f"  points must be between 0 and {most:g}", style="red"))
        return None
    return points


def walk(
    items: list[Item],
    reviews: Reviews,
    ta: str,
    ask: Callable[[str], str],
    console: Console,
) -> int:
    """Ask for each item in turn and save after each decision; the number decided."""
    decided = 0
    for position, item in enumerate(items):
        _show(item, len(items) - position, console)
        answer: str | float | None = None
        while answer is None:
            answer = _ask_points(item, ask, console)
        if answer == "quit":
            break
        if answer == "skip":
            continue
        assert isinstance(answer, float)
        comment = ask("comment to the student (Enter for none): ").strip()
        decision = Decision(
            student=item.student,
            problem=item.problem.id,
            check=item.check.id,
            points=answer,
            comment=comment,
            by=ta,
            at=_now(),
            fingerprint=item.fingerprint,
        )
        reviews.add(decision)
        save_reviews(reviews)
        decided += 1
        left = len(items) - position - 1
        console.print(Text(f"  saved to {reviews.path}; {left} left", style="green"))
    return decided


# --------------------------------------------------------------------------------------------
# one-off entries: an override, a regrade request, its resolution


def _find(report: GradeReport, batch: Batch, target: list[str]) -> tuple[str, CheckResult]:
    student, problem_id, check_id = target
    for sub in report.submissions:
        folder = batch.folders.get(sub.student)
        if folder is None or folder.name != student:
            continue
        for problem in sub.problems:
            for check in problem.checks:
                if problem.id == problem_id and check.id == check_id:
                    return folder.files_digest, check
        raise UsageError(f"{student} has no check {problem_id} {check_id} in {sub.homework}")
    raise UsageError(f"no student {student!r} in this class")


def _automatic(check: CheckResult) -> CheckResult:
    """The check as the judges left it, before any review: what a fingerprint is taken of."""
    if check.review is None or check.review.state != "applied":
        return check
    mark = check.review
    return check.model_copy(
        update={
            "status": mark.automatic_status,
            "score": mark.automatic_score,
            "message": mark.automatic_message,
            "pending_points": mark.automatic_pending,
            "review": None,
        }
    )


def _override(args: argparse.Namespace, batch: Batch, reviews: Reviews, ta: str) -> str:
    if args.points is None or not args.reason:
        raise UsageError("--override needs --points and --reason")
    digest, check = _find(batch.report, batch, args.override)
    original = _automatic(check)
    floor = min(0.0, original.score)
    if not floor <= args.points <= original.max_score:
        raise UsageError(f"--points must be between {floor:g} and {original.max_score:g}")
    student, problem, cid = args.override
    reviews.add(
        Override(
            student=student,
            problem=problem,
            check=cid,
            points=args.points,
            reason=args.reason,
            by=ta,
            at=_now(),
            fingerprint=fingerprint(digest, original),
        )
    )
    was = f"was {original.score:g}, {original.status.value}"
    return f"{student} {problem} {cid}: {args.points:g}/{original.max_score:g} ({was})"


def _regrade(args: argparse.Namespace, batch: Batch, reviews: Reviews) -> str:
    if not args.request:
        raise UsageError("--regrade needs --request TEXT (the student's words)")
    _find(batch.report, batch, args.regrade)
    student, problem, cid = args.regrade
    reviews.add(
        Regrade(
            student=student, problem=problem, check=cid, request=args.request, requested_at=_now()
        )
    )
    return f"regrade request recorded for {student} {problem} {cid}"


def _resolve(args: argparse.Namespace, batch: Batch, reviews: Reviews, ta: str) -> str:
    if not args.resolution:
        raise UsageError("--resolve needs --resolution TEXT (what the student is told)")
    student, problem, cid = args.resolve
    target = (student, problem, cid)
    waiting = [r for r in reviews.regrades if r.target == target and r.status == "open"]
    if not waiting:
        raise UsageError(f"no open regrade request for {student} {problem} {cid}")
    said = ""
    if args.points is not None:
        digest, check = _find(batch.report, batch, args.resolve)
        original = _automatic(check)
        if original.status is Status.PENDING:
            most = original.pending_points
            if not 0 <= args.points <= most:
                raise UsageError(f"--points must be between 0 and {most:g}")
            reviews.add(
                Decision(
                    student=student,
                    problem=problem,
                    check=cid,
                    points=args.points,
                    comment=args.resolution,
                    by=ta,
                    at=_now(),
                    fingerprint=fingerprint(digest, original),
                )
            )
        else:
            args.override, args.reason = args.resolve, args.resolution
            said = "; " + _override(args, batch, reviews, ta)
    for request in waiting:
        reviews.add(
            request.model_copy(
                update={
                    "status": "resolved",
                    "resolution": args.resolution,
                    "resolved_by": ta,
                    "resolved_at": _now(),
                }
            )
        )
    return f"regrade request of {student} {problem} {cid} resolved{said}"


# --------------------------------------------------------------------------------------------
# the command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade review",
        description="Grade what is pending in a class, override an automatic verdict, or "
        "record a regrade request; every decision is saved to CLASS/reviews.toml at once "
        "(see docs/reviews.md).",
    )
    parser.add_argument("class_dir", type=Path, metavar="CLASS", help="a class folder")
    parser.add_argument(
        "--by",
        choices=("problem", "student"),
        default="problem",
        help="walk by problem across the class (default) or student by student",
    )
    parser.add_argument("--student", help="only this student's items")
    parser.add_argument("--problem", help="only this problem's items")
    parser.add_argument("--list", action="store_true", help="list what is left, ask nothing")
    parser.add_argument(
        "--ta",
        default=os.environ.get("GRADER_TA") or getpass.getuser(),
        help="who decides (default: $GRADER_TA, else your user name)",
    )
    parser.add_argument(
        "--override",
        nargs=3,
        metavar=("STUDENT", "PROBLEM", "CHECK"),
        help="replace one automatic verdict (with --points and --reason)",
    )
    parser.add_argument(
        "--regrade",
        nargs=3,
        metavar=("STUDENT", "PROBLEM", "CHECK"),
        help="record a student's regrade request (with --request)",
    )
    parser.add_argument(
        "--resolve",
        nargs=3,
        metavar=("STUDENT", "PROBLEM", "CHECK"),
        help="resolve an open regrade request (with --resolution, and "
        "--points to change the score)",
    )
    parser.add_argument("--points", type=float)
    parser.add_argument("--reason")
    parser.add_argument("--request")
    parser.add_argument("--resolution")
    parser.add_argument("--homework", help="as for `grade`")
    parser.add_argument("--rubrics", type=Path, default=DEFAULT_COURSES, help="as for `grade`")
    parser.add_argument("--course", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("GRADER_CACHE", Path.home() / ".cache" / "grader")),
    )
    return parser


def _grade_class(args: argparse.Namespace) -> Batch:
    runner = CachingRunner(SandboxRunner(), args.cache_dir / "observations")
    options = GradeOptions(
        homework=args.homework,
        rubrics_dir=args.rubrics,
        courses=tuple(args.course),
        jobs=os.cpu_count() or 1,
        runner=runner,
    )
    return grade_batch([args.class_dir], options)


def _class_of(batch: Batch, class_dir: Path) -> None:
    """Every student graded must be of this class folder: a review file is per class."""
    mine = class_dir.resolve()
    others = sorted({str(f.class_dir) for f in batch.folders.values()} - {str(mine)})
    if others:
        raise UsageError(
            f"{class_dir} holds several classes ({', '.join(others[:3])}): review each class "
            "folder on its own"
        )


def _left(items: list[Item], console: Console) -> None:
    by_problem: dict[str, list[Item]] = {}
    for item in items:
        by_problem.setdefault(f"{item.problem.id} {item.check.id}", []).append(item)
    points = sum(i.check.pending_points for i in items)
    console.print(Text(f"{len(items)} item(s) pending, up to {points:g} point(s):"))
    for name, found in by_problem.items():
        students = ", ".join(i.student for i in found)
        console.print(Text(f"  {name}: {students}"))


def review_main(argv: list[str], console: Console, ask: Callable[[str], str] = input) -> int:
    args = build_parser().parse_args(argv)
    if not args.class_dir.is_dir():
        raise UsageError(f"no such class folder: {args.class_dir}")
    batch = _grade_class(args)
    _class_of(batch, args.class_dir)
    reviews = load_reviews(args.class_dir.resolve())
    for warning in batch.report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    one_off = [
        (args.override, lambda: _override(args, batch, reviews, args.ta)),
        (args.regrade, lambda: _regrade(args, batch, reviews)),
        (args.resolve, lambda: _resolve(args, batch, reviews, args.ta)),
    ]
    for given, action in one_off:
        if given:
            said = action()
            save_reviews(reviews)
            console.print(Text(f"{said}; saved to {reviews_path(args.class_dir)}"))
            return 0
    homeworks = {sub.homework for sub in batch.report.submissions}
    items = pending_items(batch, _prompts(homeworks, args.rubrics, args.course), args.by)
    items = [
        i
        for i in items
        if (args.student in (None, i.student)) and (args.problem in (None, i.problem.id))
    ]
    if args.list or not items:
        _left(items, console)
        return 0
    decided = walk(items, reviews, args.ta, ask, console)
    console.print(Text(f"{decided} decision(s) saved; {len(items) - decided} item(s) left"))
    return 0


if __name__ == "__main__":
    sys.exit(review_main(sys.argv[1:], Console()))
