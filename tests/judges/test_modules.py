"""End-to-end verdicts of the `module` check kind (HW6 p4b), on recorded sandbox runs.

Every sample submission in tests/data/hw6 (SCENARIOS.md) and every student of the demo class
(submissions/mfdnn/hw6/README.md) is graded once, in one `grade()` call shared by the whole
file; the tests
then read that report. The tables below are what a careful TA gives, derived from the rubric's
points (rubrics/mfdnn/hw6.yaml: p4b = custom `finite` 1 + module `stm` 8 = instantiate 1,
param_count 1,
independent 1, output_shape 1, equivalence 3, backward 1, minus 0.5 for a misnamed class), not
from what the engine happens to print. `test_expected_scores_follow_from_the_rubric` checks that
each row's p4b score is the rubric's sum of its statuses, so the table cannot drift from it.

Where the engine is wrong the expectation stays right and the case is a strict xfail naming the
bug (KNOWN_BUGS), so fixing the engine turns it into an XPASS that fails until the mark goes.

The sandbox runs are replayed from tests/data/recorded/ (the probe's own files, read by the
same strict reader as a live run); `pytest --record-sandbox` records them again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from grader.discover import discover
from grader.pipeline import DEFAULT_COURSES, GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult
from grader.rubric import ManualCheck, ModuleCheck, ScriptCheck, load_rubric

REPO = Path(__file__).resolve().parents[2]
SCENARIO_ROOT = REPO / "tests" / "data" / "hw6"
CLASS_ROOT = REPO / "submissions" / "mfdnn" / "hw6"
RUBRIC = load_rubric(DEFAULT_COURSES / "mfdnn" / "hw6.yaml")


# --- expectations --------------------------------------------------------------------------------

ASPECTS = ("instantiate", "param_count", "independent", "output_shape", "equivalence", "backward")
STATUS = {
    "P": Status.PASSED,
    "F": Status.FAILED,
    "E": Status.ERROR,
    "S": Status.SKIPPED,
    "T": Status.PENDING,
}


@dataclass(frozen=True)
class Expect:
    """One submission's expected verdicts.

    aspects: the statuses of the six stm aspects, in ASPECTS order (P passed, F failed, E error:
    the student's code crashed, T for a TA: a structural pass the outputs do not prove). name:
    the misnaming deduction (F costs 0.5). finite: the custom p4b.finite check. p4b: the
    problem's score out of 9. answers: p1, p2 and p4a scores.
    """

    aspects: str
    p4b: float
    name: str = "P"
    finite: str = "P"
    answers: tuple[float, float, float] = (3.0, 4.0, 2.0)

    def status(self, check_id: str) -> Status:
        if check_id == "finite":
            return STATUS[self.finite]
        part = check_id.removeprefix("stm.")
        return STATUS[self.name if part == "name" else self.aspects[ASPECTS.index(part)]]


FULL = Expect("PPPPPP", 9.0)
# Code crashes in forward: instantiate earns its point; the count and independence it reports
# are right, but no output proves those tensors are the ones forward uses: a TA decides.
NO_FORWARD = Expect("PTTEEE", 1.0, finite="F")
# One path's weights used 32 times: 2,456 parameters, not independent, no equivalence to judge.
SHARED = Expect("PFFPFP", 4.0)
# Runs, right count and shape, but computes something else than the layer asked for: ReLU of the
# reference's output on the reported tensors, which proves they are the ones used.
WRONG_MATH = Expect("PPPPFP", 6.0)
# The same, computing what nothing the grader knows explains (paths chained): the structure it
# reports (count, independence, gradients) is a TA's to confirm.
UNEXPLAINED = Expect("PTTPFT", 3.0)
# Nothing to grade: no aspect can earn a point, and no finite output exists.
NOTHING = Expect("FFFFFF", 0.0, finite="F", name="S")  # no class, so no name to judge

SCENARIOS: dict[str, Expect] = {
    "correct-modulelist-sequential": FULL,
    "correct-three-modulelists": FULL,
    "correct-functional": FULL,
    "correct-stack-sum": FULL,
    "correct-helper-class": FULL,
    "correct-final-relu": FULL,
    "correct-dtype-float": FULL,
    "forward-bug-and-print": FULL,
    "correct-grouped-conv": FULL,
    # The same function with the 32 last biases merged into one: only the count is off.
    "resnext-merged-bias": Expect("PFPPPP", 8.0),
    # No biases although the statement asks for them: the count and the layer are wrong.
    "no-bias": Expect("PFPPFP", 5.0),
    # Paths in a plain list: no parameters registered, so nothing to compare or train.
    "plain-list": Expect("PFTPFF", 3.0),
    # 16 independent paths: half the count, but nothing shared.
    "sixteen-paths": Expect("PFPPFP", 5.0),
    "tuple-return": Expect("PTTFFE", 1.0, finite="F"),
    "forward-in-init": NO_FORWARD,
    "wrong-tensor": NO_FORWARD,
    "shared-path": SHARED,
    "shared-modulelist": SHARED,
    "chained-paths": UNEXPLAINED,
    "relu-after-sum": WRONG_MATH,
    "inplace-backward": Expect("PPPPPE", 8.0),
    "misnamed": Expect("PPPPPP", 8.5, name="F"),
    "missing-class": NOTHING,
    "syntax-error": NOTHING,  # the class cannot be read from a file that does not parse
    "import-error": Expect("EEEEEE", 0.0, finite="F"),  # the import crashes in the sandbox
    "wrong-answers": Expect("PPPPPP", 9.0, answers=(1.0, 1.0, 1.0)),
    "missing-answers": Expect("PPPPPP", 9.0, answers=(3.0, 0.0, 0.0)),
    "bad-toml": Expect("PPPPPP", 9.0, answers=(0.0, 0.0, 0.0)),
}

CLASS: dict[str, Expect] = {
    "alice": FULL,
    "bob": Expect("PTTEEE", 1.0, finite="F", answers=(3.0, 1.0, 2.0)),  # forward in __init__
    "carol": Expect("PTTEEE", 1.0, finite="F", answers=(3.0, 4.0, 1.0)),  # convs2 fed x
    "dave": Expect("PFFPFP", 4.0, answers=(2.0, 4.0, 2.0)),  # one shared path; p1 relu only
    "erin": Expect("PPPPPP", 8.5, name="F"),  # STM_ConvLayer, final-ReLU variant
    "frank": Expect("PTTPFT", 3.0, answers=(3.0, 0.0, 2.0)),  # chained paths; no [p2]
}

# (submission, check id, or "p4b" for the problem score) -> why the engine is wrong there.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

P4B_CHECKS = ("finite", *(f"stm.{a}" for a in ASPECTS), "stm.name")
MANUAL = {"p3": ("derivation",)}
SCRIPT_PROBLEM = (
    "p5"  # graded in tests/judges/test_scripts.py; deselected here to keep this run short
)
RUBRIC_CHECKS = {
    "p1": ("equivalent",),
    "p2": ("mean", "variance"),
    "p3": ("derivation",),
    "p4a": ("params_naive", "params_stm"),
    "p4b": P4B_CHECKS,
    "p5": ("script",),
}


def _line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing needle: expected locations come from the data."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# --- the graded report, shared by every test -----------------------------------------------------


@pytest.fixture(scope="module")
def report(recorded_runner: Any) -> Iterator[GradeReport]:
    """All 28 scenarios and the 6-student class, graded once on their recorded sandbox runs.

    The grader's own process only runs the reference on tiny tensors; on a 2-core machine already
    busy with two sandboxes, torch's thread pool makes that many times slower, hence one thread.
    """
    folders = sorted(p for p in SCENARIO_ROOT.iterdir() if p.is_dir())
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        class_folders = [CLASS_ROOT / name for name in sorted(CLASS)]
        yield grade(
            [*folders, *class_folders],
            GradeOptions(jobs=2, select=f"not {SCRIPT_PROBLEM}", runner=recorded_runner()),
        )
    finally:
        torch.set_num_threads(before)


def _student(report: GradeReport, name: str) -> SubmissionResult:
    (found,) = [s for s in report.submissions if s.student == name]
    return found


def _check(report: GradeReport, student: str, problem: str, check_id: str) -> CheckResult:
    sub = _student(report, student)
    (prob,) = [p for p in sub.problems if p.id == problem]
    (found,) = [c for c in prob.checks if c.id == check_id]
    return found


def _score(report: GradeReport, student: str, problem: str) -> float:
    (prob,) = [p for p in _student(report, student).problems if p.id == problem]
    return prob.score


def _text(check: CheckResult) -> str:
    """Everything a student reads about a check: message, details, hint and location."""
    return "\n".join([check.message, *check.details, check.hint or "", str(check.source or "")])


def _case(scenario: str, item: str, *, with_item: bool = True) -> Any:
    """A parameter set for (scenario, item), a strict xfail where KNOWN_BUGS lists it."""
    reason = KNOWN_BUGS.get((scenario, item))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    if not with_item:
        return pytest.param(scenario, marks=marks, id=scenario)
    return pytest.param(scenario, item, marks=marks, id=f"{scenario}-{item}")


# --- the tables themselves ---------------------------------------------------------------------


def test_the_tables_cover_every_sample_submission() -> None:
    assert set(SCENARIOS) == {p.name for p in SCENARIO_ROOT.iterdir() if p.is_dir()}
    hw6 = {p.name for p in discover(CLASS_ROOT) if p.parent == CLASS_ROOT}
    assert set(CLASS) == hw6 - {"gwen"}  # LaTeX only: tests/scenarios/test_tex_demo.py


def test_rubric_has_the_checks_this_table_describes() -> None:
    """A rubric change (a new check, new points) must come with new expectations here."""
    assert {p.id: tuple(c.id for c in p.checks) for p in RUBRIC.problems} == {
        "p1": ("equivalent",),
        "p2": ("mean", "variance"),
        "p3": ("derivation",),
        "p4a": ("params_naive", "params_stm"),
        "p4b": ("finite", "stm"),
        "p5": ("script",),
    }
    assert all(isinstance(RUBRIC.problem(p).checks[0], ManualCheck) for p in MANUAL)
    assert isinstance(RUBRIC.problem(SCRIPT_PROBLEM).checks[0], ScriptCheck)


@pytest.mark.parametrize("table", ["scenarios", "class"])
def test_expected_scores_follow_from_the_rubric(table: str) -> None:
    problem = RUBRIC.problem("p4b")
    stm = next(c for c in problem.checks if isinstance(c, ModuleCheck))
    finite = next(c for c in problem.checks if c.id == "finite")
    for name, expect in (SCENARIOS if table == "scenarios" else CLASS).items():
        raw = sum(stm.aspects[a] for a, s in zip(ASPECTS, expect.aspects, strict=True) if s == "P")
        raw += finite.points if expect.finite == "P" else 0.0
        raw -= stm.misnamed_penalty if expect.name == "F" else 0.0
        assert expect.p4b == min(max(raw, 0.0), problem.points), name


# --- p4b, per scenario and check -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "check_id"), [_case(s, c) for s in SCENARIOS for c in P4B_CHECKS]
)
def test_p4b_check_status(report: GradeReport, scenario: str, check_id: str) -> None:
    check = _check(report, scenario, "p4b", check_id)
    assert check.status == SCENARIOS[scenario].status(check_id), check.message


@pytest.mark.parametrize("scenario", [_case(s, "p4b", with_item=False) for s in SCENARIOS])
def test_p4b_score(report: GradeReport, scenario: str) -> None:
    assert _score(report, scenario, "p4b") == SCENARIOS[scenario].p4b


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_check_scores_are_their_points_or_nothing(report: GradeReport, scenario: str) -> None:
    """Passed earns the check's points, anything else none; only the misnaming can go negative."""
    for check in next(p for p in _student(report, scenario).problems if p.id == "p4b").checks:
        if check.id == "stm.name":
            assert check.max_score == 0.0
            assert check.score == (-0.5 if check.status is Status.FAILED else 0.0)
        else:
            want = check.max_score if check.status is Status.PASSED else 0.0
            assert check.score == want, check.id


# --- p4b messages: what the student is told ------------------------------------------------------


def test_forward_in_init_names_the_nested_def(report: GradeReport) -> None:
    line = _line_of(SCENARIO_ROOT / "forward-in-init" / "stm.py", "def forward")
    for aspect in ("output_shape", "equivalence", "backward"):
        check = _check(report, "forward-in-init", "p4b", f"stm.{aspect}")
        assert f"stm.py:{line}" in check.message
        assert "__init__" in check.message
        assert check.hint and "dedent" in check.hint
        assert str(check.source) == f"stm.py:{line}"


def test_wrong_tensor_names_the_students_line_and_channels(report: GradeReport) -> None:
    line = _line_of(SCENARIO_ROOT / "wrong-tensor" / "p4.py", "convlayers2[i](x)")
    check = _check(report, "wrong-tensor", "p4b", "stm.output_shape")
    assert f"p4.py:{line}" in check.message
    assert "channels" in check.message
    assert any("convlayers2[i](x)" in d for d in check.details)
    assert str(check.source) == f"p4.py:{line}"


@pytest.mark.parametrize("scenario", ["shared-path", "shared-modulelist"])
def test_shared_weights_report_the_count_and_the_ratio(report: GradeReport, scenario: str) -> None:
    count = _check(report, scenario, "p4b", "stm.param_count")
    assert "2,456" in count.message and "78,592" in count.message
    assert "1/32" in _text(count)


def test_shared_path_independence_says_one_path_used_32_times(report: GradeReport) -> None:
    check = _check(report, "shared-path", "p4b", "stm.independent")
    assert "1/32" in check.message and "2,456" in check.message


def test_shared_modulelist_names_a_shared_tensor(report: GradeReport) -> None:
    check = _check(report, "shared-modulelist", "p4b", "stm.independent")
    match = re.search(
        r"(paths\.\d+\.\d+\.weight) is the same tensor as (paths\.\d+\.\d+\.weight)", check.message
    )
    assert match and match.group(1) != match.group(2), check.message


@pytest.mark.parametrize("scenario", ["chained-paths", "relu-after-sum"])
def test_wrong_math_fails_only_equivalence(report: GradeReport, scenario: str) -> None:
    check = _check(report, scenario, "p4b", "stm.equivalence")
    assert "differs from the reference" in check.message
    assert _check(report, scenario, "p4b", "stm.output_shape").status is Status.PASSED
    count = _check(report, scenario, "p4b", "stm.param_count")
    if scenario == "relu-after-sum":  # ReLU of the reference on the reported tensors: proven
        assert count.status is Status.PASSED
    else:  # never a silent zero: a TA confirms what the outputs cannot
        assert count.status is Status.PENDING and "78,592 trainable parameters" in count.message


def test_relu_after_sum_is_named(report: GradeReport) -> None:
    assert (
        "ReLU after the sum" in _check(report, "relu-after-sum", "p4b", "stm.equivalence").message
    )
    assert (
        "ReLU after the sum"
        not in _check(report, "chained-paths", "p4b", "stm.equivalence").message
    )


def test_inplace_backward_hints_at_the_inplace_op(report: GradeReport) -> None:
    check = _check(report, "inplace-backward", "p4b", "stm.backward")
    assert "backward" in check.message and "inplace" in check.message
    assert check.hint and "in-place" in check.hint


@pytest.mark.parametrize("student", ["misnamed", "erin"])
def test_misnamed_class_is_graded_with_a_deduction(report: GradeReport, student: str) -> None:
    check = _check(report, student, "p4b", "stm.name")
    assert check.score == -0.5
    assert "STMConvLayer" in check.message
    graded = {"misnamed": "STMConv", "erin": "STM_ConvLayer"}[student]
    assert f"graded {graded} in place of" in check.message


def test_missing_class_lists_the_classes_found(report: GradeReport) -> None:
    for aspect in ASPECTS:
        message = _check(report, "missing-class", "p4b", f"stm.{aspect}").message
        assert "STMConvLayer" in message
        assert "MyConvLayer" in message and "ResBlock" in message


def test_syntax_error_points_at_the_line(report: GradeReport) -> None:
    line = _line_of(SCENARIO_ROOT / "syntax-error" / "stm.py", "for _ in range(32)")
    for aspect in ASPECTS:
        text = _text(_check(report, "syntax-error", "p4b", f"stm.{aspect}"))
        assert f"stm.py:{line}" in text and "syntax" in text


def test_import_error_names_the_missing_module(report: GradeReport) -> None:
    line = _line_of(SCENARIO_ROOT / "import-error" / "stm.py", "import make_path")
    for aspect in ASPECTS:
        check = _check(report, "import-error", "p4b", f"stm.{aspect}")
        assert "ModuleNotFoundError" in check.message and "hw6_utils" in check.message
        assert str(check.source) == f"stm.py:{line}"
        assert check.hint and "hw6_utils" in check.hint


FINAL_RELU = {"correct-final-relu", "inplace-backward", "erin"}


@pytest.mark.parametrize(
    "student",
    [s for s, e in {**SCENARIOS, **CLASS}.items() if e.status("stm.equivalence") is Status.PASSED],
)
def test_equivalence_says_which_variant_matched(report: GradeReport, student: str) -> None:
    stm = next(c for c in RUBRIC.problem("p4b").checks if isinstance(c, ModuleCheck))
    none, final = (v.name for v in stm.variants)
    message = _check(report, student, "p4b", "stm.equivalence").message
    assert f"({final if student in FINAL_RELU else none})" in message


def test_merged_bias_count_names_the_merged_biases(report: GradeReport) -> None:
    count = _check(report, "resnext-merged-bias", "p4b", "stm.param_count")
    assert "70,656" in count.message and "78,592" in count.message
    assert count.hint and "merged into one tensor" in count.hint and "bias" in count.hint
    assert "1/" not in _text(count)
    equivalence = _check(report, "resnext-merged-bias", "p4b", "stm.equivalence")
    assert "merged into one tensor" in equivalence.message


def test_no_bias_is_told_which_biases_are_missing(report: GradeReport) -> None:
    equivalence = _check(report, "no-bias", "p4b", "stm.equivalence")
    assert "bias" in equivalence.message and "set to zero" in equivalence.message
    assert "Conv2d(4, 256" in equivalence.message
    count = _check(report, "no-bias", "p4b", "stm.param_count")
    assert count.hint and "no parameters for the bias" in count.hint


def test_plain_list_points_at_module_list(report: GradeReport) -> None:
    for aspect in ("param_count", "equivalence", "backward"):
        assert "nn.ModuleList" in _text(_check(report, "plain-list", "p4b", f"stm.{aspect}"))


def test_fewer_independent_paths_are_not_called_shared(report: GradeReport) -> None:
    count = _check(report, "sixteen-paths", "p4b", "stm.param_count")
    assert "39,296" in count.message and "reused" not in _text(count)
    assert _check(report, "sixteen-paths", "p4b", "stm.independent").status is Status.PASSED


def test_tuple_return_is_named_in_every_failing_aspect(report: GradeReport) -> None:
    for aspect in ("output_shape", "equivalence", "backward"):
        message = _check(report, "tuple-return", "p4b", f"stm.{aspect}").message
        assert "forward returned tuple, not a tensor" in message, aspect


# --- p1, p2, p4a ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_answer_sheet_scores(report: GradeReport, scenario: str) -> None:
    got = tuple(_score(report, scenario, p) for p in ("p1", "p2", "p4a"))
    assert got == SCENARIOS[scenario].answers


def test_wrong_answers_verdicts(report: GradeReport) -> None:
    p1 = _check(report, "wrong-answers", "p1", "equivalent")
    assert (p1.status, p1.score) == (Status.FAILED, 1.0)
    assert "sigmoid chosen ✗" in p1.message and "leaky_relu not chosen ✗" in p1.message
    assert _check(report, "wrong-answers", "p2", "mean").status is Status.PASSED
    variance = _check(report, "wrong-answers", "p2", "variance")
    assert variance.status is Status.FAILED and "differs from the correct value" in variance.message
    assert _check(report, "wrong-answers", "p4a", "params_naive").status is Status.PASSED
    stm = _check(report, "wrong-answers", "p4a", "params_stm")
    assert stm.status is Status.FAILED and "2,456" in stm.message and "78,592" in stm.message


@pytest.mark.parametrize(
    ("problem", "check_id"),
    [("p2", "mean"), ("p2", "variance"), ("p4a", "params_naive"), ("p4a", "params_stm")],
)
def test_missing_answers_say_not_answered(report: GradeReport, problem: str, check_id: str) -> None:
    check = _check(report, "missing-answers", problem, check_id)
    assert check.status is Status.FAILED and check.score == 0.0
    assert "not answered" in check.message and f"[{problem}]" in check.message


@pytest.mark.parametrize(
    ("problem", "check_id"),
    [("p1", "equivalent"), ("p2", "mean"), ("p2", "variance"), ("p4a", "params_naive")],
)
def test_bad_toml_is_an_error_at_line_5(report: GradeReport, problem: str, check_id: str) -> None:
    check = _check(report, "bad-toml", problem, check_id)
    assert check.status is Status.ERROR and check.score == 0.0
    assert "answers.toml" in check.message and "line 5" in check.message
    assert str(check.source) == "answers.toml:5"
    assert any("answers.toml:5" in note for note in _student(report, "bad-toml").notes)


# --- the demo class ------------------------------------------------------------------------------


@pytest.mark.parametrize(("student", "check_id"), [(s, c) for s in CLASS for c in P4B_CHECKS])
def test_class_p4b_check_status(report: GradeReport, student: str, check_id: str) -> None:
    check = _check(report, student, "p4b", check_id)
    assert check.status == CLASS[student].status(check_id), check.message


@pytest.mark.parametrize("student", list(CLASS))
def test_class_scores(report: GradeReport, student: str) -> None:
    expect = CLASS[student]
    sub = _student(report, student)
    got = {p.id: p.score for p in sub.problems}
    assert (got["p1"], got["p2"], got["p4a"]) == expect.answers
    assert got["p4b"] == expect.p4b
    for problem, checks in MANUAL.items():  # TA-graded: pending, nothing yet
        assert got[problem] == 0.0
        assert all(_check(report, student, problem, c).status is Status.PENDING for c in checks)
    assert got[SCRIPT_PROBLEM] == 0.0  # deselected in this run
    assert sub.score == sum(expect.answers) + expect.p4b


def test_alice_gets_full_marks_on_every_auto_graded_problem(report: GradeReport) -> None:
    alice = _student(report, "alice")
    for problem in alice.problems:
        if problem.id not in MANUAL and problem.id != SCRIPT_PROBLEM:
            assert problem.score == problem.max_score, problem.id
            assert all(c.status is Status.PASSED for c in problem.checks), problem.id
    assert alice.notes == [] and alice.error is None


def test_class_messages(report: GradeReport) -> None:
    line = _line_of(CLASS_ROOT / "bob" / "hw6.py", "def forward")
    bob = _check(report, "bob", "p4b", "stm.output_shape").message
    assert f"hw6.py:{line}" in bob and "__init__" in bob
    carol = _check(report, "carol", "p4b", "stm.output_shape").message
    assert "p4.py:" in carol and "channels" in carol
    assert "1/32" in _text(_check(report, "dave", "p4b", "stm.param_count"))
    frank = _check(report, "frank", "p4b", "stm.equivalence").message
    assert "differs from the reference" in frank and "ReLU after the sum" not in frank


# --- discovery -----------------------------------------------------------------------------------


def test_a_folder_of_scenarios_with_notes_is_a_class() -> None:
    assert {p.name for p in discover(SCENARIO_ROOT)} == set(SCENARIOS)


def test_a_reported_shape_is_counted_exactly_however_large() -> None:
    """A shape is what the probe reports, so the count must not wrap: with np.prod, shape
    [2**32, 2**32] counted 0 parameters, and a shape could be chosen to wrap onto any count."""
    from grader.judges.module import _trainable_count
    from grader.sandbox.observations import ModuleObservation, ParamInfo

    params = [
        ParamInfo(name="w", shape=[2**32, 2**32], tensor=0),
        ParamInfo(name="w_again", shape=[2**32, 2**32], tensor=0),  # shared: counted once
        ParamInfo(name="b", shape=[], tensor=1),  # a scalar
        ParamInfo(name="frozen", shape=[3], tensor=2, requires_grad=False),
    ]
    obs = ModuleObservation(kind="module", id="p.m", stage="done", params=params)
    assert _trainable_count(obs) == 2**64 + 1


def test_a_role_mean_keeps_the_reference_shape() -> None:
    """A student's 1x1 conv as a (4, 256) matrix beside a zero-filled (4, 256, 1, 1) weight:
    the mean is taken in the reference's shape (they broadcast to (4, 256, 4, 256) otherwise,
    and the zero-filled try ended as an internal grader error)."""
    import numpy as np

    from grader.judges.module import role_mean
    from grader.judges.transplant import ZERO, Piece

    matrix = np.arange(4 * 256, dtype=float).reshape(4, 256)
    assignment = [Piece("w", matrix, source="w"), Piece(ZERO, np.zeros((4, 256, 1, 1)))]
    mean = role_mean(assignment, [0, 1], [(4, 256, 1, 1), (4, 256, 1, 1)])
    assert mean.shape == (4, 256, 1, 1)
    assert np.array_equal(mean.reshape(4, 256), matrix / 2)
