"""The `table` check kind: a table answer (the VGG-11 layers) judged row by row and cell by
cell (`grader.judges.tabular` reads and compares; this module finds the answer)."""

from __future__ import annotations

from grader.judges.answers import (
    expected_value,
    reference_missing,
    student_answer,
    wrong,
)
from grader.judges.context import GradingContext, needs_reference
from grader.judges.readers import read_table
from grader.judges.tabular import StudentTable, grade_table, table_from_sheet
from grader.results import CheckResult
from grader.rubric import (
    Problem,
    TableCheck,
)


def judge_table(
    problem: Problem, check: TableCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """A table answer (grader.judges.tabular): from the answer sheet's array of rows, or as
    grader.judges.sources found it in a writeup; every wrong cell is named."""
    answer = student_answer(ctx, problem, check, read_table)
    if isinstance(answer, CheckResult):
        return answer
    table = answer.value
    if not isinstance(table, StudentTable):
        table = table_from_sheet(answer.value, check)
        if isinstance(table, str):
            return wrong(check, part, f"cannot read your table: {table}", answer)
    if reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    outcome = grade_table(check, part, table, expected_value(ctx, check.expected), answer.source)
    if answer.origin is None:
        return outcome
    read = f"table read from {answer.where or answer.origin} ({len(table.rows)} rows)"
    return outcome.model_copy(update={"details": [read, *outcome.details]})
