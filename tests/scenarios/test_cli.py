"""Tests for grader.cli: exit codes, messages, `grade template`, and one real end-to-end run.

Everything but `test_real_run_json_contract` calls `grader.cli.main` in process and reads its
output with capsys; none of those runs student code (they fail before the sandbox, or select only
answer-sheet checks). The real run grades the demo student alice in a subprocess, exactly as a
user would, through the sandbox.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from grader.cli import ExitCode, main
from grader.rubric import (
    ChoiceCheck,
    FormulaCheck,
    ManualCheck,
    NumberCheck,
    answer_key,
    load_rubric,
)

ROOT = Path(__file__).resolve().parents[2]
ALICE = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"
RUBRICS = ROOT / "rubrics" / "mfdnn"
STATUSES = {"passed", "failed", "error", "pending", "skipped"}


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps at 80 columns when not on a terminal; wide output keeps messages on one line."""
    monkeypatch.setenv("COLUMNS", "500")


def _answer_keys() -> list[str]:
    rubric = load_rubric(RUBRICS / "hw6.yaml")
    return [
        answer_key(p, c)
        for p in rubric.problems
        for c in p.checks
        if isinstance(c, NumberCheck | ChoiceCheck | FormulaCheck)
    ]


# --- usage errors (exit 2) --------------------------------------------------------------------


def test_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nobody"
    assert main([str(missing)]) == ExitCode.USAGE == 2
    err = capsys.readouterr().err
    assert f"no such folder: {missing}" in err


def test_a_file_is_not_a_submission_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stray = tmp_path / "stm.py"
    stray.write_text("x = 1\n")
    assert main([str(stray)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_unknown_homework(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ALICE), "--homework", "hw99"]) == 2
    err = capsys.readouterr().err
    assert "unknown homework 'hw99'" in err
    assert (
        "known: dl/hw2, mfdnn/hw2, mfdnn/hw3, mfdnn/hw4, mfdnn/hw6" in err
    )  # every course's rubrics, sorted


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_must_be_positive(jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ALICE), "--jobs", jobs]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_no_arguments_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: grade" in err
    assert "the following arguments are required: PATH" in err


def test_jobs_not_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(ALICE), "--jobs", "many"])
    assert info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


# --- invalid rubric (exit 3) ------------------------------------------------------------------


def test_invalid_rubric_exit_3_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (RUBRICS / "hw6.yaml").read_text(encoding="utf-8")
    assert text.count("equivalence: 3") == 1
    broken = text.replace("equivalence: 3", "equivalence: 2")
    (tmp_path / "hw6.yaml").write_text(broken, encoding="utf-8")
    assert main([str(ALICE), "--rubrics", str(tmp_path)]) == ExitCode.RUBRIC == 3
    err = capsys.readouterr().err
    assert f"invalid rubric {tmp_path / 'hw6.yaml'}" in err
    stm_line = next(i for i, ln in enumerate(broken.splitlines(), 1) if "- id: stm" in ln)
    assert re.search(rf"line {stm_line}: problems\.\d+\.checks\.\d+: ", err), err
    assert "aspect points add up to 7, but points is 8" in err


def test_yaml_error_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "hw6.yaml").write_text("schema_version: 1\nhomework: hw6: x\n")
    assert main([str(ALICE), "--rubrics", str(tmp_path)]) == 3
    assert "line 2: not valid YAML" in capsys.readouterr().err


def test_empty_rubric_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(ALICE), "--rubrics", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no rubrics found in" in err


# --- template ---------------------------------------------------------------------------------


def test_template_prints_a_parsable_sheet_with_every_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["template", "hw6"]) == 0
    out = capsys.readouterr().out
    data = tomllib.loads(out)
    assert data["homework"] == "hw6"
    keys = _answer_keys()
    for key in keys:
        section, _, name = key.rpartition(".")
        assert section in data, f"[{section}] missing"
        assert re.search(rf"^# {re.escape(name)} = ", out, flags=re.MULTILINE), name
    # Uncommenting the example lines gives a sheet with exactly the rubric's answer keys.
    filled = re.sub(r"^# (\w+ = )", r"\1", out, flags=re.MULTILINE)
    answers = tomllib.loads(filled)
    flat = [f"{s}.{k}" for s, table in answers.items() if isinstance(table, dict) for k in table]
    assert sorted(flat) == sorted(keys)


def test_template_unknown_homework(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template", "hw99"]) == 2
    assert "unknown homework 'hw99'" in capsys.readouterr().err


def test_template_invalid_rubric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "hw6.yaml").write_text("schema_version: one\n")
    assert main(["template", "hw6", "--rubrics", str(tmp_path)]) == 3
    assert "line 1: schema_version" in capsys.readouterr().err


# --- help -------------------------------------------------------------------------------------


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: grade")
    for flag in ("--homework", "--json", "-k EXPR", "--jobs", "--seed", "--rubrics", "--quiet"):
        assert flag in out, flag
    assert "grade template COURSE/HW" in out  # placeholders: no course id in grader/ code
    assert "grade env COURSE" in out


