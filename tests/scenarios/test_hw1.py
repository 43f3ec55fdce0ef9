"""HW1 end to end: the reconstructed HW3 as a test course
(tests/data/hw1-course, tests/data/hw1-course-class), the real writeup seed 001, the answer sheet.

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

The scripts' sandbox runs are replayed from tests/data/recorded/ (`pytest --record-sandbox`
records them again); only the tqdm stand-in, a part of the sandbox, is tested in the real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.courses import homework_at
from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult
from grader.rubric import load_rubric
from grader.template import answer_template

ROOT = Path(__file__).resolve().parents[2]
# The first, reconstructed HW3 (mlp.py, a loss curve, a printed test loss), kept as a test course
# (tests/data/hw1-course/course.yaml); the real one is rubrics/mfdnn/hw3.yaml.
COURSE = ROOT / "tests" / "data" / "hw1-course"
HW3 = COURSE / "hw3.yaml"
CLASS = ROOT / "tests" / "data" / "hw1-course-class"
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
def answers_report(recorded_runner: Any) -> GradeReport:
    """Only the answer-sheet checks: no student code runs (nothing is recorded for them)."""
    return grade(
        [CLASS],
        GradeOptions(rubrics_dir=COURSE, jobs=1, select="p5a or p5c", runner=recorded_runner()),
    )


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
def class_report(recorded_runner: Any) -> GradeReport:
    return grade(
        [CLASS], GradeOptions(rubrics_dir=COURSE, jobs=2, select="p1", runner=recorded_runner())
    )


@pytest.mark.parametrize("student", list(SCRIPT_VERDICTS))
def test_script_verdicts(class_report: GradeReport, student: str) -> None:
    checks = _checks(_student(class_report, student))
    got = tuple(checks[c].status for c in SCRIPT)
    assert got == SCRIPT_VERDICTS[student], {c: checks[c].message for c in SCRIPT}


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
def seed_report(recorded_runner: Any) -> GradeReport:
    return grade([SEED], GradeOptions(rubrics_dir=COURSE, jobs=1, runner=recorded_runner()))


def test_seed_001_nothing_fails_everything_checkable_is_pending(seed_report: GradeReport) -> None:
    (sub,) = seed_report.submissions
    checks = _checks(sub)
    assert all(c.status is W for c in checks.values()), {
        k: (c.status, c.message) for k, c in checks.items() if c.status is not W
    }
    assert sub.score == 0


def test_seed_001_script_is_pending_for_the_unused_sklearn_import(seed_report: GradeReport) -> None:
    runs = _checks(seed_report.submissions[0])["script.runs"]
    assert "imports sklearn" in runs.message and "grading machine" in runs.message
    assert any("never used" in d for d in runs.details)
    assert runs.source is not None and runs.source.file == "writeup.txt"


def test_seed_001_map_is_pending_with_the_students_text(seed_report: GradeReport) -> None:
    mapped = _checks(seed_report.submissions[0])["map"]
    assert mapped.message.startswith("pending") and "writeup.txt lines 103-127" in mapped.message


def test_template_lists_every_answer_key() -> None:
    text = answer_template(load_rubric(HW3))
    assert 'homework = "hw3"' in text
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
    from grader.judges.script import Ran
    from grader.sandbox.observations import GlobalInfo, Printed, ScriptObservation

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

    from grader.judges.standard_analyses import _test_loss
    from grader.reference import load_reference

    rubric = load_rubric(HW3)
    check = next(c for c in rubric.problem("p1").checks if c.id == "script")
    ctx = SimpleNamespace(reference=load_reference(rubric, homework_at(HW3).reference_root))
    verdict = _test_loss(check, _recorded(losses, "Test Loss: 0.1\n"), ctx)  # type: ignore[arg-type]
    assert verdict[0].value == status, verdict[1]


def _judge_printed(losses: list[float] | None, printed: str) -> Any:
    """The test-loss aspect of hw1's rubric on a recorded run that printed ``printed``."""
    from types import SimpleNamespace

    from grader.judges.standard_analyses import _test_loss
    from grader.reference import load_reference

    rubric = load_rubric(HW3)
    check = next(c for c in rubric.problem("p1").checks if c.id == "script")
    ctx = SimpleNamespace(reference=load_reference(rubric, homework_at(HW3).reference_root))
    return _test_loss(check, _recorded(losses, printed), ctx)  # type: ignore[arg-type]


