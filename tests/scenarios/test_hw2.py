"""HW2 (second course) graded end to end, and the `values` check's pieces.

Verdicts a careful TA gives by hand, from reference/hw2 (tests/references/test_reference_hw2.py
verifies it):
- seed 004 (tests/data/hw2/seed-004, the real writeup copied unchanged): the forward values are
  right (written to 6 decimals, truncated: o1 = 0.889550 for 0.8895506). Gradients: dL/dw1 0.002,
  dw3 0.008, dw7 0.0765, dw8 0.118 right; dw2 0.00095 (truth 0.000404), dw4 0.0037 (0.00162),
  dw5 0.099 (0.00992), dw6 0.00474 (0.00202), dw9 0.074 (0.0772), dw10 0.117 (0.1193),
  db1 0.00292 (0.00239) and db2 0.12 (0.1975: the o2 path only, b2 also feeds o1) wrong.
  Updates: w1 0.0998 (truth 0.09998) and w7 0.6923 (0.69923) wrong also from the student's own
  gradients; b2 0.4988 follows from their dL/db2 = 0.12 (error carried forward: credit for the
  step); the rest are the truth truncated at 4 decimals. Intermediates (do1/dh1) are not graded.
  Q4's sigma = sqrt(2/d_{l-1}) is right; Q1, Q3, Q5 wait for a TA with the student's text shown.
- grace: everything right, in several styles (a bare TOML float, "4.043e-4", "1.617 \\times
  10^{-3}"). heidi: no sigmoid on the outputs (o1 = 2.086) and dL/db2 from o2 only; her updates
  follow from her own gradients. ivan: a writeup only, right, in another notation
  (\\partial E_{total}, w^{new}, aligned rows, a wrapped chain for dL/db2).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from grader.judges.values import (
    agreement,
    equations,
    normalise_lhs,
    parse_written,
)
from grader.pipeline import GradeOptions, grade
from grader.report.exports import feedback_markdown, grades_csv, gradescope_results, results_json
from grader.report.terminal import render_submission, render_summary
from grader.results import CheckResult, GradeReport, Status, SubmissionResult
from reference.dl.hw2 import q2_values

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "data" / "hw2" / "seed-004"
DEMO = ROOT / "submissions" / "dl" / "hw2"
SELECT = "q1 or q2 or q3 or q4 or q5"


@pytest.fixture(scope="module")
def report() -> GradeReport:
    paths = [SEED, DEMO / "grace", DEMO / "heidi", DEMO / "ivan"]
    return grade(paths, GradeOptions(select=SELECT))


def _student(report: GradeReport, name: str) -> SubmissionResult:
    (found,) = [s for s in report.submissions if s.student == name]
    assert found.error is None, found.error
    assert found.homework == "dl/hw2"
    return found


def _check(sub: SubmissionResult, problem: str, check: str) -> CheckResult:
    (found,) = [c for p in sub.problems if p.id == problem for c in p.checks if c.id == check]
    return found


def _verdicts(check: CheckResult) -> dict[str, str]:
    """quantity -> right | wrong | carried | missing | pending, from the details lines."""
    marks = {"✗": "wrong", "~": "carried", "?": "pending"}
    out: dict[str, str] = {}
    for line in check.details:
        if line.startswith("✓ right: "):
            out.update({n: "right" for n in line.removeprefix("✓ right: ").split(", ")})
        elif line[:1] in marks:
            name = line[2:].split(" ", 1)[0].rstrip(":")
            out[name] = "missing" if "not answered" in line else marks[line[0]]
    return out


def _line_of(path: Path, needle: str) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert hits, f"{needle!r} not in {path}"
    return hits[0]


def _grads(right: str) -> dict[str, str]:
    names = [f"dL_dw{i}" for i in range(1, 11)] + ["dL_db1", "dL_db2"]
    return {n: "right" if n in right.split() else "wrong" for n in names}


def test_seed_004_forward_pass_right_to_the_written_truncated_digits(report: GradeReport) -> None:
    forward = _check(_student(report, "seed-004"), "q2", "forward")
    assert forward.status is Status.PASSED, forward.details
    assert _verdicts(forward) == dict.fromkeys(["h1", "h2", "o1", "o2", "loss"], "right")


def test_seed_004_gradients(report: GradeReport) -> None:
    grads = _check(_student(report, "seed-004"), "q2", "gradients")
    expected = _grads("dL_dw7 dL_dw8")
    # "0.002" and "0.008" (truth 0.00198, 0.00794) agree only to one significant digit, within
    # which "0.1" would pass for 0.0772: too coarse to judge, so a TA decides.
    expected.update(dL_dw1="pending", dL_dw3="pending")
    assert _verdicts(grads) == expected
    # the 2 right earn their 0.5 each now; the 2 pending (0.5 each) wait for a TA, never awarded
    assert grads.status is Status.PENDING and grads.score == pytest.approx(2 * 0.5)
    assert grads.pending_points == pytest.approx(2 * 0.5) and grads.partly_decided
    db2 = next(d for d in grads.details if d.startswith("✗ dL_db2"))
    line = _line_of(SEED / "writeup.md", "{db_2} = \\frac")
    assert "0.12" in db2 and "0.20" in db2 and f"writeup.md:{line}" in db2
    dw9 = next(d for d in grads.details if d.startswith("✗ dL_dw9"))
    assert "0.074" in dw9 and "0.077" in dw9


def test_seed_004_updates_with_error_carried_forward(report: GradeReport) -> None:
    updates = _check(_student(report, "seed-004"), "q2", "updates")
    expected = {f"w{i}_new": "right" for i in range(1, 11)} | {"b1_new": "right"}
    expected |= {"w1_new": "wrong", "w7_new": "wrong", "b2_new": "carried"}
    assert _verdicts(updates) == expected
    assert updates.score == pytest.approx(10 * 0.25)


def test_seed_004_manual_problems_show_the_students_text(report: GradeReport) -> None:
    sub = _student(report, "seed-004")
    for problem, check in (("q1", "proof"), ("q3", "plots"), ("q4", "derivation")):
        result = _check(sub, problem, check)
        assert result.status is Status.PENDING
        assert result.details and result.details[0].startswith("writeup.md, lines ")
    invariances = _check(sub, "q5", "invariances")
    assert any("Leaky RELU" in d for d in invariances.details)


def test_seed_004_he_formula_read_from_latex(report: GradeReport) -> None:
    sigma = _check(_student(report, "seed-004"), "q4", "sigma")
    assert sigma.status is Status.PASSED, sigma.message


def test_grace_all_right_in_several_styles(report: GradeReport) -> None:
    sub = _student(report, "grace")
    for check in ("forward", "gradients", "updates"):
        result = _check(sub, "q2", check)
        assert result.status is Status.PASSED, result.details
    assert _check(sub, "q4", "sigma").status is Status.PASSED


def test_heidi_missing_output_sigmoid_and_one_sided_bias(report: GradeReport) -> None:
    sub = _student(report, "heidi")
    forward = _verdicts(_check(sub, "q2", "forward"))
    assert forward == {"h1": "right", "h2": "right", "o1": "wrong", "o2": "wrong", "loss": "wrong"}
    grads = _verdicts(_check(sub, "q2", "gradients"))
    assert set(grads.values()) == {"wrong"}
    updates = _verdicts(_check(sub, "q2", "updates"))
    # w2 moves by 4e-6: her 0.1999 is also the truth truncated; every other step is carried
    assert updates.pop("w2_new") == "right"
    assert set(updates.values()) == {"carried"}
    carried = _check(sub, "q2", "updates")  # full credit for consistent steps: passed
    assert (carried.status, carried.score) == (Status.PASSED, carried.max_score)
    assert _check(sub, "q4", "sigma").status is Status.FAILED  # sqrt(1/d)


def test_ivan_writeup_only_all_right(report: GradeReport) -> None:
    sub = _student(report, "ivan")
    for check in ("forward", "gradients", "updates"):
        result = _check(sub, "q2", check)
        assert result.status is Status.PASSED, result.details
    assert _check(sub, "q4", "sigma").status is Status.PASSED


# --- written precision --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value", "exponent"),
    [
        ("0.0765", "0.0765", -4),
        ("0.79", "0.79", -2),
        ("0.00095", "0.00095", -5),
        ("1e-3", "0.001", -3),
        ("1.0e-3", "0.001", -4),
        ("7.65 \\times 10^{-2}", "0.0765", -4),
        ("12", "12", 0),
        ("132,863,336", "132863336", 0),
        ("-0.5", "-0.5", -1),
        ("0.0765 \\text{(rounded)}", "0.0765", -4),
        ("0.50", "0.5", -2),
    ],
)
def test_parse_written_keeps_the_written_precision(text: str, value: str, exponent: int) -> None:
    written = parse_written(text)
    assert written is not None
    assert written.value == Decimal(value)
    assert written.exponent == exponent


@pytest.mark.parametrize("text", ["", "abc", "0.9 - 0.01 \\cdot 0.074", "h_2 o_1", "1/2"])
def test_parse_written_refuses_what_is_not_one_number(text: str) -> None:
    assert parse_written(text) is None


@pytest.mark.parametrize(
    ("text", "truth", "truncation", "verdict"),
    [
        ("0.0765", 0.076535, False, "rounded"),
        ("0.0766", 0.076535, False, None),  # a digit off
        ("0.0764", 0.076535, True, None),  # a digit off, not a truncation either
        ("0.0772", 0.0771883, False, "rounded"),
        ("0.0771", 0.0771883, False, None),
        ("0.0771", 0.0771883, True, "truncated"),
        ("0.4999", 0.49997, False, None),  # rounds to 0.5000
        ("0.4999", 0.49997, True, "truncated"),
        ("0.79", 0.7895, False, "rounded"),  # a tie either way is fine
        ("0.78", 0.785, False, "rounded"),
        ("0.00095", 0.000404, True, None),
        ("1e-3", 0.00098, False, "rounded"),
        ("1e-3", 0.0016, False, None),
        ("12", 12.4, False, "rounded"),
        ("12", 12.6, False, None),
        ("-0.0765", 0.076535, True, None),  # the sign is wrong
        ("0.50", 0.5049, False, "rounded"),
        ("0.50", 0.506, False, None),  # "0.5" would be right: written precision matters
    ],
)
def test_agreement_at_the_written_digit(
    text: str, truth: float, truncation: bool, verdict: str | None
) -> None:
    written = parse_written(text)
    assert written is not None
    assert agreement(written, truth, truncation) == verdict


# --- writeup extraction -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tex", "normal"),
    [
        ("\\frac{dMSE}{dw_9}", "dmse/dw9"),
        ("\\frac{d \\text{MSE}}{db_2}", "dmse/db2"),
        ("\\frac{\\partial E_{total}}{\\partial w_{10}}", "detotal/dw10"),
        ("∂L/∂w₁", "dl/dw1"),
        ("w_1^{t+1}", "w1^t+1"),
        ("w_{10}^{(t+1)}", "w10^t+1"),
        ("h_1", "h1"),
    ],
)
def test_normalise_lhs(tex: str, normal: str) -> None:
    assert normalise_lhs(tex) == normal


def test_equations_take_the_last_number_of_each_chain() -> None:
    text = "\n".join(
        [
            "$$h_1 = \\text{sigmoid}(x_1 w_1 + b_1) = 0.986613$$",
            "",
            "$$\\begin{aligned} \\frac{dL}{db_1} = & \\frac{dL}{do_1} \\\\ & * \\frac{dh_1}{db_1}"
            " = 0.00292 \\end{aligned}$$",
            "$$\\begin{aligned} w_1 &= 0.1 \\\\ \\frac{dL}{do_1} &= 0.79 \\end{aligned}$$",
            "Plain: dL/dw2 = 0.0004",
            "inline $o_1 \\approx 0.8896$ here",
        ]
    )
    found = {eq.lhs: (eq.last, eq.line) for eq in equations(text, first_line=10)}
    assert found["h1"] == ("0.986613", 10)
    assert found["dl/db1"][0].endswith("0.00292")
    assert found["w1"][0] == "0.1"  # a new row with its own left side is a new equation
    assert found["dl/do1"][0] == "0.79"
    assert found["plain:dl/dw2"][0] == "0.0004"  # a label before the left side stays in it
    assert found["o1"] == ("0.8896", 15)


# --- doubt and the answer sheet's digits --------------------------------------------------------
def _grade_one(folder: Path) -> SubmissionResult:
    (sub,) = grade([folder], GradeOptions(select="q2 and forward", homework="dl/hw2")).submissions
    return sub


def test_a_quantity_stated_twice_differently_is_pending_and_an_absent_one_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "writeup.md").write_text(
        "# HW2\n\n## Question 2 - Backprop\n\n$$h_1 = 0.9866$$\n\n$$h_2 = 0.9950$$\n\n"
        "later: $h_1 = 0.9912$\n\n$$o_2 = 0.8004$$\n\n$$MSE = 0.5932$$\n"
    )
    forward = _check(_grade_one(tmp_path), "q2", "forward")
    assert forward.status is Status.PENDING
    verdicts = _verdicts(forward)
    assert verdicts == {
        "h1": "pending",
        "h2": "right",
        "o1": "missing",
        "o2": "right",
        "loss": "right",
    }
    assert any("0.9912" in d for d in forward.details)


def test_bare_toml_floats_are_judged_at_the_digits_written_in_the_sheet(tmp_path: Path) -> None:
    """TOML reads 0.590 as 0.59; the sheet's own text keeps the third decimal, which is wrong
    (the loss is 0.5932), where 0.59 would have been right."""
    (tmp_path / "answers.toml").write_text(
        'homework = "hw2"\ncourse = "dl"\n'
        '[q2]\nh1 = 0.99\nh2 = "0.995"\no1 = 0.890\no2 = 0.80\nloss = 0.590\n'
    )
    forward = _check(_grade_one(tmp_path), "q2", "forward")
    assert _verdicts(forward) == {
        "h1": "right",
        "h2": "right",
        "o1": "right",
        "o2": "right",
        "loss": "wrong",
    }
    assert any("loss = 0.590 (answers.toml:8)" in d for d in forward.details)


@pytest.mark.parametrize(
    "sheet",
    [
        'homework = "hw2"\ncourse = "dl"\nq2.loss = 0.590\n',  # a dotted key
        'homework = "hw2"\ncourse = "dl"\nq2 = { loss = 0.590 }\n',  # an inline table
        'homework = "hw2"\ncourse = "dl"\n[q2]\n"loss" = 0.590\n',  # a quoted key
    ],
)
def test_toml_floats_keep_their_digits_however_the_key_is_written(
    tmp_path: Path, sheet: str
) -> None:
    (tmp_path / "answers.toml").write_text(sheet)
    forward = _check(_grade_one(tmp_path), "q2", "forward")
    assert _verdicts(forward)["loss"] == "wrong"  # 0.590 against 0.5932; 0.59 would be right


def test_one_significant_digit_is_too_coarse_to_earn_credit(tmp_path: Path) -> None:
    """Writing "1" for every forward value agrees with h1 = 0.987 ... loss = 0.593 at the one
    digit written; it must not earn the marks a careful computation earns."""
    (tmp_path / "answers.toml").write_text(
        'homework = "hw2"\ncourse = "dl"\n'
        '[q2]\nh1 = "1"\nh2 = "1"\no1 = "0.9"\no2 = "0.8"\nloss = "0.59"\n'
    )
    forward = _check(_grade_one(tmp_path), "q2", "forward")
    assert _verdicts(forward) == {
        "h1": "pending",
        "h2": "pending",
        "o1": "pending",
        "o2": "pending",
        "loss": "right",  # two digits: control
    }
    assert forward.score == pytest.approx(0.5)


def _grade_updates(folder: Path) -> CheckResult:
    (sub,) = grade([folder], GradeOptions(select="q2", homework="dl/hw2")).submissions
    return _check(sub, "q2", "updates")


def test_weights_left_unchanged_earn_nothing_where_the_step_is_too_small_to_see(
    tmp_path: Path,
) -> None:
    """The steps are 4e-6 to 2e-3: '0.100' for w1 (truth 0.09998) reads right at 3 decimals, and
    is also the weight before the step. Without right gradients behind it, that is for a TA."""
    unchanged = [f'w{i}_new = "{i / 10 if i < 10 else 0.1:.3f}"' for i in range(1, 11)]
    (tmp_path / "answers.toml").write_text(
        'homework = "hw2"\ncourse = "dl"\n[q2]\n' + "\n".join(unchanged) + '\nb1_new = "0.500"\n'
    )
    verdicts = _verdicts(_grade_updates(tmp_path))
    assert verdicts["w1_new"] == verdicts["b1_new"] == "pending"
    assert "right" not in verdicts.values()


def test_an_update_too_small_to_show_counts_when_its_gradient_is_right() -> None:
    """grace writes w2_new = "0.20000" (truth 0.199996) beside a right dL/dw2: that is the step."""
    updates = _grade_updates(DEMO / "grace")
    assert _verdicts(updates)["w2_new"] == "right"
    assert updates.status is Status.PASSED


# --- a group partly pending: decided quantities count now, only the pending ones' share waits ----
RIGHT = {"h1": "0.9866", "h2": "0.9950", "o1": "0.8896", "o2": "0.8004", "loss": "0.5932"}
WRONG = {"h1": "0.5000", "h2": "0.9000", "o1": "0.7000", "o2": "0.7000", "loss": "0.7000"}
COARSE = {"h1": "1", "h2": "1", "o1": "0.9", "o2": "0.8", "loss": "0.6"}  # one digit: a TA


def _forward_of(tmp_path: Path, values: dict[str, str]) -> SubmissionResult:
    lines = "".join(f'{k} = "{v}"\n' for k, v in values.items())
    (tmp_path / "answers.toml").write_text(f'homework = "hw2"\ncourse = "dl"\n[q2]\n{lines}')
    return _grade_one(tmp_path)


@pytest.mark.parametrize(
    ("values", "status", "score", "pending"),
    [
        # right and pending: the 4 right earn 0.5 each now, h1's 0.5 waits for a TA
        (RIGHT | {"h1": "1"}, Status.PENDING, 2.0, 0.5),
        # wrong and pending: the 2 lost points are decided, so a TA can add only h1's 0.5
        (WRONG | {"h1": "1"}, Status.PENDING, 0.0, 0.5),
        # right, wrong and pending
        (RIGHT | {"h1": "1", "h2": "0.9000"}, Status.PENDING, 1.5, 0.5),
        (COARSE, Status.PENDING, 0.0, 2.5),  # all pending: the whole check is a TA's
        (RIGHT, Status.PASSED, 2.5, 0.0),  # none pending: as before
        (RIGHT | {"h1": "0.5000"}, Status.FAILED, 2.0, 0.0),
    ],
    ids=["right+pending", "wrong+pending", "right+wrong+pending", "all-pending", "all-right",
         "right+wrong"],
)  # fmt: skip
def test_a_partly_pending_group_awards_the_decided_and_leaves_the_rest_to_a_ta(
    tmp_path: Path, values: dict[str, str], status: Status, score: float, pending: float
) -> None:
    sub = _forward_of(tmp_path, values)
    forward = _check(sub, "q2", "forward")
    assert forward.status is status, forward.details
    assert forward.score == pytest.approx(score)
    assert forward.pending_points == pytest.approx(pending)
    partly = status is Status.PENDING and pending < forward.max_score
    assert forward.partly_decided is partly
    if partly:  # the message says what is awarded and what a TA may still add
        assert f"up to {pending:g} more" in forward.message, forward.message
    # every export says the same: the score counts, the pending share is only "up to"
    (row,) = list(csv.DictReader(io.StringIO(grades_csv(GradeReport(submissions=[sub])))))
    # -k ran one check of the homework: no total, no q2 score, and the sheet says why
    assert row["total"] == row["q2"] == "" and row["notes"].startswith("partial result")
    assert float(row["pending_points"]) == pytest.approx(pending)
    assert row["pending"] == ("1" if status is Status.PENDING else "0")
    data = gradescope_results(sub)
    (test,) = [t for t in data["tests"] if t["name"].startswith("q2 forward")]
    assert test["score"] == pytest.approx(score) and test["max_score"] == 2.5
    assert data["score"] == pytest.approx(sub.score)
    if partly:
        assert "status" not in test  # neither passed nor failed until a TA looks
        points = "point" if score == 1 else "points"
        assert f"Partly graded: the {score:g} {points} shown" in test["output"]
        assert f"up to {pending:g} more point" in test["output"]
        assert "placeholder" not in test["output"]
    elif status is Status.PENDING:
        assert f"up to {pending:g} points); the 0 shown here is a placeholder" in test["output"]
    else:
        assert "TA" not in test["output"].splitlines()[0]
    if pending:
        assert f"{pending:g} of these points are graded by a TA" in data["output"]
        assert f"(up to {pending:g} points)" in feedback_markdown(sub)
    else:
        assert "graded by a TA" not in data["output"]
        assert "Still to be graded by a TA" not in feedback_markdown(sub)
    back = GradeReport.model_validate_json(results_json(GradeReport(submissions=[sub])))
    assert _check(back.submissions[0], "q2", "forward") == forward


def test_seed_004_exports_agree_on_what_is_awarded_and_what_waits(report: GradeReport) -> None:
    """seed 004's gradients: 2 right (1 point, in the total), 2 one-digit values for a TA (up to
    1 more), 8 wrong. The TA items of the run: q1 3 + q2 gradients 1 + q3 3 + q4 2 + q5 4 = 13,
    not 18 (the whole 6 of the gradients, 5 of them already decided)."""
    sub = _student(report, "seed-004")
    grads = _check(sub, "q2", "gradients")
    waiting = sum(c.pending_points for p in sub.problems for c in p.checks)
    assert waiting == pytest.approx(13)
    assert sub.score + waiting <= sub.max_score
    (row,) = [
        r for r in csv.DictReader(io.StringIO(grades_csv(report))) if r["student"] == sub.student
    ]
    assert row["total"] == ""  # -k left q6 out: no total for the homework
    assert row["q2"] == ""  # gradients wait for a TA: no score for q2 yet
    assert float(row["decided_points"]) == pytest.approx(sub.score)
    assert row["pending"] == "5" and row["pending_points"] == "13"
    data = gradescope_results(sub)
    assert data["score"] == pytest.approx(sub.score)
    assert "13 of these points are graded by a TA" in data["output"]
    (test,) = [t for t in data["tests"] if t["name"].startswith("q2 gradients")]
    assert test["score"] == pytest.approx(1) and test["max_score"] == 6 and "status" not in test
    assert "Partly graded: the 1 point shown is awarded" in test["output"]
    assert "up to 1 more point)" in test["output"] and "placeholder" not in test["output"]
    feedback = feedback_markdown(sub)
    assert "- ⏳ **q2 gradients** (up to 1 point)" in feedback
    assert "1 / 6 so far, up to 1 more from a TA" in feedback
    assert "Up to 13 more points are not in the total above yet" in feedback
    back = GradeReport.model_validate_json(results_json(report))
    assert _check(_student(back, "seed-004"), "q2", "gradients") == grads
    console = Console(record=True, width=200)
    console.print(render_submission(sub))
    console.print(render_summary([sub]))
    shown = console.export_text()
    assert "gradients [1/6, up to 1 more for a TA]" in shown
    assert "5 (13)" in shown


def test_an_update_that_may_follow_from_a_gradient_only_a_ta_can_read_is_pending(
    tmp_path: Path,
) -> None:
    """b2_new = 0.4988 is wrong (truth 0.4980) but follows from dL/db2 = 0.12; when dL/db2 is
    stated twice with different values, only a TA can tell, so the update waits too."""
    (tmp_path / "writeup.md").write_text(
        "# HW2\n\n## Question 2 - Backprop\n\n$$\\frac{dL}{db_2} = 0.12$$\n\n"
        "later: $\\frac{dL}{db_2} = 0.15$\n\n$$b_2^{new} = 0.4988$$\n"
    )
    updates = _grade_updates(tmp_path)
    assert _verdicts(updates)["b2_new"] == "pending", updates.details
    assert updates.score == 0 and updates.pending_points == pytest.approx(0.25)
    line = next(d for d in updates.details if d.startswith("? b2_new"))
    assert "may follow from your dL_db2" in line
    # control: stated once, the same update earns carried-forward credit at once
    (tmp_path / "writeup.md").write_text(
        "# HW2\n\n## Question 2 - Backprop\n\n$$\\frac{dL}{db_2} = 0.12$$\n\n"
        "$$b_2^{new} = 0.4988$$\n"
    )
    updates = _grade_updates(tmp_path)
    assert _verdicts(updates)["b2_new"] == "carried"
    assert updates.score == pytest.approx(0.25) and updates.pending_points == 0


# --- writeup styles: several values on a row, decimal commas, tables, prose ----------------------
@pytest.mark.parametrize(
    ("text", "value", "exponent"),
    [
        ("0{,}98661", "0.98661", -5),  # a LaTeX decimal comma, not 98661
        ("0,995", "0.995", -3),  # a thousands group never starts at 0
        ("1,792", "1792", 0),  # control: a thousands separator stays one
        ("132{,}863{,}336", "132863336", 0),
        ("\\boxed{0.0772}", "0.0772", -4),
        ("**0.0772**", "0.0772", -4),
        ("0.98661\\ldots", "0.98661", -5),  # the digits written, truncated
        ("0.9866…", "0.9866", -4),
        ("\\approx 0.0772", "0.0772", -4),
    ],
)
def test_parse_written_reads_decorated_and_decimal_comma_numbers(
    text: str, value: str, exponent: int
) -> None:
    written = parse_written(text)
    assert written is not None
    assert written.value == Decimal(value) and written.exponent == exponent


def test_a_row_stating_several_equations_gives_each_its_own_value() -> None:
    text = "\n".join(
        [
            "$$h_1 = 0.98661, \\quad h_2 = 0.99503$$",
            "$$o_1 = 0.8896,\\; o_2 = 0.8004, \\qquad L = 0.5932$$",
            "$$\\begin{aligned} h_1 &= 0.98661 & h_2 &= 0.99503 \\end{aligned}$$",
            "o1 = 0.8896 and o2 = 0.8004",
            "$$o_1 = \\sigma(z_1), \\quad z_1 = 2.09$$",
            "$$L = 0.5 \\sum_i (o_i - t_i)^2 = 0.5932$$",
            "$$w_1^{new} = w_1 - 0.01 \\cdot 0.00198 = 0.09998$$",
        ]
    )
    found = [(eq.lhs, parse_written(eq.last)) for eq in equations(text)]
    values = [(lhs, str(w.value) if w else None) for lhs, w in found]
    assert values == [
        ("h1", "0.98661"),
        ("h2", "0.99503"),
        ("o1", "0.8896"),
        ("o2", "0.8004"),
        ("l", "0.5932"),
        ("h1", "0.98661"),
        ("h2", "0.99503"),
        ("o1", "0.8896"),
        ("o2", "0.8004"),
        ("o1", None),  # o_1 = sigma(z_1) states no number: not z_1's 2.09
        ("z1", "2.09"),
        ("l", "0.5932"),  # a product with a sum is one right side, not two equations
        ("w1^new", "0.09998"),
    ]


FORWARD_STYLES = {
    "one row": "$$h_1 = {h1}, \\quad h_2 = 0.99503$$\n\n$$o_1 = 0.8896,\\; o_2 = 0.8004$$\n\n"
    "$$L = 0.5932$$\n",
    "aligned columns": "$$\\begin{{aligned}} h_1 &= {h1} & h_2 &= 0.99503 \\\\ o_1 &= 0.8896 & "
    "o_2 &= 0.8004 \\\\ L &= 0.5932 \\end{{aligned}}$$\n",
    "decimal comma": "$$h_1 = {h1c}$$\n\n$$h_2 = 0{{,}}99503$$\n\n$$o_1 = 0{{,}}8896$$\n\n"
    "$$o_2 = 0{{,}}8004$$\n\n$$L = 0{{,}}5932$$\n",
    "table": "| | value |\n|---|---|\n| $h_1$ | {h1} |\n| $h_2$ | 0.99503 |\n| $o_1$ | 0.8896 |\n"
    "| $o_2$ | 0.8004 |\n| $L$ | 0.5932 |\n",
    "prose": "Therefore, h1 = {h1}\n\n$$h_2 = 0.99503$$\n\nThus $o_1 = 0.8896$\n\n"
    "$$o_2 = 0.8004$$\n\n$$L = 0.5932$$\n",
}


@pytest.mark.parametrize("style", list(FORWARD_STYLES))
@pytest.mark.parametrize(("h1", "verdict"), [("0.98661", "right"), ("0.99120", "wrong")])
def test_forward_values_in_other_writeup_styles(
    tmp_path: Path, style: str, h1: str, verdict: str
) -> None:
    """Each value is read as its own: a right one earns its point, a wrong one (control) loses
    it, whatever the layout; before, a row of two equations gave h1 the value of h2."""
    body = FORWARD_STYLES[style].format(h1=h1, h1c=h1.replace(".", "{,}"))
    (tmp_path / "writeup.md").write_text(f"# HW2\n\n## Question 2 - Backprop\n\n{body}")
    forward = _check(_grade_one(tmp_path), "q2", "forward")
    expected = dict.fromkeys(["h1", "h2", "o1", "o2", "loss"], "right") | {"h1": verdict}
    assert _verdicts(forward) == expected, forward.details


def test_gradients_and_updates_in_a_table_with_headers(tmp_path: Path) -> None:
    """| Parameter | Initial | Gradient | Updated |: the header says which quantity each column is;
    a column the grader cannot name (here 'Initial') is never taken for a graded one."""
    values = q2_values()
    rows = ["| Parameter | Initial | Gradient | Updated |", "|---|---|---|---|"]
    for name in ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "b1", "b2"]:
        grad = "0.0765" if name == "w9" else f"{values[f'dL_d{name}']:.4g}"  # dw9 wrong
        new = f"{0.9 - 0.01 * 0.0765:.5f}" if name == "w9" else f"{values[f'{name}_new']:.5f}"
        rows.append(f"| ${name[0]}_{{{name[1:]}}}$ | 0.5 | {grad} | {new} |")
    (tmp_path / "writeup.md").write_text(
        "# HW2\n\n## Question 2 - Backprop\n\n" + "\n".join(rows) + "\n"
    )
    (sub,) = grade([tmp_path], GradeOptions(select="q2", homework="dl/hw2")).submissions
    grads, updates = _check(sub, "q2", "gradients"), _check(sub, "q2", "updates")
    assert _verdicts(grads) == _grads("dL_dw1 dL_dw2 dL_dw3 dL_dw4 dL_dw5 dL_dw6 dL_dw7 dL_dw8 "
                                      "dL_dw10 dL_db1 dL_db2")  # fmt: skip
    assert _verdicts(updates) == {f"{n}_new": "right" for n in _UPDATED} | {"w9_new": "carried"}
    # a header that names no quantity: for a TA, never missing nor wrong
    text = (tmp_path / "writeup.md").read_text().replace("Gradient", "Foo")
    (tmp_path / "writeup.md").write_text(text.replace("Updated", "Bar"))
    (sub,) = grade([tmp_path], GradeOptions(select="q2", homework="dl/hw2")).submissions
    assert set(_verdicts(_check(sub, "q2", "gradients")).values()) == {"pending"}


_UPDATED = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w10", "b1", "b2"]


# --- tables without pipes: LaTeX `tabular` (the .tex, and its PDF) and plain text ---------------
_NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "b1", "b2"]
_FORWARD = {"h1": "0.98661", "h2": "0.99503", "o1": "0.88955", "o2": "0.80040", "E": "0.59324"}


def _table_values(wrong: bool) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The forward values and (name, gradient, updated) rows; `wrong`: h2, dL/dw1, w3_new off."""
    values = q2_values()
    forward = dict(_FORWARD) | ({"h2": "0.91503"} if wrong else {})
    rows = []
    for name in _NAMES:
        grad = f"{values[f'dL_d{name}']:.4g}"
        new = f"{values[f'{name}_new']:.5f}"
        if wrong and name == "w1":
            grad = "0.00298"
        if wrong and name == "w3":
            new = "0.29000"
        rows.append((name, grad, new))
    return forward, rows