def test_template_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["template", "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: grade template")


# --- selection (in process, no student code runs) ---------------------------------------------


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (sub,) = report["submissions"]
    return {f"{p['id']}::{c['id']}": c for p in sub["problems"] for c in p["checks"]}


def test_k_selects_only_p4a(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert main([str(ALICE), "-k", "p4a", "--json", str(out), "--quiet"]) == 0
    assert f"results written to {out}" in capsys.readouterr().out
    checks = _checks(json.loads(out.read_text()))
    ran = {k for k, c in checks.items() if "deselected" not in c["message"]}
    assert ran == {"p4a::params_naive", "p4a::params_stm"}
    for key, check in checks.items():
        if key in ran:
            assert check["status"] == "passed", check
        else:
            assert check["status"] == "skipped", check
            assert check["score"] == 0
            assert "deselected" in check["message"]


def test_a_students_unknown_homework_is_not_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`homework = "hw7"` in one answer sheet once stopped the batch with exit 2 after grading."""
    cls = tmp_path / "class"
    shutil.copytree(ALICE, cls / "alice")
    shutil.copytree(ALICE, cls / "mallory")
    sheet = cls / "mallory" / "answers.toml"
    sheet.write_text(sheet.read_text().replace('homework = "hw6"', 'homework = "hw7"'))
    out = tmp_path / "out.json"
    assert main([str(cls), "-k", "p4a", "--json", str(out), "--quiet"]) == 0
    report = {s["student"]: s for s in json.loads(out.read_text())["submissions"]}
    assert report["alice"]["score"] == 2.0
    assert report["mallory"]["homework"] == "unknown"
    assert report["mallory"]["error"].startswith("mallory: answers.toml, line ")
    assert "homework = 'hw7' is not a homework graded here" in report["mallory"]["error"]


# --- one real run -----------------------------------------------------------------------------


@pytest.mark.sandbox
@pytest.mark.slow
def test_real_run_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "grader.cli", str(ALICE), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) >= {"submissions"}
    (sub,) = report["submissions"]
    assert {"student", "homework", "score", "max_score", "problems"} <= set(sub)
    assert sub["student"] == "alice"
    assert sub["homework"] == "mfdnn/hw6"
    rubric = load_rubric(RUBRICS / "hw6.yaml")
    assert sub["max_score"] == rubric.max_score
    assert [p["id"] for p in sub["problems"]] == [p.id for p in rubric.problems]
    total = 0.0
    for problem in sub["problems"]:
        assert {"id", "score", "max_score", "checks"} <= set(problem)
        assert problem["max_score"] == rubric.problem(problem["id"]).points
        assert 0 <= problem["score"] <= problem["max_score"]
        assert problem["checks"], problem["id"]
        for check in problem["checks"]:
            assert {"id", "status", "score", "max_score", "message"} <= set(check)
            assert check["status"] in STATUSES, check
            assert isinstance(check["message"], str) and check["message"], check
            assert check["score"] <= check["max_score"] or check["max_score"] == 0
        total += problem["score"]
    assert sub["score"] == pytest.approx(total)
    # alice is the demo's all-correct student: everything not left to a TA passes.
    statuses = {c["status"] for p in sub["problems"] for c in p["checks"]}
    assert statuses <= {"passed", "pending"}, statuses
    pending = sum(c.points for p in rubric.problems for c in p.checks if isinstance(c, ManualCheck))
    assert sub["score"] == rubric.max_score - pending
    assert "alice" in proc.stdout and f"results written to {out}" in proc.stdout


@pytest.mark.sandbox
@pytest.mark.slow
def test_interrupted_batch_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """Ctrl-C mid-batch leaves partial results and exit 130; --resume finishes from the cache
    and ends byte-identical to a run that was never interrupted."""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    klass = tmp_path / "class"
    for name in ("s1", "s2", "s3", "s4"):
        shutil.copytree(ROOT / "submissions" / "mfdnn" / "hw6" / "alice", klass / name)
        (klass / name / "ddescent.py").unlink()
    base = [sys.executable, "-m", "grader.cli", str(klass), "-k", "p4b", "--jobs", "1", "-q"]
    cache = tmp_path / "cache"
    first = subprocess.Popen(
        [*base, "--cache-dir", str(cache), "--out", str(tmp_path / "partial")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any((cache / "observations").glob("[0-9a-f]*")):
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 130, (out.decode()[-2000:], err.decode()[-2000:])
    partial = json.loads((tmp_path / "partial" / "results.json").read_text())
    messages = [
        c["message"] for s in partial["submissions"] for p in s["problems"] for c in p["checks"]
    ]
    assert any("interrupted" in m for m in messages)

    resumed = subprocess.run(
        [*base, "--cache-dir", str(cache), "--resume", "--out", str(tmp_path / "resumed")],
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    fresh = subprocess.run(
        [*base, "--cache-dir", str(tmp_path / "other-cache"), "--out", str(tmp_path / "fresh")],
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    assert resumed.returncode == fresh.returncode == 0
    for name in ("results.json", "grades.csv", "junit.xml"):
        assert (tmp_path / "resumed" / name).read_bytes() == (
            tmp_path / "fresh" / name
        ).read_bytes()


def test_weak_isolation_is_said_before_grading(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without bubblewrap the run starts with a warning naming what is not protected."""
    import grader.cli
    from grader.sandbox.runner import SandboxRunner

    monkeypatch.setattr(grader.cli, "SandboxRunner", lambda: SandboxRunner(use_bwrap=False))
    code = main(
        [
            str(ROOT / "submissions" / "mfdnn" / "hw6" / "alice"),
            "-k",
            "p4a",
            "--cache-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "bubblewrap (bwrap) is not available" in err and "reference/" in err


@pytest.mark.slow  # fresh interpreters, timed by what they import, not by the clock
def test_help_and_template_do_not_import_torch() -> None:
    """The CLI imports the pipeline (and with it torch, about 2 s) only when it grades, after
    starting the first sandbox worker, so that both imports run at once."""
    code = (
        "import sys, contextlib, io\n"
        "from grader.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['template', 'hw6']) == 0\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m == 'grader.pipeline'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_malformed_selection_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """It used to deselect every check and report a class of zeros with exit status 0."""
    assert main([str(ALICE), "-k", "p4b and", "--no-cache"]) == ExitCode.USAGE
    assert "-k 'p4b and' is not a valid selection" in capsys.readouterr().err


def test_a_selection_that_matches_no_check_says_so_even_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`-k alice` selected a student by folder name through pytest's keywords; it now matches
    checks only, and a selection that runs nothing is reported rather than a class of zeros."""
    assert main([str(ALICE), "-k", "alice", "--no-cache", "--quiet"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "no check matches -k 'alice'" in out and "choose students by their folders" in out


def test_a_selection_that_matches_is_not_warned_about(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ALICE), "-k", "p2", "--no-cache", "--quiet"]) == ExitCode.OK
    assert "no check matches" not in capsys.readouterr().out


def _course_copy(tmp_path: Path) -> Path:
    """The mfdnn course copied, its references still the repository's."""
    course = tmp_path / "mfdnn"
    shutil.copytree(ROOT / "rubrics" / "mfdnn", course)
    (course / "course.yaml").write_text(
        f"id: mfdnn\nreference: {ROOT / 'reference' / 'mfdnn'}\n", encoding="utf-8"
    )
    return course


def test_a_reference_typo_in_a_rubric_exits_3_before_grading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`{ref: p2_varience}` used to load, then give every student an internal error."""
    course = _course_copy(tmp_path)
    rubric = course / "hw6.yaml"
    rubric.write_text(rubric.read_text().replace("ref: p2_variance", "ref: p2_varience"))
    assert main([str(ALICE), "--rubrics", str(course), "-k", "p4a", "--no-cache"]) == 3
    err = capsys.readouterr().err
    assert "problem p2, check variance: the reference has no 'p2_varience'" in err


def test_a_grader_bug_names_no_server_path() -> None:
    from grader.judges.items import grader_bug
    from grader.rubric import ManualCheck

    check = ManualCheck(id="m", points=1, kind="manual")
    bug = OSError(2, "No such file or directory", "/srv/grading/secret/reference/hw6.py")
    result = grader_bug(check, None, bug)
    assert "/srv" not in result.message and "hw6.py" in result.message


def test_new_scaffolds_a_homework_that_check_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grade new` writes a rubric, a reference and its test; `grade check` passes them, and
    fails once the rubric asks the reference for a name it lacks."""
    rubrics = tmp_path / "rubrics"
    assert main(["new", "newcourse/hw1", "--rubrics", str(rubrics)]) == 0
    assert (rubrics / "newcourse" / "hw1.yaml").is_file()
    assert (tmp_path / "reference" / "newcourse" / "hw1" / "__init__.py").is_file()
    assert (tmp_path / "tests" / "test_reference_newcourse_hw1.py").is_file()
    assert main(["check", "newcourse/hw1", "--rubrics", str(rubrics)]) == 0
    rubric = rubrics / "newcourse" / "hw1.yaml"
    rubric.write_text(rubric.read_text().replace("ref: p1_answer", "ref: p1_answr"))
    capsys.readouterr()
    assert main(["check", "newcourse/hw1", "--rubrics", str(rubrics)]) == 3
    assert "the reference has no 'p1_answr'" in capsys.readouterr().out
    assert main(["new", "newcourse/hw1", "--rubrics", str(rubrics)]) == 2  # never overwrites


def test_check_passes_every_demo_homework(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "mfdnn/hw6" in out and "dl/hw2" in out