TRAINED = [2.5 * 0.97**i + 0.05 for i in range(100)]


@pytest.mark.parametrize(
    ("printed", "status", "fragment"),
    [
        # a correct run, printed every common way: the value is read and counts
        ("Test loss: tensor([0.12])\n", P, "lies in the range"),
        ("Test loss: tensor(0.1234, grad_fn=<MseLossBackward0>)\n", P, "lies in the range"),
        ("Test loss after training: 0.5\n", P, "lies in the range"),
        ("Test MSE: np.float32(0.5)\n", P, "lies in the range"),
        ("Final test loss 1.2e-01\n", P, "lies in the range"),
        ("Test Loss : tensor(1.2831, grad_fn=<DivBackward0>), Accuracy : 0.5196\n", P, "1.283"),
        # a wrong value, in any form, still fails
        ("Test loss: tensor([2.9])\n", F, "outside the range"),
        ("Test loss: tensor(nan)\n", F, "not finite"),
        ("Test loss: np.float32(0.0001)\n", F, "outside the range"),
        # printed about the test loss but not readable as one value: a TA, with the line
        ("Test loss: tensor([0.12, 2.9])\n", W, "several different numbers (0.12, 2.9)"),
        ("Test loss: 12%\n", W, "percentage"),
        ("Test RMSE: 0.35\n", W, "Test RMSE: 0.35"),
        # nothing about a test loss at all: the student's omission
        ("0.12\n", F, "no test loss reported"),
    ],
)
def test_printed_test_loss_verdicts(printed: str, status: Status, fragment: str) -> None:
    verdict_status, message, details, hint, _ = _judge_printed(TRAINED, printed)
    assert verdict_status is status, message
    assert fragment in message
    if status is W:
        assert message.startswith("for a TA") and any("printed: " in d for d in details)
    if "no test loss reported" in message:
        assert hint is not None and "print the test loss" in hint


def test_an_unreadable_test_loss_of_a_run_that_did_not_train_fails() -> None:
    """No value could earn the credit: the training loss did not fall (as for a readable one)."""
    verdict_status, message, *_ = _judge_printed([2.5] * 100, "Test loss: tensor([0.1, 0.2])\n")
    assert verdict_status is F and "did not decrease" in message


# The printed-value path end to end: a small script (a few seconds of CPU in the sandbox; its run
# is recorded), its test loss kept in a variable the rubric does not name, so only what it printed
# is read.
_SMALL_MLP = """
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(512, 1)
y = (x - 2) * torch.cos(4 * x)
x_test = torch.randn(102, 1)
y_test = (x_test - 2) * torch.cos(4 * x_test)
model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for epoch in range(200):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
with torch.no_grad():
    final = nn.functional.mse_loss(model(x_test), y_test).reshape(1)
"""
PRINTS = {
    "tensor": 'print("Test loss:", final)',  # Test loss: tensor([0.0...])
    "twice": 'print("Test loss:", torch.cat([final, final + 1]))',  # two values: for a TA
}


def test_printed_tensor_test_loss_end_to_end(tmp_path: Path, recorded_runner: Any) -> None:
    for name, line in PRINTS.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "answers.toml").write_text('homework = "hw3"\n')
        (folder / "mlp.py").write_text(f"{_SMALL_MLP}{line}\n")
    options = GradeOptions(
        rubrics_dir=COURSE, jobs=1, select="p1 and script", runner=recorded_runner()
    )
    report = grade(sorted(tmp_path.iterdir()), options)
    tensor = _checks(_student(report, "tensor"))
    assert tensor["script.runs"].status is P, tensor["script.runs"].message
    assert tensor["script.test_loss"].status is P, tensor["script.test_loss"].message
    assert "printed: 'Test loss: tensor([0.0" in tensor["script.test_loss"].message
    twice = _checks(_student(report, "twice"))["script.test_loss"]
    assert twice.status is W and "several different numbers" in twice.message, twice.message
    assert twice.score == 0


