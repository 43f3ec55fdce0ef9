"""HW1 end to end: the demo class (submissions/hw1), the real writeup seed 001, the answer sheet.

What a careful TA gives (points: p1 script runs/loss_decreases/test_loss/figure 1 each; p5a 1;
p5c tanh 1, map 3; the proofs are the TA's):
- ada: the starter done right (seed 1), the correct map: everything checkable passes.
- ben: lr = 10 ("faster"): the run finishes but diverges, so no loss-decrease or test-loss credit;
  ReLU(ReLU(z)) restated instead of simplified; tanh = sigmoid(2z) - 1; seed 001's map (A = 2C,
  b = d - rowsum(C) on every layer), which only the last layer gets right.
- cleo: a crash in the test evaluation after training: the training still counts; another
  correct map (every sigmoid unit flipped) and other spellings of the formulas.
- seed-001 (tests/data/hw1/seed-001, the real writeup unchanged): its script imports sklearn,
  which it never uses and the grading machine lacks: pending for a TA, not failed; the formulas
  are not boxed and the map cannot be read from prose: pending with the excerpt. Nothing fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult
from grader.rubric import load_rubric
from grader.template import answer_template

ROOT = Path(__file__).resolve().parent.parent
CLASS = ROOT / "submissions" / "hw1"
SEED = ROOT / "tests" / "data" / "hw1" / "seed-001"
P, F, E, W = Status.PASSED, Status.FAILED, Status.ERROR, Status.PENDING
SCRIPT = ("script.runs", "script.loss_decreases", "script.test_loss", "script.figure")
ANSWERS = ("relu_relu", "tanh", "map")

SCRIPT_VERDICTS = {
    "ada": (P, P, P, P),
    "ben": (P, F, F, P),
    "cleo": (E, P, F, F),
}
ANSWER_VERDICTS = {
    "ada": (P, P, P),
    "ben": (F, F, F),
    "cleo": (P, P, P),
}


def _checks(sub: SubmissionResult) -> dict[str, CheckResult]:
    return {c.id: c for p in sub.problems for c in p.checks}


def _student(report: GradeReport, name: str) -> SubmissionResult:
    (sub,) = [s for s in report.submissions if s.student == name]
    return sub


@pytest.fixture(scope="module")
def answers_report() -> GradeReport:
    """Only the answer-sheet checks: no student code runs."""
    return grade([CLASS], GradeOptions(jobs=1, select="p5a or p5c"))


@pytest.mark.parametrize("student", list(ANSWER_VERDICTS))
def test_answer_verdicts(answers_report: GradeReport, student: str) -> None:
    checks = _checks(_student(answers_report, student))
    got = tuple(checks[c].status for c in ANSWERS)
    assert got == ANSWER_VERDICTS[student], {c: checks[c].message for c in ANSWERS}


def test_wrong_answers_say_why(answers_report: GradeReport) -> None:
    ben = _checks(_student(answers_report, "ben"))
    assert "calls relu 2 times" in ben["relu_relu"].message
    assert "differs from the correct value" in ben["tanh"].message
    assert "hidden-layer map is wrong" not in ben["map"].message  # 1 hidden layer already differs
    assert "first- and last-layer" in ben["map"].message


@pytest.fixture(scope="module")
def class_report() -> GradeReport:
    return grade([CLASS], GradeOptions(jobs=2, select="p1"))


@pytest.mark.slow
@pytest.mark.parametrize("student", list(SCRIPT_VERDICTS))
def test_script_verdicts(class_report: GradeReport, student: str) -> None:
    checks = _checks(_student(class_report, student))
    got = tuple(checks[c].status for c in SCRIPT)
    assert got == SCRIPT_VERDICTS[student], {c: checks[c].message for c in SCRIPT}


@pytest.mark.slow
def test_script_messages(class_report: GradeReport) -> None:
    ben = _checks(_student(class_report, "ben"))
    assert "diverged" in ben["script.loss_decreases"].message
    assert "not finite" in ben["script.test_loss"].message
    cleo = _checks(_student(class_report, "cleo"))
    assert "RuntimeError" in cleo["script.runs"].message
    assert cleo["script.runs"].source is not None and cleo["script.runs"].source.line
    assert "no test loss reported" in cleo["script.test_loss"].message
    ada = _checks(_student(class_report, "ada"))
    assert "lies in the range of correct runs" in ada["script.test_loss"].message


@pytest.fixture(scope="module")
def seed_report() -> GradeReport:
    return grade([SEED], GradeOptions(jobs=1))


@pytest.mark.slow
def test_seed_001_nothing_fails_everything_checkable_is_pending(seed_report: GradeReport) -> None:
    (sub,) = seed_report.submissions
    checks = _checks(sub)
    assert all(c.status is W for c in checks.values()), {
        k: (c.status, c.message) for k, c in checks.items() if c.status is not W
    }
    assert sub.score == 0


@pytest.mark.slow
def test_seed_001_script_is_pending_for_the_unused_sklearn_import(seed_report: GradeReport) -> None:
    runs = _checks(seed_report.submissions[0])["script.runs"]
    assert "imports sklearn" in runs.message and "grading machine" in runs.message
    assert any("never used" in d for d in runs.details)
    assert runs.source is not None and runs.source.file == "writeup.txt"


@pytest.mark.slow
def test_seed_001_map_is_pending_with_the_students_text(seed_report: GradeReport) -> None:
    mapped = _checks(seed_report.submissions[0])["map"]
    assert mapped.message.startswith("pending") and "writeup.txt lines 103-127" in mapped.message


def test_template_lists_every_answer_key() -> None:
    text = answer_template(load_rubric(ROOT / "rubrics" / "hw1.yaml"))
    assert 'homework = "hw1"' in text
    for line in ("[p5a]", "[p5c]", "[p5c.map]", '# relu_relu = ""', '# tanh = ""'):
        assert line in text
    for key in ("first_weight", "first_bias", "hidden_weight", "hidden_bias", "last_weight"):
        assert f"# {key} = " in text
    assert "# it may call: sigmoid" in text
    assert not any(
        line and not line.startswith(("#", "[", "homework")) for line in text.splitlines()
    )


# --- the test-loss aspect against a recorded observation (the judge alone) -------------------
def _recorded(losses: list[float] | None, printed: str) -> Any:
    from grader.observations import GlobalInfo, Printed, ScriptObservation
    from grader.scripts import Ran

    globals_ = [GlobalInfo(name="losses", defined=losses is not None, type="list")]
    obs = ScriptObservation(
        kind="script",
        id="p1.script",
        stage="done",
        printed=Printed(stdout=printed),
        globals=globals_,
    )
    arrays = {} if losses is None else {"global.losses": np.array(losses, dtype=float)}
    return Ran(file="mlp.py", obs=obs, arrays=arrays, where=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("losses", "status"),
    [
        ([2.5 * 0.97**i + 0.05 for i in range(100)], "passed"),  # trained: the value counts
        ([2.5] * 100, "failed"),  # printed a plausible number, learned nothing
        (None, "pending"),  # no curve to check the number against: a TA looks
    ],
)
def test_a_printed_test_loss_counts_only_from_a_run_that_trained(
    losses: list[float] | None, status: str
) -> None:
    from types import SimpleNamespace

    from grader.reference import load_reference
    from grader.scripts import _test_loss

    rubric = load_rubric(ROOT / "rubrics" / "hw1.yaml")
    check = next(c for c in rubric.problem("p1").checks if c.id == "script")
    ctx = SimpleNamespace(reference=load_reference(rubric))
    verdict = _test_loss(check, _recorded(losses, "Test Loss: 0.1\n"), ctx)  # type: ignore[arg-type]
    assert verdict[0].value == status, verdict[1]
