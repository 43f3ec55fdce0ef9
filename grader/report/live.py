"""Progress while a batch runs, by student: a bar on a terminal, a line per student otherwise.

A class takes minutes. On a terminal the bar counts students (not sandbox runs, which made it
look finished at `3/3` and then jump to `5/15`) and names the student being judged; piped into a
file or CI log, where a bar shows nothing until the end, each finished student gets a line.
Everything here is called from the pipeline's callbacks, some from sandbox threads.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from grader.results import Completeness, Status, SubmissionResult


def student_line(result: SubmissionResult, done: int, total: int, elapsed: float) -> str:
    """One finished student, as a log line: `[3/12 41s] alice hw6 24/30 (+6 pending)`."""
    checks = [c for p in result.problems for c in p.checks]
    line = f"[{done}/{total} {elapsed:.0f}s] {result.student} {result.homework} "
    if result.error:
        return line + f"not graded: {' '.join(result.error.removeprefix('not graded: ').split())}"
    line += f"{result.score:g}/{result.max_score:g}"
    pending = sum(c.pending_points for c in checks)
    if pending:
        line += f" (+{pending:g} pending)"
    errors = sum(c.status is Status.ERROR for c in checks)
    if errors:
        line += f", {errors} check(s) crashed"
    if result.completeness is not Completeness.COMPLETE:
        line += f", {result.completeness.value}"
    return line


class LiveProgress:
    """The pipeline's progress callbacks (`students`, `judging`, `graded`, `observed`), shown
    on `console`: a transient bar when it is a terminal, else one line per finished student."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.total = 0
        self.done = 0
        self.failed_runs = 0
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self.bar = Progress(
            TextColumn("{task.fields[verb]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("students"),
            TextColumn("{task.fields[now]}", markup=False),  # a student's name, literally
            TextColumn("{task.fields[failed]}", markup=False, style="red"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.runs: int | None = None  # student code runs planned; None until a homework says
        self.task = self.bar.add_task("students", total=None, now="", failed="", verb="grading")

    def __enter__(self) -> LiveProgress:
        if self.live:
            self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.live:
            self.bar.stop()

    def students(self, total: int) -> None:
        with self._lock:
            self.total = total
            self.bar.update(self.task, total=total)

    def planned(self, runs: int) -> None:
        """A homework's sandbox runs are planned: a class whose students hand in writeups only
        has none, and its students are read, not run (never "running student code 0/0")."""
        with self._lock:
            self.runs = (self.runs or 0) + runs
            self.bar.update(self.task, verb="reading" if self.runs == 0 else "grading")

    def judging(self, student: str) -> None:
        with self._lock:
            doing = "reading" if self.runs == 0 else "judging"
            self.bar.update(self.task, now=f"{doing} {student}")

    def observed(self, student: str, failed: bool) -> None:
        """A sandbox run ended; a failed one (the student's code crashed) is counted."""
        if not failed:
            return
        with self._lock:
            self.failed_runs += 1
            self.bar.update(self.task, failed=f"{self.failed_runs} code run(s) failed")

    def graded(self, result: SubmissionResult) -> None:
        with self._lock:
            self.done += 1
            self.bar.update(self.task, advance=1)
            if self.live:
                return
            elapsed = time.monotonic() - self.start
            line = student_line(result, self.done, self.total, elapsed)
            self.console.print(Text(line), soft_wrap=True)