# The same training loop wrapped in a progress bar, as course scripts often are: tqdm is not
# installed where the grader runs, and the sandbox's stand-in must let the script run as written.
_WITH_TQDM = {
    "plain": ("from tqdm import tqdm", "for epoch in tqdm(range(200)):"),
    "trange": ("from tqdm import trange", "for epoch in trange(200, desc='epochs'):"),
    "auto": ("from tqdm.auto import tqdm", "for epoch in tqdm(range(200), leave=False):"),
    "module": ("import tqdm", "for epoch in tqdm.tqdm(range(200)):"),
}


@pytest.mark.sandbox
def test_a_script_using_tqdm_runs_as_written(tmp_path: Path) -> None:
    for name, (imported, loop) in _WITH_TQDM.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "answers.toml").write_text('homework = "hw3"\n')
        script = _SMALL_MLP.replace("for epoch in range(200):", loop)
        assert loop in script
        (folder / "mlp.py").write_text(f"{imported}\n{script}{PRINTS['tensor']}\n")
    report = grade(
        sorted(tmp_path.iterdir()), GradeOptions(rubrics_dir=COURSE, jobs=2, select="p1 and script")
    )
    for name in _WITH_TQDM:
        checks = _checks(_student(report, name))
        assert checks["script.runs"].status is P, (name, checks["script.runs"].message)
        assert checks["script.loss_decreases"].status is P, name
        assert checks["script.test_loss"].status is P, name


# --- 5a and 5c formulas, judged alone: what answers the question and what restates it -------
P5A_SIMPLIFIED = [
    "relu(z)",
    "max(z, 0)",
    "max(0, z)",
    "(z + abs(z))/2",
    "0.5*(abs(z) + z)",
    "-min(0, -z)",
    "z - min(z, 0)",
    "relu(z) + 0",
]
#: ReLU(ReLU(z)) spelled again, with relu or its max/abs forms: the left-hand side, not ReLU(z).
P5A_RESTATED = {
    "relu twice": "relu(relu(z))",
    "max twice": "max(max(z, 0), 0)",
    "relu of max": "relu(max(z, 0))",
    "max of relu": "max(relu(z), 0)",
    "abs of relu": "abs(relu(z))",
    "abs twice": "(z + abs(z))/4 + abs((z + abs(z))/2)/2",
}
P5C_IN_SIGMOID = [
    "2*sigmoid(2*z) - 1",
    "sigmoid(2*z)*2 - 1",
    "-1 + 2*sigmoid(2*z)",
    "1 - 2*sigmoid(-2*z)",
    "(1 - sigmoid(-2*z)) - sigmoid(-2*z)",
    "sigmoid(2*z) - sigmoid(-2*z)",
    "2*(sigmoid(2*z) - 1/2)",
    "(sigmoid(z)**2 - sigmoid(-z)**2)/(sigmoid(z)**2 + sigmoid(-z)**2)",
]
#: tanh itself, through the constant e (always allowed) rather than sigmoid.
P5C_WITHOUT_SIGMOID = [
    "(e**z - e**-z)/(e**z + e**-z)",
    "(math.e**z - math.e**(-z))/(math.e**z + math.e**(-z))",
    "(1 - np.e**(-2*z))/(1 + np.e**(-2*z))",
    "2/(1 + e**(-2*z)) - 1",
]


@pytest.fixture(scope="module")
def hw1() -> tuple[Any, Any]:
    from grader.reference import load_reference

    rubric = load_rubric(HW3)
    return rubric, load_reference(rubric, homework_at(HW3).reference_root)


