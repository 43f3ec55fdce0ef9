"""The kinds table names every check kind once, with a judge or a reason to have none."""

from __future__ import annotations

import typing

from grader.judges.kinds import KINDS, check_models, is_collected_by_pytest, is_probed
from grader.rubric import CustomCheck, ModuleCheck, ScriptCheck


def test_every_check_model_has_exactly_one_row() -> None:
    models = check_models()
    assert len(models) == len(KINDS)
    for model in models:
        (kind,) = typing.get_args(model.model_fields["kind"].annotation)
        assert KINDS[kind].model is model, kind


def test_only_custom_checks_have_no_judge_of_their_own() -> None:
    assert [k for k, row in KINDS.items() if row.judge is None] == ["custom"]


def test_the_probed_kinds_are_the_ones_that_run_student_code() -> None:
    assert {k for k, row in KINDS.items() if row.planner is not None} == {"module", "script"}


def test_the_helpers_read_the_table() -> None:
    custom = CustomCheck(id="c", points=1, kind="custom", function="check_c")
    module = ModuleCheck.model_construct(id="m", points=1, kind="module")
    script = ScriptCheck.model_construct(id="s", points=1, kind="script")
    assert is_collected_by_pytest(custom) and not is_probed(custom)
    assert is_probed(module) and is_probed(script)