def _tex_symbol(name: str) -> str:
    return f"{name[0]}_{{{name[1:]}}}" if name != "E" else "E_{total}"


def _tex_table(wrong: bool, layout: str) -> str:
    forward, rows = _table_values(wrong)
    out = ["\\documentclass{article}", "\\usepackage{booktabs}", "\\begin{document}"]
    out += ["\\section*{Question 2}", "\\subsection*{1. Forward pass}"]
    if layout == "across":  # symbols in the first row, values under them
        out += ["\\begin{tabular}{l" + "c" * len(forward) + "}"]
        out += [" & " + " & ".join(f"${_tex_symbol(k)}$" for k in forward) + " \\\\ \\hline"]
        out += ["Value & " + " & ".join(forward.values()) + " \\\\", "\\end{tabular}"]
        out += ["\\subsection*{2. Backward pass and 3. SGD step}"]
        for part in (rows[:6], rows[6:]):
            out += ["\\begin{tabular}{l" + "c" * len(part) + "}"]
            out += [" & " + " & ".join(f"${_tex_symbol(n)}$" for n, _, _ in part) + " \\\\"]
            out += ["Gradient & " + " & ".join(g for _, g, _ in part) + " \\\\"]
            out += ["Updated & " + " & ".join(u for _, _, u in part) + " \\\\", "\\end{tabular}"]
    else:  # down, booktabs or ruled, titles of one word or several
        ruled = layout == "ruled"
        out += ["\\begin{tabular}{|c|c|}" if ruled else "\\begin{tabular}{ll}", "\\toprule"]
        out += ["Quantity & Forward value \\\\ \\midrule"]
        out += [
            f"${_tex_symbol(k)}$ & {v} \\\\" + (" \\hline" if ruled else "")
            for k, v in forward.items()
        ]
        out += ["\\bottomrule", "\\end{tabular}", "", "\\subsection*{2. Backward pass}", ""]
        out += ["\\begin{center}", "\\begin{tabular}{lcc}", "\\toprule"]
        out += ["Parameter & $\\partial E_{total} / \\partial \\theta$ & Updated value \\\\"]
        out += ["\\midrule", *(f"${_tex_symbol(n)}$ & {g} & {u} \\\\" for n, g, u in rows)]
        out += ["\\bottomrule", "\\end{tabular}", "\\end{center}"]
    return "\n".join([*out, "\\end{document}", ""])


