"""The `script` check kind end to end: HW6 p5 (`ddescent.py`) as written, judged on recorded runs.

The demo class holds one script per verdict (submissions/mfdnn/hw6/README.md). Their sandbox
runs are
replayed from tests/data/recorded/ (`pytest --record-sandbox` records them again); judging
them is still slow, as it computes the reference's double-descent curves. The two real seeds'
scripts (tests/data/hw6-p5/) take minutes each, as written, and run in the real sandbox under the
`seeds` marker (CI runs them in a step of their own).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
ASPECTS = ("runs", "fixed_curve", "tuned_curve", "figure")
P, F, E = Status.PASSED, Status.FAILED, Status.ERROR

# What a careful TA gives each demo student on p5 (runs 1, fixed_curve 2, tuned_curve 2, figure 1).
CLASS: dict[str, tuple[Status, Status, Status, Status]] = {
    "alice": (P, P, P, P),  # correct; usetex=True must not cost points
    "bob": (E, P, F, F),  # append inside the lambda loop: plot crashes, fixed part still counts
    "carol": (P, P, P, P),  # np.linalg.norm instead of MSE and a print per p: no points lost
    "dave": (P, P, F, P),  # lambda tuned on the test set
    "erin": (P, P, F, P),  # not tuned: the "tuned" curve keeps the peak
    "frank": (E, F, F, F),  # bare starter: lists never filled, the plot of empty lists fails
}
POINTS = {"runs": 1.0, "fixed_curve": 2.0, "tuned_curve": 2.0, "figure": 1.0}


def _p5(sub: SubmissionResult) -> dict[str, CheckResult]:
    (problem,) = [p for p in sub.problems if p.id == "p5"]
    return {c.id.removeprefix("script."): c for c in problem.checks}


@pytest.fixture(scope="module")
def class_report(recorded_runner: Any) -> GradeReport:
    options = GradeOptions(jobs=2, select="p5", runner=recorded_runner())
    return grade([ROOT / "submissions" / "mfdnn" / "hw6" / name for name in CLASS], options)


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CLASS))
def test_demo_class_p5_verdicts(class_report: GradeReport, student: str) -> None:
    (sub,) = [s for s in class_report.submissions if s.student == student]
    checks = _p5(sub)
    got = tuple(checks[a].status for a in ASPECTS)
    assert got == CLASS[student], {a: checks[a].message for a in ASPECTS}
    expected = sum(POINTS[a] for a, s in zip(ASPECTS, CLASS[student], strict=True) if s is P)
    assert next(p for p in sub.problems if p.id == "p5").score == expected


@pytest.mark.slow
def test_demo_class_p5_messages(class_report: GradeReport) -> None:
    by_student = {s.student: _p5(s) for s in class_report.submissions}
    bob = by_student["bob"]
    assert bob["runs"].source is not None and bob["runs"].source.file == "ddescent.py"
    assert bob["runs"].source.line is not None and "plt.plot" in " ".join(bob["runs"].details)
    assert "1800 values for 150" in bob["tuned_curve"].message
    assert "inside the loop over lambda" in (bob["tuned_curve"].hint or "")
    assert "TEST set" in by_student["dave"]["tuned_curve"].message
    assert "peak" in by_student["erin"]["tuned_curve"].message
    assert "never filled" in by_student["frank"]["fixed_curve"].message


def test_missing_script_is_named(tmp_path: Path, recorded_runner: Any) -> None:
    folder = tmp_path / "zoe"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n')
    (folder / "other.py").write_text("x = 1\n")
    report = grade([folder], GradeOptions(select="p5", runner=recorded_runner()))
    checks = _p5(report.submissions[0])
    assert all(c.status is F for c in checks.values())
    assert "no ddescent.py found" in checks["runs"].message and "other.py" in checks["runs"].message


def test_two_scripts_under_other_names_go_to_a_ta(tmp_path: Path, recorded_runner: Any) -> None:
    folder = tmp_path / "zoe"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n')
    for name in ("p5_first_try.py", "p5_final.py"):
        (folder / name).write_text("num_params = [1, 2]\nerrors_fixed_lambda = [0.5, 0.4]\n")
    report = grade([folder], GradeOptions(select="p5", runner=recorded_runner()))
    checks = _p5(report.submissions[0])
    assert checks["runs"].status is Status.PENDING
    assert "p5_final.py, p5_first_try.py could each be it" in checks["runs"].message


# The two real HW6 writeups' scripts, run exactly as the students wrote them (seed 000's with the
# loop indentation the PDF conversion dropped restored). Each takes minutes of CPU.
SEEDS: dict[str, tuple[Status, Status, Status, Status]] = {
    # 000: the lambda choice and the append sit inside the lambda loop (12 values per p), so the
    # plot crashes; the fixed-lambda curve is right and keeps its credit.
    "seed-000": (E, P, F, F),
    # 002: right, but reports np.linalg.norm rather than an MSE: full credit.
    "seed-002": (P, P, P, P),
}


@pytest.mark.seeds
@pytest.mark.sandbox
def test_seed_scripts_get_a_careful_tas_verdicts() -> None:
    folders = [ROOT / "tests" / "data" / "hw6-p5" / name for name in SEEDS]
    report = grade(folders, GradeOptions(jobs=2, select="p5"))
    for sub in report.submissions:
        checks = _p5(sub)
        got = tuple(checks[a].status for a in ASPECTS)
        assert got == SEEDS[sub.student], {a: checks[a].message for a in ASPECTS}


# Ways students write a correct ddescent.py that the demo class does not show, each made from
# alice's script: they must keep full credit (or go to a TA where the grader cannot read them).
# The wrong ones beside them must still fail. Pending: PE.
PE = Status.PENDING
_ALICE = (ROOT / "submissions" / "mfdnn" / "hw6" / "alice" / "ddescent.py").read_text()
_FIXED = "errors_fixed_lambda.append(np.mean((F_test @ theta - Y_test) ** 2))"
_OPT = "errors_opt_lambda.append(np.mean((F_test @ theta - Y_test) ** 2))"
_SHOW = 'plt.savefig("double_descent.png")\nplt.show()'
_PLOTS = _ALICE[_ALICE.index("plt.figure(figsize") :]


def _pairs(text: str) -> str:
    text = text.replace(_FIXED, _FIXED.replace("append(np", "append((p, np") + ")")
    text = text.replace(_OPT, _OPT.replace("append(np", "append((p, np") + ")")
    return text.replace("(num_params, errors_", "(*zip(*errors_").replace("_lambda, ", "_lambda), ")


STYLES: dict[str, tuple[str, tuple[Status, Status, Status, Status]]] = {
    "close_after_savefig": (_ALICE.replace(_SHOW, _SHOW[:-10] + "plt.close()"), (P, P, P, P)),
    "clf_between_curves": (
        _ALICE.replace(
            _PLOTS,
            "plt.plot(num_params, errors_fixed_lambda)\nplt.savefig('a.png')\nplt.clf()\n"
            "plt.plot(num_params, np.log(errors_opt_lambda))\nplt.savefig('b.png')\nplt.clf()\n",
        ),
        (P, P, P, P),
    ),
    "pairs_of_p_and_error": (_pairs(_ALICE), (P, P, P, P)),
    "dict_keyed_by_p": (
        _ALICE.replace("_lambda = []", "_lambda = {}")
        .replace(_FIXED, "errors_fixed_lambda[p] = " + _FIXED[27:-1])
        .replace(_OPT, "errors_opt_lambda[p] = " + _OPT[25:-1])
        .replace("num_params, errors_fixed_lambda,", "num_params, [*errors_fixed_lambda.values()],")
        .replace("num_params, errors_opt_lambda,", "num_params, [*errors_opt_lambda.values()],"),
        (P, P, P, P),
    ),
    # written for older matplotlib and numpy: a backend of their own, a renamed style, np.Inf
    "old_libraries": (
        _ALICE.replace("import numpy as np\n", "import numpy as np\nplt.switch_backend('TkAgg')\n")
        .replace("import matplotlib.pyplot", "import matplotlib\nmatplotlib.use('TkAgg')\nimport "
                 "matplotlib.pyplot")
        .replace("plt.figure(figsize", "plt.style.use('seaborn')\nplt.figure(figsize")
        .replace("def ridge(", "assert np.Inf > 0 and np.float is float\n\n\ndef ridge("),
        (P, P, P, P),
    ),
    "savefig_to_their_disk": (
        _ALICE.replace('"double_descent.png"', '"/Users/alice/hw6/double_descent.png"'),
        (PE, P, P, P),
    ),
    "lists_local_to_main": (
        _ALICE[: _ALICE.index('"""\nStep 1')] + "def main():\n"
        + "".join(f"    {line}" for line in _ALICE[_ALICE.index('"""\nStep 1') :].splitlines(True))
        + "\n\nmain()\n",
        (P, PE, PE, PE),
    ),
    "wrong_pairs_tuned_on_test": (
        _pairs(_ALICE.replace("F_val @ ridge", "F_test @ ridge").replace("- Y_val", "- Y_test")),
        (P, P, F, P),
    ),
    "wrong_swapped_then_closed": (
        _ALICE.replace(_FIXED, "SWAP").replace(_OPT, _FIXED).replace("SWAP", _OPT)
        .replace(_SHOW, _SHOW[:-10] + "plt.close('all')"),
        (P, F, F, P),
    ),
}  # fmt: skip


@pytest.mark.slow
def test_script_styles_of_correct_and_wrong_students(tmp_path: Path, recorded_runner: Any) -> None:
    for name, (source, _) in STYLES.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "answers.toml").write_text('homework = "hw6"\n')
        (folder / "ddescent.py").write_text(source)
    options = GradeOptions(jobs=2, select="p5", runner=recorded_runner())
    report = grade([tmp_path / name for name in STYLES], options)
    got = {}
    for sub in report.submissions:
        checks = _p5(sub)
        got[sub.student] = tuple(checks[a].status for a in ASPECTS)
    wrong = {
        name: (got.get(name), expected) for name, (_, expected) in STYLES.items()
        if got.get(name) != expected
    }  # fmt: skip
    assert not wrong, wrong
