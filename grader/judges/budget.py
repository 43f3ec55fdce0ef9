"""A per-student budget for the grader's own work judging a submission: CPU time and memory.

Why: judging runs in the grader's process, one check after another, on data the student's
process chose (observations, answers). The judges are meant to be bounded in that data; this is
the backstop that turns whatever is left (a judge slower or hungrier on some input than anyone
foresaw, an instructor's custom check that loops over a student's output) into a clear
"not graded: judging exceeded ..." for that student alone, never a stalled batch.

How:
- **CPU time** is the judging thread's own (`time.thread_time`), summed over every check of the
  student, so a busy machine or the sandbox threads beside it cost the student nothing.
- **Memory** is the growth of the grader's resident memory (`/proc/self/statm`) above what it
  was when that student's check began: the judges keep nothing between students but caches of
  the reference, so growth while one student's check runs is that check's.
- Both are checked cooperatively (`grader.ingest.budget.check`, called in the judges' and
  parsers' loops) and, where judging runs in the main thread, pre-emptively: a `SIGPROF` timer
  ticking every `TICK_S` of process CPU (user and system) samples both and raises
  `BudgetExceeded` in whatever Python code runs (a call into C finishes first). A student over
  budget is not graded further: their remaining checks are not judged, and `grader.pipeline`
  reports them `not graded`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

from grader.ingest.budget import BudgetExceeded, judging_limit

CPU_VAR = "GRADER_JUDGE_CPU_S"
MEMORY_VAR = "GRADER_JUDGE_MEMORY_MB"
DEFAULT_CPU_S = 300.0
"""CPU seconds one student's judging may cost in all. An HW6 student costs about a second."""
DEFAULT_MEMORY_MB = 4096.0
"""Growth of the grader's memory one check of a student may cause (observations are capped far
below this; the reference's own tensors are small)."""
TICK_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The grader's resident memory now (0 where /proc is missing: no memory budget there)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _limit(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "")
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class JudgingBudget:
    """One student's judging budget and what they have spent of it."""

    cpu_s: float
    memory_bytes: int
    spent_s: float = 0.0
    exceeded: str | None = None  # why, once spent: the rest of the student is not judged

    @classmethod
    def from_environment(cls) -> JudgingBudget:
        memory_mb = _limit(MEMORY_VAR, DEFAULT_MEMORY_MB)
        return cls(_limit(CPU_VAR, DEFAULT_CPU_S), int(memory_mb * 2**20))

    @contextlib.contextmanager
    def charging(self) -> Iterator[None]:
        """Run one check's judging on this budget: raises `BudgetExceeded` (and records why in
        `exceeded`) once the student's CPU time or the check's memory growth is over."""
        if self.exceeded is not None:
            raise BudgetExceeded(self.exceeded)
        start = time.thread_time()
        baseline = resident_bytes()

        def over() -> str | None:
            used = self.spent_s + time.thread_time() - start
            if used > self.cpu_s:
                return f"judging exceeded its {self.cpu_s:g} s of CPU time"
            grown = resident_bytes() - baseline if baseline else 0
            if grown > self.memory_bytes:
                return (
                    f"judging exceeded its {self.memory_bytes / 2**20:g} MiB of memory "
                    f"({grown / 2**20:.0f} MiB more than before the check)"
                )
            return None

        try:
            with judging_limit(over), _ticking(over):
                yield
            reason = over()  # a call into C that no tick could interrupt
            if reason is not None:
                raise BudgetExceeded(reason)
        except BudgetExceeded as exc:
            self.exceeded = exc.reason
            raise
        finally:
            self.spent_s += time.thread_time() - start


@contextlib.contextmanager
def _ticking(over: Callable[[], str | None]) -> Iterator[None]:
    """A `SIGPROF` every `TICK_S` of CPU, user and system (allocating memory is mostly the
    kernel's work, so a judge hoarding memory is sampled as often as one computing), that raises
    `BudgetExceeded` once `over()` says why; nothing outside the main thread (signals are
    delivered there only) or where a handler is already installed by someone else."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGPROF)
    if previous not in (signal.SIG_DFL, signal.SIG_IGN, None):
        yield
        return

    def tick(signum: int, frame: FrameType | None) -> None:
        reason = over()
        if reason is not None:
            signal.setitimer(signal.ITIMER_PROF, 0)
            raise BudgetExceeded(reason)

    signal.signal(signal.SIGPROF, tick)
    signal.setitimer(signal.ITIMER_PROF, TICK_S, TICK_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous if previous is not None else signal.SIG_DFL)