def _pdf_table(wrong: bool, across: bool) -> bytes:
    """The tables as pdflatex sets them: each cell its own run, the symbols' indices lowered
    and smaller (`w_{7}`), the columns a cell width apart."""
    from tests.ingest.pdfmake import Run, make_pdf, text_page

    forward, rows = _table_values(wrong)
    runs = text_page(["Question 2", "", "The values of the forward and backward passes."])
    y = 680.0

    def symbol(x: float, name: str) -> list[Run]:
        base, index = (name[0], name[1:]) if name != "E" else ("E", "total")
        return [Run(x, y, base, "F1", 10), Run(x + 7, y - 1.5, index, "F1", 7)]

    def cell_row(first: list[Run] | str, cells: list[str]) -> None:
        nonlocal y
        runs.extend([Run(90, y, first, "F1", 10)] if isinstance(first, str) else first)
        runs.extend(Run(170 + 60 * k, y, cell, "F1", 10) for k, cell in enumerate(cells))
        y -= 12

    def symbol_row(corner: str, names: list[str]) -> None:
        nonlocal y
        if corner:
            runs.append(Run(90, y, corner, "F1", 10))
        for k, name in enumerate(names):
            runs.extend(symbol(170 + 60 * k, name))
        y -= 12

    if across:
        symbol_row("", list(forward))
        cell_row("Value", list(forward.values()))
        y -= 12
        for part in (rows[:6], rows[6:]):
            symbol_row("", [n for n, _, _ in part])
            cell_row("Gradient", [g for _, g, _ in part])
            cell_row("Updated", [u for _, _, u in part])
            y -= 12
    else:
        cell_row("Quantity", ["Value"])
        for k, v in forward.items():
            cell_row(symbol(90, k), [v])
        y -= 12
        cell_row("Parameter", ["Gradient", "Updated"])
        for n, g, u in rows:
            cell_row(symbol(90, n), [g, u])
    return make_pdf([runs])