def _judged(hw1: tuple[Any, Any], problem_id: str, check_id: str, value: Any) -> CheckResult:
    """The real rubric's check and reference, one in-memory answer-sheet answer."""
    from grader.ingest.submission import Answer, Submission
    from grader.judges.context import GradingContext
    from grader.judges.kinds import judge, plan_probe
    from grader.results import SourceRef
    from grader.sandbox.observe import Observer

    rubric, reference = hw1
    problem = rubric.problem(problem_id)
    (check,) = [c for c in problem.checks if c.id == check_id]
    key = f"{problem_id}.{check_id}"
    answer = Answer(key, value, SourceRef(file="answers.toml", line=2))
    sub = Submission(root=Path("student"), student="student", answers={key: answer})
    observer = Observer(runner=None, plan=plan_probe)  # type: ignore[arg-type]  # never runs code here
    return judge(problem, check, None, GradingContext(sub, rubric, reference, observer))


@pytest.mark.parametrize("value", P5A_SIMPLIFIED)
def test_p5a_simplified_forms_pass(hw1: tuple[Any, Any], value: str) -> None:
    res = _judged(hw1, "p5a", "relu_relu", value)
    assert res.status is P, res.message


@pytest.mark.parametrize("value", list(P5A_RESTATED.values()), ids=list(P5A_RESTATED))
def test_p5a_restatements_fail_as_restatements(hw1: tuple[Any, Any], value: str) -> None:
    """Each equals ReLU(z) everywhere: only the call count tells them from an answer."""
    res = _judged(hw1, "p5a", "relu_relu", value)
    assert res.status is F, res.message
    assert "simplify it" in res.message


def test_p5a_restatement_with_other_functions_names_them(hw1: tuple[Any, Any]) -> None:
    res = _judged(hw1, "p5a", "relu_relu", "relu(max(z, 0))")
    assert res.message == (
        "your expression makes 2 function calls (max: 1, relu: 1); simplify it (at most 1 in all)"
    )


@pytest.mark.parametrize("value", P5C_IN_SIGMOID)
def test_p5c_tanh_in_sigmoid_passes(hw1: tuple[Any, Any], value: str) -> None:
    res = _judged(hw1, "p5c", "tanh", value)
    assert res.status is P, res.message


@pytest.mark.parametrize("value", P5C_WITHOUT_SIGMOID)
def test_p5c_tanh_without_sigmoid_fails_saying_to_use_it(hw1: tuple[Any, Any], value: str) -> None:
    """Right values, but not the identity asked for: e is a constant, so `functions` alone
    (sigmoid only) cannot refuse them."""
    res = _judged(hw1, "p5c", "tanh", value)
    assert res.status is F, res.message
    assert "never calls sigmoid" in res.message and "write it using sigmoid(...)" in res.message


@pytest.mark.parametrize("value", ["np.tanh(z)", "(exp(z) - exp(-z))/(exp(z) + exp(-z))"])
def test_p5c_tanh_and_exp_cannot_be_called(hw1: tuple[Any, Any], value: str) -> None:
    res = _judged(hw1, "p5c", "tanh", value)
    assert res.status is F and "it may call: sigmoid" in res.message


def _padding(width: int, depth: int) -> str:
    """Nested comprehensions over a list literal: width**depth iterations that add 0."""
    items = "[" + ",".join(str(i) for i in range(width)) + "]"
    inner = "0"
    for name in "abcdefgh"[:depth]:
        inner = f"[{inner} for {name} in {items}]"
    return f"0*{inner}" + "[0]" * depth


