"""`grade env`: a course's sandbox environment, prepared once from a local wheel, then used by
the real sandbox when student code imports the package (issue 12, the course environment).

The package is a wheel made here by hand (pure Python, `py3-none-any`), under a name no index
should have, so nothing is downloaded: `--offline` installs from the wheelhouse only.
Environments go to a temporary `GRADER_ENVS`.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from grader.cli import ExitCode, main
from grader.courses import ENV_MARKER, ENVS_VAR, CourseEnvironment, load_catalog
from grader.ingest.submission import ingest
from grader.judges.planning import ModuleTarget, plan_module
from grader.pipeline import GradeOptions, grade
from grader.results import Status
from grader.rubric import load_rubric
from grader.sandbox.runner import SandboxRunner

COURSE_YAML = """id: tiny
environment:
  packages:
    - gradertinypkg
MORE
"""

RUBRIC = """schema_version: 1
homework: hw1
title: Uses a course package
problems:
  - id: p1
    points: 2
    checks:
      - {id: run, kind: script, points: 1, file: uses.py, globals: [value, wrote],
         analysis: observe, reference: none, aspects: {runs: 1}}
      - {id: value, kind: custom, points: 1, function: check_value}
"""

CHECKS = """
def check_value(script_run):
    run = script_run("p1", "run")
    assert run.finished, f"the script did not finish: {run.error}"
    assert float(run.global_value("value")) == 42.0
    assert float(run.global_value("wrote")) == 0.0, "the course environment is writable"
"""

STUDENT = """import os
import gradertinypkg

value = gradertinypkg.VALUE
try:  # the course environment is bound read-only: no student can change it for the next
    with open(os.path.join(os.path.dirname(gradertinypkg.__file__), "planted.py"), "w") as fh:
        fh.write("VALUE = 0\\n")
    wrote = 1
except OSError:
    wrote = 0
"""


def make_wheel(
    folder: Path,
    name: str = "gradertinypkg",
    version: str = "0.1",
    requires: str = "",
    source: str = "VALUE = 42\n",
) -> Path:
    """A minimal pure-Python wheel, by hand: the module, METADATA, WHEEL and a hashed RECORD."""
    dist = f"{name}-{version}.dist-info"
    needs = f"Requires-Dist: {requires}\n" if requires else ""
    files = {
        f"{name}/__init__.py": source,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{needs}",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _course(tmp_path: Path, more: str = "") -> Path:
    course = tmp_path / "tiny"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text(COURSE_YAML.replace("MORE", more))
    (course / "hw1.yaml").write_text(RUBRIC)
    (course / "hw1_checks.py").write_text(CHECKS)
    return course


def _env(course: Path, *args: str) -> int:
    return main(["env", "tiny", "--rubrics", str(course), *args])


def test_an_environment_declaration_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    course = _course(tmp_path, "    - {requirement: scikit-learn>=1.0, imports: [sklearn]}")
    env = load_catalog([course]).environment("tiny")
    assert env.declared == {"gradertinypkg", "sklearn"}
    assert env.folder is not None and env.folder.parent == tmp_path / "envs"
    assert env.folder.name.startswith("tiny-") and env.prepared is None
    other = load_catalog([_course(tmp_path / "b")]).environment("tiny")
    assert other.folder != env.folder, "another declaration is another environment"


@pytest.mark.slow
def test_grade_env_installs_from_a_wheelhouse_and_reports_what_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    # installs, then fails on import (as torchvision built for another torch does)
    make_wheel(wheels, "brokenpkg", source="raise RuntimeError('operator x::nms does not exist')\n")
    more = "    - {requirement: not-in-the-wheelhouse, imports: [nothere]}\n    - brokenpkg"
    course = _course(tmp_path, more)
    assert _env(course, "--wheelhouse", str(wheels), "--offline") == ExitCode.MISSING_PACKAGES
    out = capsys.readouterr().out
    assert "✓ gradertinypkg" in out
    assert "✗ not-in-the-wheelhouse" in out
    assert "pip download --dest WHEELS 'not-in-the-wheelhouse'" in out
    flat = " ".join(out.split())  # the console wraps long lines
    assert "✗ brokenpkg: installed, but `import brokenpkg` fails" in flat
    assert "operator x::nms does not exist" in flat
    env = load_catalog([course]).environment("tiny")
    assert (
        env.prepared is not None and env.provides("gradertinypkg") and not env.provides("nothere")
    )
    assert not env.provides("brokenpkg"), "a package that cannot be imported must be taken out"
    assert list(env.missing()) == ["not-in-the-wheelhouse", "brokenpkg"]


@pytest.mark.slow
def test_grade_env_never_replaces_the_grader_s_own_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A package wanting another NumPy is reported, not installed beside a second NumPy (here
    an old `numpy` wheel sits in the wheelhouse, which pip would otherwise take)."""
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "numpy", "0.9")
    make_wheel(wheels, "oldnum", "1.0", requires="numpy<1")
    course = _course(tmp_path, "    - oldnum")
    assert _env(course, "--wheelhouse", str(wheels), "--offline") == ExitCode.MISSING_PACKAGES
    assert "✗ oldnum" in capsys.readouterr().out
    env = load_catalog([course]).environment("tiny")
    assert env.provides("gradertinypkg") is False  # not in this wheelhouse
    assert not env.provides("numpy"), "a second NumPy was installed into the course environment"


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_submission_imports_the_course_package_in_the_real_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    course = _course(tmp_path)
    (course / "course.yaml").write_text(COURSE_YAML.replace("MORE", "  wheelhouse: ../wheels"))
    make_wheel(tmp_path / "wheels")
    student = tmp_path / "class" / "ann"
    student.mkdir(parents=True)
    (student / "uses.py").write_text(STUDENT)
    (student / "answers.toml").write_text('homework = "hw1"\n')
    runner = SandboxRunner()
    options = GradeOptions(rubrics_dir=course, runner=runner)

    before = {c.id: c for p in grade([student], options).submissions[0].problems for c in p.checks}
    assert before["run.runs"].status is Status.PENDING, before["run.runs"].message
    assert "gradertinypkg" in before["run.runs"].message

    assert _env(course, "--offline") == ExitCode.OK  # the course's own wheelhouse
    after = {c.id: c for p in grade([student], options).submissions[0].problems for c in p.checks}
    assert after["run.runs"].status is Status.PASSED, after["run.runs"].message
    assert after["value"].status is Status.PASSED, after["value"].message


