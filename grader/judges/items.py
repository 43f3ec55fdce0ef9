"""Rubric checks as pytest items, following pytest's example for non-Python test files.

A rubric file becomes a `RubricFile`; it yields one `StudentNode` per submission and each of those
one `CheckItem` per rubric check (a check with parts: one per part). `runtest` calls the judge
named by the check's kind (`grader.judges.kinds`) and records the `CheckResult`; failures raise
so pytest counts them, `repr_failure` prints the message a student reads. `GraderPlugin` is what
`grader.pipeline` registers with pytest; `grader.plugin` holds only the entry hooks of
`pytest -p grader.plugin`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader.errors import UsageError
from grader.ingest.budget import BudgetExceeded, not_graded_message
from grader.ingest.submission import Submission
from grader.judges.budget import JudgingBudget
from grader.judges.context import GradingContext
from grader.judges.custom import ScriptRun, custom_result
from grader.judges.kinds import is_collected_by_pytest, is_probed, judge
from grader.judges.planning import script_target
from grader.judges.selection import compile_selection
from grader.reference import GRADING_TIME, NotPrecomputed, PrecomputedReference, Reference
from grader.results import STAFF_MESSAGE, CheckResult, Status
from grader.rubric import Check, CustomCheck, ProbedCheck, Problem, Rubric, ScriptCheck
from grader.sandbox.jobs import ProbeOutcome
from grader.sandbox.observe import Observer, probe_id


class CheckFailed(Exception):
    """Raised by an item whose check did not pass, so pytest's outcome and exit code agree."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass
class GradingSession:
    """What the plugin grades, and where it leaves the results (the one source of truth)."""

    rubric: Rubric
    rubric_path: Path
    submissions: list[Submission]
    reference: Reference | None
    observer: Observer
    run_seed: int = 0
    jobs: int = 1
    on_planned: Callable[[int], None] | None = None
    on_observed: Callable[[str, bool], None] | None = None  # (student, their code failed)
    results: dict[tuple[str, str, str], CheckResult] = field(default_factory=dict)
    contexts: dict[str, GradingContext] = field(default_factory=dict)
    budgets: dict[str, JudgingBudget] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def budget(self, student: str) -> JudgingBudget:
        """The student's judging budget (CPU time, memory), opened at their first check."""
        with self._lock:
            if student not in self.budgets:
                self.budgets[student] = JudgingBudget.from_environment()
            return self.budgets[student]

    def over_budget(self, student: str) -> str | None:
        """Why this student's judging was stopped, or None."""
        budget = self.budgets.get(student)
        return budget.exceeded if budget is not None else None

    @property
    def students_copy(self) -> bool:
        """Whether this is a student's own run (the grader without `reference/`, or a students'
        bundle): hidden checks are not run there, and say so."""
        return self.reference is None or isinstance(self.reference, PrecomputedReference)

    def runs_here(self, check: Check) -> bool:
        """Whether this run judges the check: in a students' copy, hidden checks wait for
        grading (their code is not even run)."""
        return not (self.students_copy and check.shown == "hidden")

    def context(self, sub: Submission) -> GradingContext:
        with self._lock:
            if sub.student not in self.contexts:
                self.contexts[sub.student] = GradingContext(
                    sub, self.rubric, self.reference, self.observer, self.run_seed
                )
            return self.contexts[sub.student]