def test_p5c_tanh_padded_with_loops_is_refused_by_the_step_budget(
    hw1: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under exprs.MAX_STEPS at each point, over the answer's budget at all of them (the real
    budget stops such an answer after seconds instead of half a minute: smaller here, to be
    quick)."""
    from grader.judges import formula as judges

    monkeypatch.setattr(judges, "FORMULA_STEPS_PER_SAMPLE", 1_000)
    padded = "2*sigmoid(2*z) - 1 + " + _padding(40, 2)
    res = _judged(hw1, "p5c", "tanh", padded)
    assert res.status is F
    assert res.message == (
        "the expression takes too long to evaluate at all the points checked "
        "(more than 200,000 steps in all)"
    )
    assert _judged(hw1, "p5c", "tanh", "2*sigmoid(2*z) - 1").status is P  # the same budget


# --- the parameter map: a padded answer is refused before anything runs ----------------------
ADA_MAP = {
    "first_weight": "2*C",
    "first_bias": "2*d",
    "hidden_weight": "4*C",
    "hidden_bias": "2*d - 2*rowsum(C)",
    "last_weight": "2*C",
    "last_bias": "d - rowsum(C)",
}


@pytest.fixture(scope="module")
def map_report(tmp_path_factory: pytest.TempPathFactory) -> GradeReport:
    """Students whose maps are ada's, with every entry padded: by loops (each entry's
    evaluation just under exprs.MAX_STEPS, ~50 s of CPU in all before the map refused them)
    or by long arithmetic (no loops: at most a step per node)."""
    root = tmp_path_factory.mktemp("hw1-maps")
    maps = {
        "loops": {k: f"{v} + {_padding(46, 3)}" for k, v in ADA_MAP.items()},
        "arithmetic": {k: f"{v} + 0*({'+'.join(['d'] * 80)})" for k, v in ADA_MAP.items()},
        "indexing": {**ADA_MAP, "last_bias": "[d - rowsum(C)][0]"},
    }
    for student, entries in maps.items():
        (root / student).mkdir()
        sheet = ['homework = "hw3"', "", "[p5c.map]", *(f'{k} = "{v}"' for k, v in entries.items())]
        (root / student / "answers.toml").write_text("\n".join(sheet) + "\n", encoding="utf-8")
    return grade([root], GradeOptions(rubrics_dir=COURSE, jobs=1, select="p5c"))


@pytest.mark.parametrize("student", ["loops", "indexing"])
def test_a_map_with_lists_or_loops_is_refused_with_the_reason(
    map_report: GradeReport, student: str
) -> None:
    mapped = _checks(_student(map_report, student))["map"]
    assert mapped.status is F, mapped.message
    assert "lists, comprehensions and indexing are not allowed" in mapped.message
    assert mapped.message.startswith("p5c.map.")
    assert len(mapped.message) < 300, "the padding is not quoted back in full"


def test_a_long_map_without_loops_is_still_judged(map_report: GradeReport) -> None:
    mapped = _checks(_student(map_report, "arithmetic"))["map"]
    assert mapped.status is P, mapped.message


def _with_plotted_loss(ran: Any, curve: list[float]) -> Any:
    """``ran`` with a figure of ``curve`` on axes labelled 'Loss', as a script's plot records it."""
    from grader.sandbox.observations import AxesInfo, FigureInfo, SeriesInfo

    series = SeriesInfo(key="fig1.ax0.line0", kind="line", label="train", length=len(curve))
    ran.obs.figures.append(
        FigureInfo(number=1, axes=[AxesInfo(xlabel="epoch", ylabel="Loss", series=[series])])
    )
    xy = np.column_stack([np.arange(len(curve), dtype=float), np.array(curve, dtype=float)])
    ran.arrays[series.key] = xy
    return ran


