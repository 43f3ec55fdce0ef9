"""The one table of check kinds: each kind's rubric model, its judge and, if probed, its planner.

Adding a check kind is one model in `grader.rubric` (with its `parts`, `points_of` and
`template_lines` where they differ from the defaults), one judge module in this package and one
row here; a kind that runs student code also has a planner (`grader.judges.planning`) and a probe
in `grader.sandbox.inside.probe`. Everything that treats kinds differently reads this table, and
`tests/judges/test_kinds.py` checks that it names every kind of the rubric's `Check` union, so a
forgotten row fails a test instead of grading silently wrong.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

from grader.courses import CourseEnvironment
from grader.ingest.submission import Submission
from grader.judges.choice import judge_choice
from grader.judges.compare_run import judge_compare_run
from grader.judges.context import GradingContext
from grader.judges.formula import judge_formula
from grader.judges.manual import judge_manual
from grader.judges.module import judge_module
from grader.judges.number import judge_number
from grader.judges.planning import plan_module, plan_script
from grader.judges.script import judge_script
from grader.judges.table import judge_table
from grader.judges.values import judge_values
from grader.results import CheckResult, Status
from grader.rubric import (
    Check,
    ChoiceCheck,
    CompareRunCheck,
    CustomCheck,
    FormulaCheck,
    ManualCheck,
    ModuleCheck,
    NumberCheck,
    ProbedCheck,
    Problem,
    ScriptCheck,
    TableCheck,
    ValuesCheck,
)
from grader.sandbox.observe import Planner, Target

#: A judge: (problem, check, part or None, what it may read of the student) -> the verdict.
Judge = Callable[[Problem, Any, str | None, GradingContext], CheckResult]


@dataclass(frozen=True)
class Kind:
    """One check kind: how a rubric states it, who judges it, what the sandbox runs for it."""

    model: type[Any]
    #: None for `custom`: its checks are instructors' pytest functions, collected by pytest
    #: from `<homework>_checks.py` (`grader.judges.custom` turns their outcome into a result).
    judge: Judge | None
    #: None for kinds that judge what the student wrote, without running their code.
    planner: Planner | None = None


KINDS: dict[str, Kind] = {
    "number": Kind(NumberCheck, judge_number),
    "choice": Kind(ChoiceCheck, judge_choice),
    "formula": Kind(FormulaCheck, judge_formula),
    "module": Kind(ModuleCheck, judge_module, planner=plan_module),
    "script": Kind(ScriptCheck, judge_script, planner=plan_script),
    "manual": Kind(ManualCheck, judge_manual),
    "values": Kind(ValuesCheck, judge_values),
    "table": Kind(TableCheck, judge_table),
    "custom": Kind(CustomCheck, None),
    "compare_run": Kind(CompareRunCheck, judge_compare_run),
}


def check_models() -> list[type[Any]]:
    """The models of the rubric's `Check` union, in its order (what KINDS must cover)."""
    union = typing.get_args(Check)[0]
    return list(typing.get_args(union))


def judge(problem: Problem, check: Check, part: str | None, ctx: GradingContext) -> CheckResult:
    """The verdict on one part of one check, by the judge of its kind."""
    judge_of_kind = KINDS[check.kind].judge
    if judge_of_kind is None:
        raise TypeError(f"{check.kind} checks are judged by pytest functions, not here")
    return _read_by_ocr(judge_of_kind(problem, check, part, ctx), ctx.submission)


def _read_by_ocr(outcome: CheckResult, sub: Submission) -> CheckResult:
    """A verdict that does not pass, on an answer read from a scanned page's OCR text, is a
    TA's: OCR misreads digits and symbols ('0.5' as 'O.5', '1e-3' as 'le-3'), and the misreading
    must not cost the student the points. A pass stands (a misreading that lands on the right
    answer is not a risk worth a TA's time)."""
    source = outcome.source
    if source is None or outcome.status in (Status.PENDING, Status.SKIPPED):
        return outcome
    if outcome.status is Status.PASSED and outcome.score >= outcome.max_score:
        return outcome
    scanned = next((d for d in sub.documents if d.file == source.file and d.ocr_pages), None)
    if scanned is None or (source.page is not None and source.page not in scanned.ocr_pages):
        return outcome
    return outcome.model_copy(
        update={
            "status": Status.PENDING,
            "score": 0.0,
            "pending_points": outcome.max_score,
            "message": f"for a TA: read by OCR from a scanned page ({source}), where the "
            f"grader found: {outcome.message}",
        }
    )


def is_probed(check: Check) -> TypeGuard[ProbedCheck]:
    """Whether grading this check runs student code in the sandbox."""
    return KINDS[check.kind].planner is not None


def is_collected_by_pytest(check: Check) -> bool:
    """Whether this check's items come from an instructor's checks file, not from the rubric."""
    return KINDS[check.kind].judge is None


def plan_probe(
    sub: Submission,
    problem: Problem,
    check: ProbedCheck,
    run_seed: int,
    environment: CourseEnvironment | None = None,
) -> Target:
    """The sandbox run a probed check needs, planned by its kind's planner."""
    planner = KINDS[check.kind].planner
    if planner is None:
        raise TypeError(f"{check.kind} checks run no student code")
    return planner(sub, problem, check, run_seed, environment)