class GraderPlugin:
    def __init__(self, session: GradingSession) -> None:
        self.session = session
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[tuple[str, bool]]] = []
        # (file relative to the rubric's folder, the error's last lines): a custom checks file
        # that does not import
        self.collection_errors: list[tuple[str, str]] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines()
            file = report.nodeid.split("::")[0]
            self.collection_errors.append((file, "\n    ".join(lines[-6:])))

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> pytest.Collector | None:
        if file_path.resolve() == self.session.rubric_path.resolve():
            return RubricFile.from_parent(parent, path=file_path, session_data=self.session)
        return None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the sandboxes of the selected checks, in parallel across students, in the
        order the checks will be judged.

        Judging starts at once and waits only for the observations it needs, so the grader's
        own work (reading outcomes, comparing with the reference) overlaps the students' runs
        instead of following all of them.
        """
        wanted: dict[tuple[str, str, str], tuple[CheckItem, ProbedCheck]] = {}
        for item in session.items:
            if (
                isinstance(item, CheckItem)
                and is_probed(item.check)
                and self.session.runs_here(item.check)
            ):
                key = (item.submission.student, item.problem.id, item.check.id)
                wanted[key] = (item, item.check)
                if isinstance(item.check, ScriptCheck):  # its other runs, under the rubric's seeds
                    for _, run in item.check.seed_runs()[1:]:
                        wanted[(*key[:2], run.id)] = (item, run)
        if self.session.on_planned:
            self.session.on_planned(len(wanted))
        if not wanted:
            return
        observer = self.session.observer

        def observe(item: CheckItem, check: ProbedCheck) -> tuple[str, bool]:
            try:
                outcome, _ = observer.outcome(item.submission, item.problem, check)
            except Exception:  # a grader bug: the check's own item meets it again and says so
                return item.submission.student, True
            return item.submission.student, code_failed(outcome)

        self._pool = ThreadPoolExecutor(max_workers=max(1, self.session.jobs))
        self._futures = [self._pool.submit(observe, *planned) for planned in wanted.values()]
        for future in self._futures:
            future.add_done_callback(self._observed)

    def _observed(self, future: Future[tuple[str, bool]]) -> None:
        if self.session.on_observed is not None and not future.cancelled():
            self.session.on_observed(*future.result())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        outcome: Any = yield
        self._stop_observing(cancel=outcome.excinfo is not None)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stop_observing(cancel=True)  # collection failed, or anything else ended early

    def _stop_observing(self, cancel: bool) -> None:
        """Ctrl-C (or any early end) starts nothing new; what finished is in the cache."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    # --- instructors' custom checks: plain pytest functions with these fixtures -------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "submission" in metafunc.fixturenames:
            subs = self.session.submissions
            metafunc.parametrize("submission", subs, ids=[s.student for s in subs])

    @pytest.fixture
    def reference(self) -> Reference:
        if self.session.reference is None:
            pytest.skip(f"{STAFF_MESSAGE} (the reference solution is not installed)")
        return self.session.reference

    @pytest.fixture
    def observation(self, submission: Submission) -> Callable[[str, str], Any]:
        """`observation("p4b", "stm")`: the sandbox's `ProbeOutcome` of a module or script check
        (None: nothing ran). For scripts, `script_run` is the convenient form."""
        rubric = self.session.rubric

        def get(problem_id: str, check_id: str) -> Any:
            problem = rubric.problem(problem_id)
            check = next(c for c in problem.checks if c.id == check_id)
            if not is_probed(check):
                raise TypeError(f"{problem_id}.{check_id} runs no student code")
            outcome, _ = self.session.observer.outcome(submission, problem, check)
            return outcome

        return get

    @pytest.fixture
    def script_run(self, submission: Submission) -> Callable[[str, str], ScriptRun]:
        """`script_run("p7", "run")`: a script check's run as values (`ScriptRun`): what the
        rubric's `observe`, `evaluate` and `calls` brought back, globals, figures, output."""
        rubric = self.session.rubric

        def get(problem_id: str, check_id: str) -> ScriptRun:
            problem = rubric.problem(problem_id)
            check = next(c for c in problem.checks if c.id == check_id)
            if not isinstance(check, ScriptCheck):
                raise TypeError(f"{problem_id}.{check_id} is a {check.kind} check, not a script")
            observer = self.session.observer
            target = script_target(observer, submission, problem, check)
            outcome, _ = observer.outcome(submission, problem, check)
            why = None
            if target.file is None:
                why = submission.unassembled.get(check.file) or f"no {check.file} was found"
            return ScriptRun.of(target, outcome, probe_id(problem, check), why)

        return get

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """An instructor's check runs on the student's judging budget too."""
        if self._custom_check(item) is None:
            return (yield)
        budget = self.session.budget(item.callspec.params["submission"].student)  # type: ignore[attr-defined]
        with budget.charging():
            return (yield)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        custom = self._custom_check(item)
        if custom is None or (report.when != "call" and report.passed):
            return
        problem, check = custom
        student = item.callspec.params["submission"].student  # type: ignore[attr-defined]
        reason = self.session.over_budget(student)
        self.session.results[(student, problem.id, check.id)] = (
            not_judged(check, None, reason) if reason else custom_result(check, report, call)
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """`-k` selects by what a check is (problem, check, kind, homework), never by where the
        rubric lives or who the student is: pytest's own -k also matches the names of every
        folder above the rubric, so `-k "not p5"` deselected everything under /tmp/bench-p5x/,
        and a student folder named `p5smith` would have answered to `-k p5`."""
        select = config.option.keyword
        if not select:
            self._mark_grading_time(items)
            return
        try:
            matches = compile_selection(select)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from exc
        config.option.keyword = ""  # pytest's own matching would run after this one
        self._mark_grading_time(items)
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            (keep if matches(self._keywords(item)) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def _mark_grading_time(self, items: list[pytest.Item]) -> None:
        """A hidden custom check does not run in a students' copy: skipped, saying when it is
        checked (its function is the instructor's, and may need what students lack)."""
        for item in items:
            custom = self._custom_check(item)
            if custom is not None and not self.session.runs_here(custom[1]):
                item.add_marker(pytest.mark.skip(reason=GRADING_TIME))

    def _keywords(self, item: pytest.Item) -> set[str]:
        homework = self.session.rubric.homework
        if isinstance(item, CheckItem):
            check = item.check
            return {homework, item.problem.id, check.id, check.part_id(item.part), check.kind}
        custom = self._custom_check(item)
        if custom is not None:
            problem, check = custom
            return {homework, problem.id, check.id, check.function, "custom"}
        return {getattr(item, "originalname", item.name)}  # any other test in a checks file

    def _custom_check(self, item: pytest.Item) -> tuple[Problem, CustomCheck] | None:
        name = getattr(item, "originalname", None)
        if name is None or not hasattr(item, "callspec"):
            return None
        for problem in self.session.rubric.problems:
            for check in problem.checks:
                if isinstance(check, CustomCheck) and check.function == name:
                    return problem, check
        return None


class RubricFile(pytest.File):
    def __init__(self, *, session_data: GradingSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_data = session_data

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        for sub in self.session_data.submissions:
            yield StudentNode.from_parent(self, name=sub.student, submission=sub)


class StudentNode(pytest.Collector):
    def __init__(self, *, submission: Submission, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.submission = submission

    def collect(self) -> Iterator[pytest.Item]:
        rubric = self.parent.session_data.rubric  # type: ignore[union-attr]
        for problem in rubric.problems:
            for check in problem.checks:
                if is_collected_by_pytest(check):
                    continue  # collected by pytest from <homework>_checks.py
                for part in check.parts():
                    yield CheckItem.from_parent(
                        self,
                        name=f"{problem.id}::{check.part_id(part)}",
                        problem=problem,
                        check=check,
                        part=part,
                        submission=self.submission,
                    )


#: An absolute path in a message: the grading machine's folders are not the student's business.
_HOST_PATH = re.compile(r"(?<![\w.])/(?:[\w.\-]+/)+([\w.\-]+)")


def grader_bug(check: Check, part: str | None, exc: BaseException) -> CheckResult:
    """A bug of the grader costs this check only, and says so without the server's paths (the
    feedback goes to the student); the traceback is pytest's, for the course staff."""
    reason = _HOST_PATH.sub(r"\1", str(exc))[:300]
    return CheckResult(
        id=check.part_id(part),
        status=Status.ERROR,
        score=0.0,
        max_score=check.points_of(part),
        message=f"internal grader error, not your fault ({type(exc).__name__}: "
        f"{reason}); please tell the course staff",
        title=check.title,
    )


def not_judged(check: Check, part: str | None, reason: str) -> CheckResult:
    """A check left unjudged because the student's judging budget is spent."""
    return CheckResult(
        id=check.part_id(part),
        status=Status.ERROR,
        score=0.0,
        max_score=check.points_of(part),
        message=not_graded_message(reason),
        title=check.title,
    )


def grading_time(check: Check, part: str | None) -> CheckResult:
    """A check (or part) a students' copy leaves to grading: skipped, with its points."""
    return CheckResult(
        id=check.part_id(part),
        status=Status.SKIPPED,
        score=0.0,
        max_score=check.points_of(part),
        message=GRADING_TIME,
        title=check.title,
    )


def code_failed(outcome: ProbeOutcome | None) -> bool:
    """Whether a student's code could not be observed as planned (absent, crashed, or stopped by
    a limit): what the progress bar counts as failures while a batch runs."""
    if outcome is None or outcome.problem is not None or outcome.observation is None:
        return True
    return getattr(outcome.observation, "error", None) is not None


class CheckItem(pytest.Item):
    def __init__(
        self,
        *,
        problem: Problem,
        check: Check,
        part: str | None,
        submission: Submission,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.problem = problem
        self.check = check
        self.part = part
        self.submission = submission
        self.extra_keyword_matches.update({problem.id, check.kind})

    @property
    def grading(self) -> GradingSession:
        return self.parent.parent.session_data  # type: ignore[union-attr]

    def runtest(self) -> None:
        ctx = self.grading.context(self.submission)
        key = (self.submission.student, self.problem.id, self.check.part_id(self.part))
        budget = self.grading.budget(self.submission.student)
        try:
            with budget.charging():
                if not self.grading.runs_here(self.check):
                    outcome = grading_time(self.check, self.part)
                else:
                    outcome = judge(self.problem, self.check, self.part, ctx)
        except BudgetExceeded as exc:  # this student alone: the pipeline says "not graded"
            self.grading.results[key] = not_judged(self.check, self.part, exc.reason)
            pytest.skip(not_graded_message(exc.reason))
        except NotPrecomputed:  # the bundle lacks what deciding this needs: never a guess
            outcome = grading_time(self.check, self.part)
        except Exception as exc:  # a grader bug must cost this check, not the batch
            self.grading.results[key] = grader_bug(self.check, self.part, exc)
            raise
        self.grading.results[key] = outcome
        if outcome.status in (Status.FAILED, Status.ERROR):
            raise CheckFailed(outcome)
        if outcome.status in (Status.SKIPPED, Status.PENDING):
            pytest.skip(f"{outcome.status.value}: {outcome.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            r = excinfo.value.result
            first, *rest = r.text().lines()
            return "\n".join([f"{r.status.value}: {first}", *(f"  {line}" for line in rest)])
        return f"grader bug while judging this check:\n{super().repr_failure(excinfo)}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return (
            self.path,
            None,
            f"{self.submission.student}: {self.problem.id} {self.check.part_id(self.part)}",
        )
