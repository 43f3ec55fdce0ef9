"""Course staff's decisions applied to a graded batch, on every `grade`.

A decision counts only while it still fits what is graded: its fingerprint (the student's files
and the excerpt the TA was shown) must match, and its points must fit the check as the rubric
now scores it. One that no longer fits is *reopened*: the check stands as judged automatically
(pending again, for a pending item), carries the old decision in its `review` mark, and the
batch's warnings say so. Nothing is kept or dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.results import (
    CheckResult,
    GradeReport,
    ProblemResult,
    ReviewMark,
    Status,
    SubmissionResult,
    points_text,
    problem_result,
)
from grader.review.store import Decision, Override, Reviews, load_reviews

_EPS = 1e-9


@dataclass(frozen=True)
class ReviewedFolder:
    """Where one graded student's reviews are: their class folder, the name the reviews file
    knows them by (their folder's name in it), and a digest of their files."""

    class_dir: Path
    name: str
    files_digest: str


#: Bytes of one file, and of one submission, that the review fingerprint reads; past them a
#: file counts by its size and modification time (a sparse 1 TiB file must cost nothing).
DIGEST_FILE_CAP = 64 << 20
DIGEST_TOTAL_CAP = 256 << 20


def files_digest(root: Path, files: Iterable[str]) -> str:
    """sha256 over the submission's files (those ingest listed), by relative path and content,
    read in blocks: any change to any of them changes it. Reads are capped before they happen
    (`DIGEST_FILE_CAP`, `DIGEST_TOTAL_CAP`): a file past them is fingerprinted by its size and
    modification time instead."""
    digest = hashlib.sha256()
    budget = DIGEST_TOTAL_CAP
    for rel in sorted(files):
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            stat = (root / rel).stat()
            if stat.st_size > min(DIGEST_FILE_CAP, budget):
                digest.update(f"<{stat.st_size} bytes, mtime {stat.st_mtime_ns}>".encode())
            else:
                budget -= stat.st_size
                with (root / rel).open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")
    return digest.hexdigest()


def excerpt_of(check: CheckResult) -> str:
    """What a TA is shown of the student's work for a check: where it is and its lines (never
    the points, which the rubric may change without the work changing)."""
    return "\n".join([str(check.source or ""), *check.details])


def fingerprint(folder_digest: str, check: CheckResult) -> str:
    digest = hashlib.sha256(f"{folder_digest}\0{excerpt_of(check)}".encode())
    return f"sha256:{digest.hexdigest()[:32]}"


@dataclass
class _Index:
    """A class's entries by (student, problem, check); targets written twice are conflicts."""

    decisions: dict[tuple[str, str, str], Decision]
    overrides: dict[tuple[str, str, str], Override]
    used: set[int]


def _index(reviews: Reviews, warnings: list[str]) -> _Index:
    index = _Index({}, {}, set())
    for kind, entries, table in (
        ("decision", reviews.decisions, index.decisions),
        ("override", reviews.overrides, index.overrides),
    ):
        seen: dict[tuple[str, str, str], list[Decision | Override]] = {}
        for entry in entries:
            seen.setdefault(entry.target, []).append(entry)
        for target, found in seen.items():
            if len(found) == 1:
                table[target] = found[0]  # type: ignore[assignment]
                continue
            lines = ", ".join(str(reviews.line_of(e)) for e in found)
            warnings.append(
                f"{reviews.path}: lines {lines}: {len(found)} [[{kind}]] entries for "
                f"{'/'.join(target)}; none is used until one is left"
            )
    return index


def _status_for(score: float, max_score: float) -> Status:
    return Status.PASSED if score >= max_score - _EPS else Status.FAILED


def _mark(
    check: CheckResult, kind: str, state: str, points: float | None, **extra: str
) -> ReviewMark:
    return ReviewMark(
        kind=kind,
        state=state,
        points=points,
        automatic_status=check.status,
        automatic_score=check.score,
        automatic_message=check.message,
        automatic_pending=check.pending_points,
        **extra,
    )


def _decide(check: CheckResult, entry: Decision, current: str) -> tuple[CheckResult, str | None]:
    """A pending item with the TA's points added; or reopened, with why."""
    who = {"comment": entry.comment, "by": entry.by, "at": entry.at}
    awarded = entry.points
    if entry.result is not None:
        awarded = check.pending_points if entry.result == "pass" else 0.0
    assert awarded is not None
    reason = None
    if check.status is not Status.PENDING:
        reason = f"the check is no longer pending (now {check.status.value} automatically)"
    elif entry.fingerprint != current:
        reason = "the student's files or the excerpt reviewed changed since"
    elif awarded > check.pending_points + _EPS:
        reason = (
            f"{points_text(awarded)} awarded, but the check now leaves {check.pending_points:g}"
        )
    if reason is not None:
        mark = _mark(check, "decision", "reopened", awarded, reason=reason, **who)
        return check.model_copy(update={"review": mark}), reason
    score = round(check.score + awarded, 6)
    said = f"graded by a TA: {entry.comment}" if entry.comment else "graded by a TA"
    mark = _mark(check, "decision", "applied", awarded, **who)
    update = {
        "status": _status_for(score, check.max_score),
        "score": score,
        "pending_points": 0.0,
        "message": said,
        "review": mark,
    }
    return check.model_copy(update=update), None


def _override(check: CheckResult, entry: Override, current: str) -> tuple[CheckResult, str | None]:
    """An automatic verdict replaced by the TA's score and reason; or reopened, with why."""
    who = {"comment": entry.reason, "by": entry.by, "at": entry.at}
    floor = min(0.0, check.score)
    reason = None
    if entry.fingerprint != current:
        reason = "the student's files or the excerpt reviewed changed since"
    elif not floor - _EPS <= entry.points <= check.max_score + _EPS:
        reason = (
            f"{points_text(entry.points)} do not fit the check ({floor:g} to {check.max_score:g})"
        )
    if reason is not None:
        mark = _mark(check, "override", "reopened", entry.points, reason=reason, **who)
        return check.model_copy(update={"review": mark}), reason
    mark = _mark(check, "override", "applied", entry.points, **who)
    update = {
        "status": _status_for(entry.points, max(check.max_score, 0.0)),
        "score": round(entry.points, 6),
        "pending_points": 0.0,
        "message": f"overridden by a TA: {entry.reason}",
        "review": mark,
    }
    return check.model_copy(update=update), None


def _reviewed_problem(
    problem: ProblemResult,
    folder: ReviewedFolder,
    index: _Index,
    reviews: Reviews,
    warnings: list[str],
) -> ProblemResult:
    checks = []
    for check in problem.checks:
        target = (folder.name, problem.id, check.id)
        entry: Decision | Override | None = index.overrides.get(target) or index.decisions.get(
            target
        )
        if entry is not None:
            index.used.add(id(entry))
        if entry is None or check.not_run:
            checks.append(check)
            continue
        current = fingerprint(folder.files_digest, check)
        if isinstance(entry, Override):
            reviewed, reopened = _override(check, entry, current)
        else:
            reviewed, reopened = _decide(check, entry, current)
        if reopened is not None:
            kind = "override" if isinstance(entry, Override) else "decision"
            by = f" by {entry.by}" if entry.by else ""
            warnings.append(
                f"{folder.name} {problem.id} {check.id}: the TA's {kind}{by} was reopened "
                f"({reopened}); review it again ({reviews.path}:{reviews.line_of(entry)})"
            )
        checks.append(reviewed)
    if checks == problem.checks:
        return problem
    return problem_result(problem.id, problem.title, problem.max_score, checks)


def _reviewed(
    sub: SubmissionResult,
    folder: ReviewedFolder,
    index: _Index,
    reviews: Reviews,
    warnings: list[str],
) -> SubmissionResult:
    problems = [_reviewed_problem(p, folder, index, reviews, warnings) for p in sub.problems]
    score = round(sum(p.score for p in problems), 6)
    return sub.model_copy(update={"problems": problems, "score": score})


def _unmatched(
    reviews: Reviews, index: _Index, graded: Mapping[str, SubmissionResult], warnings: list[str]
) -> None:
    """Entries for a student graded now whose check does not exist (a rubric renamed it)."""
    for entry in [*index.decisions.values(), *index.overrides.values()]:
        sub = graded.get(entry.student)
        if sub is None or id(entry) in index.used or sub.error:
            continue
        warnings.append(
            f"{reviews.path}:{reviews.line_of(entry)}: {entry.student} has no check "
            f"{entry.problem}/{entry.check} in {sub.homework}: this entry is not applied"
        )


def _open_regrades(reviews: Reviews, graded: Mapping[str, SubmissionResult]) -> list[str]:
    waiting = [r for r in reviews.regrades if r.status == "open" and r.student in graded]
    if not waiting:
        return []
    who = ", ".join(sorted({f"{r.student} {r.problem}/{r.check}" for r in waiting}))
    return [f"{reviews.path}: {len(waiting)} open regrade request(s): {who}"]


def apply_reviews(report: GradeReport, folders: Mapping[str, ReviewedFolder]) -> GradeReport:
    """`report` with every class's reviews applied; `folders` maps each result's `student` to
    where its reviews are. Students with no folder (not graded from one) are left as they are."""
    by_class: dict[Path, dict[str, SubmissionResult]] = {}
    for sub in report.submissions:
        folder = folders.get(sub.student)
        if folder is not None:
            by_class.setdefault(folder.class_dir, {})[folder.name] = sub
    warnings: list[str] = []
    replaced: dict[int, SubmissionResult] = {}
    for class_dir, graded in sorted(by_class.items()):
        reviews = load_reviews(class_dir)
        warnings.extend(str(error) for error in reviews.errors)
        index = _index(reviews, warnings)
        for name in sorted(graded):
            sub = graded[name]
            replaced[id(sub)] = _reviewed(sub, folders[sub.student], index, reviews, warnings)
        _unmatched(reviews, index, graded, warnings)
        warnings.extend(_open_regrades(reviews, graded))
    if not replaced and not warnings:
        return report
    submissions = [replaced.get(id(sub), sub) for sub in report.submissions]
    return GradeReport(submissions=submissions, warnings=[*report.warnings, *warnings])


def reviewed_folders(
    submissions: Sequence[tuple[str, Path, Sequence[str]]],
) -> dict[str, ReviewedFolder]:
    """(student id, folder, its files) for each graded submission -> where its reviews are."""
    return {
        student: ReviewedFolder(root.parent.resolve(), root.name, files_digest(root, files))
        for student, root, files in submissions
    }
