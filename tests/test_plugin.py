"""Tests for grader.plugin pieces used outside pytest's own flow (grading runs: test_cli.py)."""

from __future__ import annotations

import pytest

from grader.observations import ExceptionInfo, ModuleObservation, ScriptObservation
from grader.plugin import code_failed
from grader.sandbox import ProbeOutcome

CRASH = ExceptionInfo(type="RuntimeError", message="boom")
MODULE = {"kind": "module", "id": "p.m", "stage": "done"}
SCRIPT = {"kind": "script", "id": "p.s", "stage": "done"}


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [
        (ProbeOutcome(ModuleObservation(**MODULE), {}), False),
        (ProbeOutcome(ScriptObservation(**SCRIPT), {}), False),
        (None, True),  # no code to run: the check fails, and the bar says so
        (ProbeOutcome(None, {}, problem="time limit (120 s)"), True),
        (
            ProbeOutcome(ModuleObservation(**MODULE, error=CRASH), {}),
            True,
        ),
        (
            ProbeOutcome(ScriptObservation(**SCRIPT, error=CRASH), {}),
            True,
        ),
    ],
)
def test_what_the_progress_bar_counts_as_failed(outcome: ProbeOutcome | None, failed: bool) -> None:
    assert code_failed(outcome) is failed