MODULE_RUBRIC = """schema_version: 1
homework: hw2
title: A class using a course package
problems:
  - id: p1
    points: 1
    checks:
      - {id: net, kind: module, points: 1, symbol: Net, reference: Net, inputs: [[2, 3]],
         output_shapes: [[2, 3]], aspects: {instantiate: 1}}
"""

CLASS_SOURCE = """import torch
import gradertinypkg

data = gradertinypkg.download()  # a starter's top level: never run to grade the class


class Net(torch.nn.Module):
    def forward(self, x):
        return x * gradertinypkg.VALUE
"""


def _plan(tmp_path: Path, env: CourseEnvironment) -> ModuleTarget:
    rubric_path = tmp_path / "hw2.yaml"
    rubric_path.write_text(MODULE_RUBRIC)
    problem = load_rubric(rubric_path).problem("p1")
    folder = tmp_path / "ann"
    folder.mkdir(exist_ok=True)
    (folder / "net.py").write_text(CLASS_SOURCE)
    check = problem.checks[0]
    return plan_module(ingest(folder), problem, check, 0, env)  # type: ignore[arg-type]


def test_a_class_needing_a_declared_package_waits_for_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unprepared: the class goes to a TA (`needs`), with `grade env` named; prepared with the
    package in it: the class is probed, its import kept (the sandbox runs the env's Python);
    undeclared: the import stays for the probe to report, as any missing module of the student."""
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    course = _course(tmp_path)
    env = load_catalog([course]).environment("tiny")
    waiting = _plan(tmp_path, env)
    assert waiting.request is None and waiting.needs == ("gradertinypkg",)
    assert env.folder is not None and env.site_packages is not None
    (env.site_packages / "gradertinypkg").mkdir(parents=True)
    (env.folder / ENV_MARKER).write_text('{"installed": ["gradertinypkg"], "missing": {}}')
    ready = _plan(tmp_path, env)
    assert ready.request is not None and ready.needs == ()
    assert "import gradertinypkg" in ready.files["net.py"]
    assert "download()" not in ready.files["net.py"]
    undeclared = _plan(tmp_path, CourseEnvironment("tiny", ()))
    assert undeclared.request is not None and undeclared.needs == ()


def test_grade_env_names_unknown_courses_and_skips_those_declaring_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENVS_VAR, str(tmp_path / "envs"))
    course = _course(tmp_path)
    assert main(["env", "nosuch", "--rubrics", str(course)]) == ExitCode.USAGE
    assert "unknown course(s) nosuch (known: tiny)" in capsys.readouterr().err
    bare = tmp_path / "bare" / "tiny"  # another folder: catalogs are cached by their folders
    bare.mkdir(parents=True)
    (bare / "course.yaml").write_text("id: tiny\n")
    assert _env(bare) == ExitCode.OK
    assert "tiny: declares no packages; nothing to prepare" in capsys.readouterr().out
    assert not (tmp_path / "envs").exists()