@pytest.mark.parametrize(
    ("reused", "plotted", "status", "fragment"),
    [
        # `losses = []` again before the test loop: the plot drawn earlier shows the training
        ([0.12], TRAINED, "passed", "the plotted training loss (`losses` ends with 1 value(s))"),
        ([0.12, 0.13, 0.11], TRAINED, "passed", "the plotted training loss"),
        # the same list reused, and the plot shows a run that did not learn: still no credit
        ([0.12], [2.5] * 100, "failed", "barely moves"),
        # the list is the whole curve (as long as the plot): the list is judged
        (TRAINED, TRAINED, "passed", "`losses`"),
        ([2.5] * 100, TRAINED[:50], "failed", "`losses`"),
    ],
)
def test_a_loss_list_reused_after_training_does_not_hide_the_plotted_curve(
    reused: list[float], plotted: list[float], status: str, fragment: str
) -> None:
    from types import SimpleNamespace

    from grader.judges.standard_analyses import _loss_decreases

    rubric = load_rubric(HW3)
    check = next(c for c in rubric.problem("p1").checks if c.id == "script")
    ran = _with_plotted_loss(_recorded(reused, "Test loss: 0.12\n"), plotted)
    verdict = _loss_decreases(check, ran, SimpleNamespace())  # type: ignore[arg-type]
    assert verdict[0].value == status, verdict[1]
    assert fragment in verdict[1]


# --- the training figure and curve when nothing says 'loss' (judge alone, recorded runs) -------
def _with_drawn(ran: Any, x: list[float], y: list[float], title: str = "Training") -> Any:
    """``ran`` with one line (x, y) drawn on axes titled ``title``, labelled nothing else."""
    from grader.sandbox.observations import AxesInfo, FigureInfo, SeriesInfo

    key = f"fig{len(ran.obs.figures)}.ax0.line0"
    series = SeriesInfo(key=key, kind="line", label="_child0", length=len(y))
    axes = AxesInfo(xlabel="Epoch", title=title, series=[series])
    ran.obs.figures.append(FigureInfo(number=len(ran.obs.figures) + 1, axes=[axes]))
    ran.arrays[key] = np.column_stack([np.array(x, dtype=float), np.array(y, dtype=float)])
    return ran


EPOCHS = [float(i) for i in range(len(TRAINED))]
FIT_X = list(np.linspace(-3, 3, 200))


@pytest.mark.parametrize(
    ("losses", "drawn", "figure", "decreases"),
    [
        # plt.plot(losses) under plt.title("Training"): the list itself is drawn
        (TRAINED, [(EPOCHS, TRAINED)], P, P),
        (TRAINED, [(EPOCHS, list(np.log(TRAINED)))], P, P),  # its logarithm
        # the loss kept under a name the rubric does not list, drawn against epochs: a TA reads it
        (None, [(EPOCHS, TRAINED)], W, W),
        # a list that is not what is drawn against epochs: the figure is for a TA
        (TRAINED, [(EPOCHS, [0.5] * len(TRAINED))], W, P),
        # only the fit of the function is drawn: no loss figure, no curve
        (None, [(FIT_X, list(np.cos(FIT_X)))], F, F),
        (TRAINED, [(FIT_X, list(np.cos(FIT_X)))], F, P),
    ],
)
def test_an_unlabelled_loss_figure_is_recognised_by_its_data(
    losses: list[float] | None, drawn: list[Any], figure: Status, decreases: Status
) -> None:
    from types import SimpleNamespace

    from grader.judges.standard_analyses import _loss_decreases, _training_figure

    rubric = load_rubric(HW3)
    check = next(c for c in rubric.problem("p1").checks if c.id == "script")
    ran = _recorded(losses, "Test loss: 0.12\n")
    for x, y in drawn:
        ran = _with_drawn(ran, x, y)
    ctx = SimpleNamespace()
    got_figure = _training_figure(check, ran, ctx)  # type: ignore[arg-type]
    got_curve = _loss_decreases(check, ran, ctx)  # type: ignore[arg-type]
    assert (got_figure[0], got_curve[0]) == (figure, decreases), (got_figure[1], got_curve[1])
    if losses is None and decreases is F:
        assert "none of `losses`, `train_losses`, `loss_history` is defined" in got_curve[1]


