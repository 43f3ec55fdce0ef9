"""`grade gradescope`: the autograder zip, and run_autograder run for real in a scratch root laid
out as Gradescope lays out /autograder (source/ unpacked from the zip, submission/, results/).

The real run executes the zip's own copy of the grader (run_autograder changes into source/),
through the real sandbox, and its scores are compared with the TA's `grade` of the same student.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.cli import ExitCode, main

ROOT = Path(__file__).resolve().parents[2]
ANA = ROOT / "submissions" / "mfdnn" / "hw4" / "ana"
BASH = shutil.which("bash") or "/bin/bash"


def hidden_course(tmp_path: Path) -> Path:
    """A copy of the mfdnn course (rubrics and references) whose hw4 `agreement` is hidden."""
    course = tmp_path / "courses" / "mfdnn"
    shutil.copytree(ROOT / "rubrics" / "mfdnn", course)
    shutil.copytree(ROOT / "reference" / "mfdnn", tmp_path / "reference" / "mfdnn")
    (course / "course.yaml").write_text(
        "id: mfdnn\nreference: ../../reference/mfdnn\n", encoding="utf-8"
    )
    rubric = course / "hw4.yaml"
    text = rubric.read_text(encoding="utf-8")
    marker = "      - id: agreement\n        kind: manual\n"
    assert marker in text
    rubric.write_text(text.replace(marker, marker + "        visibility: hidden\n"), "utf-8")
    return course


def build(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "autograder.zip"
    course = hidden_course(tmp_path)
    args = ["gradescope", "mfdnn/hw4", "--rubrics", str(course), "--out", str(out), *extra]
    assert main(args) == ExitCode.OK
    return out


def gradescope_root(tmp_path: Path, zip_path: Path, submission: Path) -> Path:
    """/autograder as Gradescope lays it out: the zip in source/, the student's files in
    submission/, an empty results/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copytree(submission, root / "submission")
    (root / "results").mkdir()
    return root


def run_autograder(root: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GRADER_AUTOGRADER_ROOT": str(root),
        "GRADER_AUTOGRADER_PYTHON": sys.executable,
    }
    if path is not None:
        env["PATH"] = path
    env.pop("PYTHONPATH", None)  # the zip's grader, from source/, not this checkout's
    return subprocess.run(
        [BASH, str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_zip_has_gradescopes_layout_and_only_this_homework(tmp_path: Path) -> None:
    with zipfile.ZipFile(build(tmp_path)) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        config = json.loads(archive.read("autograder.json"))
    assert {"setup.sh", "run_autograder", "pyproject.toml", "grader/cli.py"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "grader/sandbox/inside/probe.py" in names
    assert "course/mfdnn/hw4.yaml" in names and "course/mfdnn/reference/hw4/c3.py" in names
    others = [n for n in names if "hw6" in n or "hw2" in n or "hw3" in n]
    assert others == []  # no other homework's rubric or reference
    assert not [n for n in names if "__pycache__" in n]
    assert config == {"homework": "mfdnn/hw4", "allow_weak_isolation": False}
    assert "apt-get install -y -qq bubblewrap" in setup
    assert "exit 1" in setup  # an image where bwrap cannot run is not built
    for script in ("setup.sh", "run_autograder"):
        path = tmp_path / script
        with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
            path.write_bytes(archive.read(script))
        assert subprocess.run([BASH, "-n", str(path)], check=False).returncode == 0


def test_the_zip_is_deterministic(tmp_path: Path) -> None:
    first = build(tmp_path).read_bytes()
    shutil.rmtree(tmp_path / "courses")
    shutil.rmtree(tmp_path / "reference")
    assert build(tmp_path).read_bytes() == first


def test_weak_isolation_is_recorded_only_when_asked(tmp_path: Path) -> None:
    with zipfile.ZipFile(build(tmp_path, "--allow-weak-isolation")) as archive:
        assert json.loads(archive.read("autograder.json"))["allow_weak_isolation"] is True
        assert 'if [ "yes" = "yes" ]' in archive.read("setup.sh").decode()


def test_without_bubblewrap_nothing_is_graded_and_no_score_is_written(tmp_path: Path) -> None:
    """PATH without bwrap: run_autograder refuses (exit 1, Gradescope's "autograder failed"),
    never a results.json with a score."""
    root = gradescope_root(tmp_path, build(tmp_path), ANA)
    proc = run_autograder(root, path=str(Path(sys.executable).parent))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bubblewrap is not available" in proc.stdout
    assert not (root / "results" / "results.json").exists()


@pytest.mark.sandbox
def test_run_autograder_grades_as_the_ta_does(tmp_path: Path) -> None:
    from grader.pipeline import GradeOptions, grade
    from grader.sandbox.runner import SandboxRunner

    course = hidden_course(tmp_path / "ta")
    root = gradescope_root(tmp_path, build(tmp_path), ANA)
    proc = run_autograder(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert set(data) >= {"score", "output", "tests"}
    for test in data["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")

    ta = grade([ANA], GradeOptions(rubrics_dir=course, runner=SandboxRunner()))
    (sub,) = ta.submissions
    assert data["score"] == pytest.approx(sub.score)
    checks = [c for p in sub.problems for c in p.checks]
    assert [t["score"] for t in data["tests"]] == pytest.approx([c.score for c in checks])
    assert [t["max_score"] for t in data["tests"]] == [c.max_score for c in checks]
    by_name = {t["name"]: t for t in data["tests"]}
    assert by_name["p7 agreement"]["visibility"] == "hidden"  # from the rubric
    assert by_name["p7 c3.equivalence: C3_layer"]["visibility"] == "visible"
    pending = [t for t in data["tests"] if "A TA will grade this part" in t["output"]]
    assert pending and all("status" not in t for t in pending)  # pending, not failed


def test_a_submission_wrapped_in_one_folder_is_found_inside_it(tmp_path: Path) -> None:
    from grader.autograder import _submission_folder

    wrapped = tmp_path / "submission" / "hw4-ana"
    shutil.copytree(ANA, wrapped)
    (tmp_path / "submission" / "__MACOSX").mkdir()  # what a zip from macOS Finder adds
    assert _submission_folder(tmp_path) == wrapped
    flat = tmp_path / "flat"
    shutil.copytree(ANA, flat / "submission")
    assert _submission_folder(flat) == flat / "submission"


def test_an_upload_of_several_submissions_is_explained_to_the_student() -> None:
    from grader.autograder import results_for
    from grader.results import GradeReport, submission_result
    from grader.rubric import load_rubric

    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw4.yaml")
    two = GradeReport(submissions=[submission_result(n, "mfdnn/hw4", []) for n in ("a", "b")])
    data = results_for(two, rubric)
    assert data["tests"] == [] and "several submissions or none (a, b)" in data["output"]


def test_no_autograder_is_built_without_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It would skip every check that needs the reference, as a students' copy does."""
    course = hidden_course(tmp_path)
    shutil.rmtree(tmp_path / "reference" / "mfdnn" / "hw4")
    out = tmp_path / "autograder.zip"
    args = ["gradescope", "mfdnn/hw4", "--rubrics", str(course), "--out", str(out)]
    assert main(args) == ExitCode.USAGE
    said = " ".join(capsys.readouterr().err.split())  # rich wraps at the terminal's width
    assert "an autograder without it would grade as the students' copy does" in said
    assert not out.exists()
