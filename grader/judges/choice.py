"""The `choice` check kind: a subset of options; partial credit per option classified right."""

from __future__ import annotations

import re

from grader.ingest.writeup import read_choice_answer
from grader.judges.answers import (
    expected_value,
    for_a_ta,
    reference_missing,
    student_answer,
    with_origin,
    wrong,
)
from grader.judges.context import GradingContext, needs_reference, result
from grader.judges.readers import read_choice
from grader.results import CheckResult, Status
from grader.rubric import (
    ChoiceCheck,
    Problem,
)


def _judge_choice(
    problem: Problem, check: ChoiceCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    answer = student_answer(ctx, problem, check, read_choice)
    if isinstance(answer, CheckResult):
        return answer
    if reference_missing(ctx, check):
        return needs_reference(check, part, check.points)
    raw = [answer.value] if isinstance(answer.value, str) else answer.value
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        return wrong(
            check,
            part,
            f"expected a list of options such as {check.options[:2]}, got {answer.value!r}",
            answer,
        )
    spellings = {_norm(o): o for o in check.options}
    for option, aliases in check.aliases.items():
        spellings.update({_norm(a): option for a in aliases})
    pieces = [p for item in raw for p in re.split(r"[,;]", item) if p.strip()]
    if all(_norm(p) in spellings for p in pieces):
        chosen = {spellings[_norm(p)] for p in pieces}
        unknown: list[str] = []
    else:  # "ReLU and Leaky ReLU", "a and c only", "all except sigmoid", "nn.ReLU()"
        names = {
            o: list(dict.fromkeys([o, o.replace("_", " "), *check.aliases.get(o, [])]))
            for o in check.options
        }
        reading = read_choice_answer(raw, names)
        if reading.chosen is None:
            return for_a_ta(
                check,
                part,
                answer,
                f"cannot tell which options your answer chooses ({reading.reason}); "
                f"write them as a list such as {check.options[:2]}",
            )
        chosen, unknown = reading.chosen, list(reading.unknown)
    expected = set(expected_value(ctx, check.expected))
    verdicts = []
    right = 0
    for option in check.options:
        correct = (option in chosen) == (option in expected)
        right += correct
        said = "chosen" if option in chosen else "not chosen"
        verdicts.append(f"{option} {said} {'✓' if correct else '✗'}")
    score = check.points * right / len(check.options)
    status = Status.PASSED if right == len(check.options) else Status.FAILED
    message = f"{right}/{len(check.options)} options classified correctly: " + ", ".join(verdicts)
    details = (
        [
            f"unrecognised option(s): {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(check.options)}"
        ]
        if unknown
        else []
    )
    return result(
        check, part, status, score, check.points, message, details=details, source=answer.source
    )


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def judge_choice(
    problem: Problem, check: ChoiceCheck, part: str | None, ctx: GradingContext
) -> CheckResult:
    """The verdict, naming the document the answer was read from when it was not the sheet."""
    return with_origin(_judge_choice(problem, check, part, ctx), problem, check, ctx)
