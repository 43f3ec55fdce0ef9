"""Sanity checks on the sample submissions (tests/data/hw6 and the demo class in submissions/).

Other tests rely on these folders behaving as SCENARIOS.md says; these checks catch a data file
that was broken by accident (an answer sheet that no longer parses, a stray syntax error) before
it shows up as a confusing grader failure. Parsing only: student code is never run here, and this
test does not import torch.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")

REPO = Path(__file__).resolve().parents[2]
SCENARIO_ROOT = REPO / "tests" / "data" / "hw6"
CLASS_ROOT = REPO / "submissions"
SCENARIOS_MD = SCENARIO_ROOT / "SCENARIOS.md"

EXPECTED_SCENARIOS = {
    "correct-modulelist-sequential",
    "correct-three-modulelists",
    "correct-functional",
    "correct-stack-sum",
    "correct-helper-class",
    "correct-final-relu",
    "correct-dtype-float",
    "forward-in-init",
    "wrong-tensor",
    "shared-path",
    "shared-modulelist",
    "chained-paths",
    "inplace-backward",
    "misnamed",
    "missing-class",
    "relu-after-sum",
    "syntax-error",
    "import-error",
    "wrong-answers",
    "missing-answers",
    "bad-toml",
    "forward-bug-and-print",
    "correct-grouped-conv",
    "resnext-merged-bias",
    "no-bias",
    "plain-list",
    "sixteen-paths",
    "tuple-return",
}
EXPECTED_STUDENTS = {"alice", "bob", "carol", "dave", "erin", "frank", "gwen"}
LATEX_ONLY = {"gwen"}  # report.tex + report.pdf, no sheet: tests/scenarios/test_tex_demo.py
BAD_TOML = "bad-toml"
SYNTAX_ERROR = "syntax-error"


def _folders(root: Path) -> list[Path]:
    """Submission folders directly under root (hidden folders and caches are not submissions)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _hw6_students() -> list[Path]:
    """The HW6 demo class: submissions/mfdnn/hw6/, beside the other homeworks' class folders."""
    return _folders(CLASS_ROOT / "mfdnn" / "hw6")


SUBMISSIONS = [*_folders(SCENARIO_ROOT), *(p for p in _hw6_students() if p.name not in LATEX_ONLY)]
PY_FILES = sorted(f for d in SUBMISSIONS for f in d.rglob("*.py") if "__pycache__" not in f.parts)


def _documented_error_line(scenario: str) -> int:
    """The error line SCENARIOS.md promises for a scenario, so doc and data cannot drift apart."""
    rows = SCENARIOS_MD.read_text().splitlines()
    row = next(line for line in rows if line.startswith(f"| {scenario} |"))
    match = re.search(r"at \*\*line (\d+)\*\*", row)
    assert match, f"SCENARIOS.md row for {scenario} does not state the error line: {row}"
    return int(match.group(1))


def test_expected_folders_exist() -> None:
    """Every scenario and demo student the docs list is on disk, and nothing undocumented."""
    assert {p.name for p in _folders(SCENARIO_ROOT)} == EXPECTED_SCENARIOS
    assert {p.name for p in _hw6_students()} == EXPECTED_STUDENTS


@pytest.mark.parametrize("folder", SUBMISSIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_submission_has_python_and_answer_sheet(folder: Path) -> None:
    assert (folder / "answers.toml").is_file()
    assert any(folder.rglob("*.py")), f"{folder} has no .py file"


@pytest.mark.parametrize(
    "folder",
    [d for d in SUBMISSIONS if d.name != BAD_TOML],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_answer_sheet_parses(folder: Path) -> None:
    sheet = tomllib.loads((folder / "answers.toml").read_text())
    assert sheet["homework"] == "hw6"
    assert "p1" in sheet


def test_bad_toml_fails_at_documented_line() -> None:
    text = (SCENARIO_ROOT / BAD_TOML / "answers.toml").read_text()
    line = _documented_error_line(BAD_TOML)
    with pytest.raises(tomllib.TOMLDecodeError, match=rf"at line {line}\b"):
        tomllib.loads(text)


@pytest.mark.parametrize("py_file", PY_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_python_file_parses_unless_syntax_error_scenario(py_file: Path) -> None:
    source = py_file.read_text()
    if py_file.parent.name == SYNTAX_ERROR:
        with pytest.raises(SyntaxError) as excinfo:
            ast.parse(source, filename=str(py_file))
        assert excinfo.value.lineno == _documented_error_line(SYNTAX_ERROR)
    else:
        ast.parse(source, filename=str(py_file))