def _table_verdicts(folder: Path) -> dict[str, dict[str, str]]:
    (sub,) = grade([folder], GradeOptions(select="q2", homework="dl/hw2")).submissions
    return {c: _verdicts(_check(sub, "q2", c)) for c in ("forward", "gradients", "updates")}


def _expected(wrong: bool) -> dict[str, dict[str, str]]:
    forward = dict.fromkeys(["h1", "h2", "o1", "o2", "loss"], "right")
    grads = {f"dL_d{n}": "right" for n in _NAMES}
    updates = {f"{n}_new": "right" for n in _NAMES}
    if wrong:
        forward["h2"], grads["dL_dw1"], updates["w3_new"] = "wrong", "wrong", "wrong"
        updates["w1_new"] = "right"  # the right update, not the one the wrong gradient gives
    return {"forward": forward, "gradients": grads, "updates": updates}


@pytest.mark.parametrize("wrong", [False, True], ids=["right", "wrong"])
@pytest.mark.parametrize(
    "form", ["tex-booktabs", "tex-ruled", "tex-across", "pdf-down", "pdf-across", "text-spaced"]
)
def test_values_in_a_latex_or_pdf_table_read_as_from_a_markdown_table(
    tmp_path: Path, form: str, wrong: bool
) -> None:
    """A `tabular` of the forward values, the gradients and the updates (down the page or
    across it, booktabs or ruled, titles of one word or several), read from the .tex, from the
    PDF laid out again and from a plain-text table: every value judged as the Markdown pipe
    table's (control: three wrong values fail). Before, none was read: 'not answered', zero."""
    forward, rows = _table_values(wrong)
    markdown = tmp_path / "md"
    markdown.mkdir()
    lines = ["# HW2", "", "## Question 2", "", "| | Value |", "|---|---|"]
    lines += [f"| ${_tex_symbol(k)}$ | {v} |" for k, v in forward.items()]
    lines += ["", "| Parameter | Gradient | Updated |", "|---|---|---|"]
    lines += [f"| ${_tex_symbol(n)}$ | {g} | {u} |" for n, g, u in rows]
    (markdown / "writeup.md").write_text("\n".join(lines) + "\n")
    assert _table_verdicts(markdown) == _expected(wrong)
    folder = tmp_path / form
    folder.mkdir()
    kind, _, layout = form.partition("-")
    if kind == "tex":
        (folder / "report.tex").write_text(_tex_table(wrong, layout))
    elif kind == "pdf":
        (folder / "report.pdf").write_bytes(_pdf_table(wrong, layout == "across"))
    else:
        table = ["Quantity     Value", *(f"{k:<12} {v}" for k, v in forward.items()), ""]
        table += ["Parameter    Gradient    Updated"]
        table += [f"{n:<12} {g:<11} {u}" for n, g, u in rows]
        (folder / "writeup.txt").write_text("Question 2\n\n" + "\n".join(table) + "\n")
    assert _table_verdicts(folder) == _expected(wrong)


def test_a_pdf_table_whose_titles_cannot_be_placed_is_for_a_ta(tmp_path: Path) -> None:
    """In a PDF a title of several words ('Updated value') cannot be put in its column (the
    gaps between columns come out as single spaces): the values go to a TA, never to a wrong
    quantity, never 'not answered'."""
    from tests.ingest.pdfmake import make_pdf, text_page

    _, rows = _table_values(False)
    lines = ["Question 2", "", "Parameter Gradient of the loss Updated value"]
    lines += [f"{n} {g} {u}" for n, g, u in rows]
    (tmp_path / "report.pdf").write_bytes(make_pdf([text_page(lines)]))
    verdicts = _table_verdicts(tmp_path)
    assert set(verdicts["gradients"].values()) == {"pending"}, verdicts
    assert set(verdicts["updates"].values()) == {"pending"}, verdicts