def test_a_list_of_loss_tensors_is_read_as_numbers() -> None:
    """`losses.append(loss)` keeps tensors that require grad: numpy cannot read them directly,
    and the probe used to crash after the run (losing the figures) instead of reading them."""
    import torch

    from grader.sandbox.inside.probe import _describe_global

    w = torch.ones(1, requires_grad=True)
    namespace = {"losses": [(w * v).sum() for v in (3.0, 2.0, 1.0)], "bad": [object()]}
    arrays: dict[str, Any] = {}
    info = _describe_global("losses", namespace, arrays)
    assert info["length"] == 3 and arrays["global.losses"].tolist() == [3.0, 2.0, 1.0]
    assert "shape" not in _describe_global("bad", namespace, arrays)


# --- answers read from a writeup: which box is the answer --------------------------------------
_CASES_5A = r"""# HW 1

## Problem 5

### (a)

If $z < 0$, then $\mathrm{{ReLU}}(\mathrm{{ReLU}}(z)) = \boxed{{{negative}}}$.
If $z \ge 0$, then $\mathrm{{ReLU}}(\mathrm{{ReLU}}(z)) = \boxed{{{positive}}}$.

### (b)

Softplus is smooth.
"""


def test_several_different_boxed_formulas_are_for_a_ta(tmp_path: Path) -> None:
    """A case analysis boxes one result per case: the last box alone (z) is not the answer."""
    for name, (negative, positive) in {"cases": ("0", "z"), "same": ("z", "z")}.items():
        (tmp_path / name).mkdir()
        text = _CASES_5A.format(negative=negative, positive=positive)
        (tmp_path / name / "writeup.md").write_text(text, encoding="utf-8")
    report = grade(
        [tmp_path], GradeOptions(rubrics_dir=COURSE, jobs=1, homework="hw1course/hw3", select="p5a")
    )
    cases = _checks(_student(report, "cases"))["relu_relu"]
    assert cases.status is W and "2 different boxed formulas" in cases.message, cases.message
    same = _checks(_student(report, "same"))["relu_relu"]  # one answer, boxed twice: wrong
    assert same.status is F and "differs from the correct value" in same.message, same.message


# --- the parameter map: numpy/torch spellings of the row sum ---------------------------------
MAP_SPELLINGS = {
    "np_axis": ({"hidden_bias": "2*d - 2*np.sum(C, axis=1)", "last_bias": "d - np.sum(C, 1)"}, P),
    "method": ({"hidden_bias": "2*(d - C.sum(1))", "last_bias": "d - C.sum(dim=-1)"}, P),
    "torch": ({"hidden_bias": "2*d - 2*torch.sum(C, dim=1)"}, P),
    # no axis: rowsum(C) is the likely meaning, but as code it is another sum: a TA confirms
    "bare": ({"hidden_bias": "2*d - 2*sum(C)", "last_bias": "d - np.sum(C)"}, W),
    # wrong whichever sum is meant, or summing the other axis: still fails
    "bare_wrong": ({"hidden_bias": "2*d - sum(C)"}, F),
    "columns": ({"last_bias": "d - np.sum(C, axis=0)"}, F),
    "halved": ({"hidden_weight": "C/2", "hidden_bias": "d/2 - C.sum(1)/2"}, F),
}


def test_the_row_sum_spelled_with_numpy_or_torch(tmp_path: Path) -> None:
    for student, (entries, _) in MAP_SPELLINGS.items():
        (tmp_path / student).mkdir()
        lines = [f'{k} = "{v}"' for k, v in {**ADA_MAP, **entries}.items()]
        sheet = ['homework = "hw3"', "", "[p5c.map]", *lines]
        (tmp_path / student / "answers.toml").write_text("\n".join(sheet) + "\n", encoding="utf-8")
    report = grade([tmp_path], GradeOptions(rubrics_dir=COURSE, jobs=1, select="p5c and map"))
    got = {s: _checks(_student(report, s))["map"] for s in MAP_SPELLINGS}
    assert {s: c.status for s, c in got.items()} == {
        s: status for s, (_, status) in MAP_SPELLINGS.items()
    }, {s: c.message for s, c in got.items()}
    assert "sum(C)" in got["bare"].message and got["bare"].score == 0
