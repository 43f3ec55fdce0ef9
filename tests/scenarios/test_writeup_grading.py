"""Writeups and notebooks graded as they come (issue 3), through `grader.pipeline.grade`.

The folders under tests/data/writeups-graded are submissions with no answer sheet and no .py file:
- seed-000, seed-002: the real HW6 writeups of ../shared/seeds (000_*, 002_*), copied unchanged.
- own-style: a plain-text export in another style ("Exercise N." headings, ASCII math, the variance
  in an equivalent but different form, a helper function beside the class) with correct answers.
- notebook: answers in markdown cells, the class in a code cell; notebook-crash: a class whose
  forward crashes, so the report must point at "cell N, line M".
- nothing: a writeup with nothing gradable in it.

The verdicts asserted are the ones a careful TA gives by hand:
- 000: p1 right (ReLU and LeakyReLU commute with dropout, sigmoid does not); p2 mean 0 right;
  p2 variance wrong: "1 + sum 1/(3 n_{l-1})" takes E[A^2] = 1/n where the uniform default
  initialisation gives 1/(3n); p4a 213,504 and 78,592 right; p4b's STMConvLayer has `def forward`
  indented inside `__init__` (writeup line 114).
- 002: p1 written in garbled Korean (pending is acceptable, or right); p2's boxed variance right;
  p4a right; p4b pasted as plain paragraphs whose indentation is lost (a `for` body cannot be
  told apart): pending for a TA, not failed.

All students are graded in one run, on sandbox runs recorded in tests/data/recorded/
(`pytest --record-sandbox` records them again). Only the p5 script probe is left out (it runs a
student's double-descent experiment for tens of seconds and is graded in test_scripts.py): the
runner below drops it, the way `-k` deselects its pytest items.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.courses import load_catalog, rubric_fingerprints
from grader.ingest.submission import ingest
from grader.judges.crashes import locator
from grader.judges.planning import plan_module
from grader.judges.readers import document_answer, problem_label, read_number
from grader.judges.sources import code_hash, ensure_class
from grader.pipeline import GradeOptions, grade
from grader.results import CheckResult, GradeReport, Status, SubmissionResult
from grader.rubric import ModuleCheck, load_rubric
from grader.sandbox.exchange import write_extra_files
from grader.sandbox.jobs import Runner, SandboxJob, SandboxResult

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "writeups-graded"
HW6 = ROOT / "rubrics" / "mfdnn" / "hw6.yaml"
SELECT = "p1 or p2 or p4a or p4b"
FOLDERS = ("seed-000", "seed-002", "own-style", "notebook", "notebook-crash", "nothing")
STM_ASPECTS = ("instantiate", "param_count", "independent", "output_shape", "equivalence")


class WithoutScripts:
    """A runner minus the p5 script probe (deselected here, slow, tested elsewhere)."""

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.isolation = inner.isolation

    def run(self, job: SandboxJob) -> SandboxResult:
        requests = tuple(r for r in job.requests if r.kind != "script")
        return self.inner.run(replace(job, requests=requests))


@pytest.fixture
def runner(recorded_runner: Any) -> WithoutScripts:
    return WithoutScripts(recorded_runner())


def _line_of(path: Path, needle: str) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert hits, f"{needle!r} not in {path}"
    return hits[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def report(recorded_runner: Any) -> GradeReport:
    before = {name: _snapshot(DATA / name) for name in FOLDERS}
    runner = WithoutScripts(recorded_runner())
    graded = grade([DATA / name for name in FOLDERS], GradeOptions(select=SELECT, runner=runner))
    after = {name: _snapshot(DATA / name) for name in FOLDERS}
    assert after == before, "generated sources must go to the sandbox's copy, never the folder"
    return graded


def _student(report: GradeReport, name: str) -> SubmissionResult:
    (found,) = [s for s in report.submissions if s.student == name]
    assert found.error is None, found.error
    return found


def _check(sub: SubmissionResult, problem: str, check: str) -> CheckResult:
    (found,) = [c for p in sub.problems if p.id == problem for c in p.checks if c.id == check]
    return found


def _status(sub: SubmissionResult, problem: str, check: str) -> Status:
    return _check(sub, problem, check).status


# --- seed 000 ---------------------------------------------------------------------------------


def test_seed_000_is_recognised_as_hw6_from_its_content(report: GradeReport) -> None:
    sub = _student(report, "seed-000")
    assert sub.homework == "mfdnn/hw6"
    assert any("recognised from the content" in n for n in sub.notes)


def test_seed_000_answers_graded_from_the_writeup(report: GradeReport) -> None:
    sub = _student(report, "seed-000")
    writeup = DATA / "seed-000" / "writeup.md"
    p1 = _check(sub, "p1", "equivalent")
    assert p1.status is Status.PASSED, p1.message
    assert p1.details[0].startswith("answer read from writeup.md:")
    mean = _check(sub, "p2", "mean")
    assert mean.status is Status.PASSED, mean.message
    variance = _check(sub, "p2", "variance")
    assert variance.status is Status.FAILED, variance.message
    assert variance.score == 0
    # the wrong answer is the one the student boxed in the end: "\therefore E[y_L^2] = 1 + ..."
    assert variance.source is not None and variance.source.file == "writeup.md"
    assert variance.source.line == _line_of(
        writeup, r"\therefore \mathbb{E}\left[\left(\mathbf{y}_L"
    )
    naive, stm = _check(sub, "p4a", "params_naive"), _check(sub, "p4a", "params_stm")
    assert (naive.status, stm.status) == (Status.PASSED, Status.PASSED), (naive, stm)
    assert naive.source is not None and naive.source.line == _line_of(writeup, "= 213,504")
    assert stm.source is not None and stm.source.line == _line_of(writeup, "= 78,592")


def test_seed_000_forward_nested_in_init_is_reported_at_the_writeup_line(
    report: GradeReport,
) -> None:
    sub = _student(report, "seed-000")
    writeup = DATA / "seed-000" / "writeup.md"
    forward = _line_of(writeup, "def forward(self,x)")
    assert _status(sub, "p4b", "stm.instantiate") is Status.PASSED
    # 32 independent paths, as reported; no forward proves those tensors are used: for a TA
    assert _status(sub, "p4b", "stm.param_count") is Status.PENDING
    for aspect in ("output_shape", "equivalence", "backward"):
        result = _check(sub, "p4b", f"stm.{aspect}")
        assert result.status is Status.ERROR, result.message
        assert f"writeup.md:{forward} is indented inside `__init__`" in result.message
        assert result.source is not None
        assert (result.source.file, result.source.line) == ("writeup.md", forward)
    class_line = _line_of(writeup, "class STMConvLayer")
    source = _check(sub, "p4b", "stm.instantiate").source
    assert source is not None and (source.file, source.line) == ("writeup.md", class_line)
    assert any(
        n.startswith("STMConvLayer taken from writeup.md lines") and "added imports" in n
        for n in sub.notes
    ), sub.notes


# --- seed 002 ---------------------------------------------------------------------------------


def test_seed_002_formula_and_counts(report: GradeReport) -> None:
    sub = _student(report, "seed-002")
    writeup = DATA / "seed-002" / "writeup.md"
    p1 = _check(sub, "p1", "equivalent")
    assert p1.status in (Status.PASSED, Status.PENDING), p1.message
    if p1.status is Status.PENDING:  # garbled Korean: the TA sees the verdict line
        assert any("LeakyReLU" in d for d in p1.details), p1.details
    variance = _check(sub, "p2", "variance")
    assert variance.status is Status.PASSED, variance.message
    assert variance.source is not None and variance.source.line == _line_of(writeup, r"\boxed")
    assert _status(sub, "p2", "mean") is Status.PASSED
    assert _status(sub, "p4a", "params_naive") is Status.PASSED
    assert _status(sub, "p4a", "params_stm") is Status.PASSED


def test_seed_002_class_pasted_as_prose_is_pending_with_the_excerpt(report: GradeReport) -> None:
    sub = _student(report, "seed-002")
    for aspect in STM_ASPECTS:
        result = _check(sub, "p4b", f"stm.{aspect}")
        assert result.status is Status.PENDING, result.message
        assert result.score == 0
        assert "plain text" in result.message and "writeup.md:110" in result.message
        assert any("self.convlayers1 = nn.ModuleList" in d for d in result.details)


# --- writeups and notebooks of our own ------------------------------------------------------


def test_own_style_writeup_earns_full_credit(report: GradeReport) -> None:
    sub = _student(report, "own-style")
    graded = [p for p in sub.problems if p.id in ("p1", "p2", "p4a", "p4b")]
    assert all(c.status is Status.PASSED for p in graded for c in p.checks), [
        (c.id, c.message) for p in graded for c in p.checks if c.status is not Status.PASSED
    ]
    assert sum(p.score for p in graded) == sum(p.max_score for p in graded) == 18
    assert _check(sub, "p2", "variance").details[0].startswith("answer read from report.txt:")


def test_notebook_is_graded_with_cells_as_sources(report: GradeReport) -> None:
    sub = _student(report, "notebook")
    graded = [p for p in sub.problems if p.id in ("p1", "p2", "p4a", "p4b")]
    assert sum(p.score for p in graded) == 18, [
        (c.id, c.message) for p in graded for c in p.checks if c.status is not Status.PASSED
    ]
    assert "hw6.ipynb, cell 4, line 5" in _check(sub, "p4a", "params_stm").details[0]
    assert any(n.startswith("STMConvLayer taken from hw6.ipynb cells") for n in sub.notes)


def test_notebook_crash_points_at_cell_and_line(report: GradeReport) -> None:
    sub = _student(report, "notebook-crash")
    result = _check(sub, "p4b", "stm.output_shape")
    assert result.status is Status.ERROR
    # cell 4 holds the class; its 17th line is `return sum(path(flat) ...)`
    assert "RuntimeError during forward on input 0 at solutions.ipynb, cell 4, line 17" in (
        result.message
    )
    assert result.details[0].startswith("solutions.ipynb, cell 4, line 17: return sum(")
    assert _status(sub, "p4b", "stm.param_count") is Status.PENDING  # forward crashed: a TA's
    # the notebook answers only p4b: the other problems wait for a TA, they are not failed
    assert _status(sub, "p1", "equivalent") is Status.PENDING


def test_nothing_recognisable_is_pending_with_a_clear_message(report: GradeReport) -> None:
    sub = _student(report, "nothing")
    checks = {
        f"{p.id}.{c.id}": c for p in sub.problems if p.id in ("p1", "p2", "p4a") for c in p.checks
    }
    assert all(c.status is Status.PENDING and c.score == 0 for c in checks.values()), checks
    assert "no section for problem 1 found in writeup.md" in checks["p1.equivalent"].message
    assert any("Dear professor" in d for d in checks["p1.equivalent"].details)
    stm = _check(sub, "p4b", "stm.instantiate")
    assert stm.status is Status.PENDING
    assert "no class STMConvLayer" in stm.message


# --- one student at a time ------------------------------------------------------------------


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    return target


def test_unrecognised_writeup_alone_names_the_homework_option(
    tmp_path: Path, runner: WithoutScripts
) -> None:
    folder = _copy("nothing", tmp_path)
    report = grade([folder], GradeOptions(select=SELECT, runner=runner))
    (sub,) = report.submissions
    assert sub.error is not None and "--homework" in sub.error


def test_answer_sheet_comes_before_the_writeup(tmp_path: Path, runner: WithoutScripts) -> None:
    folder = _copy("seed-000", tmp_path)
    (folder / "answers.toml").write_text('homework = "hw6"\n[p4a]\nparams_naive = 1\n')
    (sub,) = grade([folder], GradeOptions(select="p4a", runner=runner)).submissions
    naive, stm = _check(sub, "p4a", "params_naive"), _check(sub, "p4a", "params_stm")
    assert naive.status is Status.FAILED and naive.source is not None
    assert naive.source.file == "answers.toml"
    assert not any("answer read from" in d for d in naive.details)
    assert stm.status is Status.PASSED  # not on the sheet: read from the writeup
    assert stm.source is not None and stm.source.file == "writeup.md"


def test_a_readme_does_not_turn_a_missing_answer_into_a_pending_one(
    tmp_path: Path, runner: WithoutScripts
) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n[p4a]\nparams_naive = 213504\n')
    (folder / "README.md").write_text("# My submission\n\nRun `python stm.py`.\n")
    (sub,) = grade([folder], GradeOptions(select="p4a", runner=runner)).submissions
    stm = _check(sub, "p4a", "params_stm")
    assert stm.status is Status.FAILED and stm.message.startswith("not answered")


@pytest.mark.parametrize(
    ("section", "naive", "stm"),
    [
        # one count only: the other check must not read it, and must not fail for our parser
        ("(a) The plain layer has 213,504 parameters.\n", Status.PENDING, Status.PENDING),
        # the expected values are not searched for: first and last decide. Here swapped, so
        # each reading is wrong, but the section states the other result too: a TA says which
        # answers which (it used to fail both, 2 points lost by a right answer)
        (
            "(a) STM: 78,592 parameters. Plain: 213,504 parameters.\n",
            Status.PENDING,
            Status.PENDING,
        ),
        # both wrong, in order: no other result of the section is right, so both fail
        ("(a) Plain: 213,000 parameters. STM: 78,000 parameters.\n", Status.FAILED, Status.FAILED),
        # one wrong, the other right: the wrong one is not rescued by the right one
        ("(a) Plain: 213,504 parameters. STM: 78,000 parameters.\n", Status.PASSED, Status.FAILED),
        ("(a) Nothing here yet.\n", Status.PENDING, Status.PENDING),
        # dots grouping thousands, as many countries write them: a TA says which was meant
        # (they used to fail as 213.504 and 78.592)
        (
            "(a) Plain: 213.504 parameters. STM: 78.592 parameters.\n",
            Status.PENDING,
            Status.PENDING,
        ),
        ("(a) Plain: 213.505 parameters. STM: 78.593 parameters.\n", Status.FAILED, Status.FAILED),
        # one number stated twice, the other in words the reader does not take as a result
        # ('135k fewer'): the first reading stands, the last would answer a second question
        # with the same number (it used to fail the STM count, a right answer in words)
        (
            "(a) Plain: 213,504 parameters; the STM layer needs 134,912 fewer. "
            "Check: 3 * 71168 = 213504\n",
            Status.PASSED,
            Status.PENDING,
        ),
        # scientific notation keeps the digits written: the right counts rounded are a TA's
        # call (they used to fail as 210,000 and 79,000), exact ones pass, wrong ones fail
        (
            "(a) Plain: $\\approx 2.1 \\times 10^5$ parameters; STM: $\\approx 7.9 \\times "
            "10^4$ parameters.\n",
            Status.PENDING,
            Status.PENDING,
        ),
        (
            "(a) Plain = $2.13504 \\times 10^5$, STM = $7.8592 \\times 10^{4}$\n",
            Status.PASSED,
            Status.PASSED,
        ),
        (
            "(a) Plain = $2.0 \\times 10^5$, STM = $8.1 \\times 10^4$\n",
            Status.FAILED,
            Status.FAILED,
        ),
    ],
)
def test_numbers_follow_the_rubric_rule_not_the_expected_value(
    tmp_path: Path, section: str, naive: Status, stm: Status, runner: WithoutScripts
) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "writeup.md").write_text(f"# HW 6\n\n## 4\n\n{section}\n(b) see code\n")
    (sub,) = grade([folder], GradeOptions(select="p4a", runner=runner)).submissions
    assert _status(sub, "p4a", "params_naive") is naive
    assert _status(sub, "p4a", "params_stm") is stm


@pytest.mark.parametrize(
    ("answer", "status", "score"),
    [
        # right, in the forms a writeup states an answer; "all except sigmoid" used to choose
        # sigmoid alone (0/3), and "..., but not sigmoid" all three (2/3)
        ("Answer: all except sigmoid.", Status.PASSED, 3),
        ("Answer: ReLU and LeakyReLU, but not sigmoid.", Status.PASSED, 3),
        ("Answer: (a) and (c), since sigmoid(0) = 1/2.", Status.PASSED, 3),
        ("Final answer: not sigmoid", Status.PASSED, 3),
        # wrong: read as written, so partial credit counts what was chosen
        ("Answer: all except ReLU.", Status.FAILED, 1),
        ("Answer: all three are equivalent.", Status.FAILED, 2),
    ],
)
def test_answer_line_in_a_writeup_is_read_for_what_it_chooses(
    tmp_path: Path, answer: str, status: Status, score: float, runner: WithoutScripts
) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "writeup.md").write_text(f"# Homework 6\n\n## Problem 1\n{answer}\n\n## Problem 2\n")
    (sub,) = grade([folder], GradeOptions(select="p1", runner=runner)).submissions
    check = _check(sub, "p1", "equivalent")
    assert check.status is status, check.message
    assert check.score == pytest.approx(score)


def test_generated_module_maps_lines_and_keys_the_cache() -> None:
    sub = ingest(DATA / "seed-000")
    rubric = load_rubric(HW6)
    problem = rubric.problem("p4b")
    check = next(c for c in problem.checks if isinstance(c, ModuleCheck))
    target = plan_module(sub, problem, check, run_seed=0)
    assert target.request is not None
    path = target.request.spec["file"]
    gen = sub.generated[path]
    assert path == "_from_writeup/STMConvLayer.py" and gen.origin.file == "writeup.md"
    assert target.request.spec["generated"] == code_hash(gen)  # cache key follows the source
    where = locator(sub)
    assert where.text(path, 1) == "writeup.md"  # `import torch`, added by the assembler
    class_line = gen.source.splitlines().index("class STMConvLayer(nn.Module):") + 1
    assert where.text(path, class_line) == f"writeup.md:{gen.line_map[class_line - 1]}"
    assert where.text("stm.py", 3) == "stm.py:3"  # the student's own files are left alone
    assert ensure_class(sub, "STMConvLayer") is gen  # built once


def test_write_extra_files_stays_inside_the_copy(tmp_path: Path) -> None:
    write_extra_files(tmp_path, {"_from_writeup/A.py": "x = 1\n"})
    assert (tmp_path / "_from_writeup" / "A.py").read_text() == "x = 1\n"
    for bad in ("../escape.py", "/tmp/abs.py", ".hidden/x.py", "a/../../b.py"):
        with pytest.raises(ValueError):
            write_extra_files(tmp_path / "sub", {bad: "x"})
    assert not (tmp_path.parent / "escape.py").exists()


def test_problem_labels() -> None:
    assert problem_label("p4a") == ("4", "a")
    assert problem_label("p2") == ("2", "")
    assert problem_label("q3ii") == ("3", "ii")
    assert problem_label("4b") == ("4", "b")


def test_document_answers_need_documents() -> None:
    sub = ingest(DATA / "seed-000")
    rubric = load_rubric(HW6)
    p4a = rubric.problem("p4a")
    assert document_answer(sub, p4a, p4a.checks[0], read_number) is not None
    sub.documents.clear()
    assert document_answer(sub, p4a, p4a.checks[0], read_number) is None


def test_ingest_reads_documents_in_precedence_order(tmp_path: Path) -> None:
    folder = tmp_path / "student"
    (folder / "notes").mkdir(parents=True)
    (folder / "writeup.md").write_text("# HW 6\n")
    (folder / "notes" / "analysis.ipynb").write_text('{"cells": [], "nbformat": 4}')
    (folder / "broken.ipynb").write_text("{not json")
    (folder / "requirements.txt").write_text("torch\n")
    sub = ingest(folder)
    assert [(d.file, d.kind) for d in sub.documents] == [
        ("notes/analysis.ipynb", "notebook"),
        ("writeup.md", "writeup"),
    ]
    (problem,) = sub.parse_problems
    assert problem.file == "broken.ipynb" and "not valid notebook JSON" in problem.message


def test_unsure_homework_is_a_note_naming_the_option(tmp_path: Path) -> None:
    folder = tmp_path / "student"
    folder.mkdir()
    body = "\n".join(f"line {i}" for i in range(20))
    (folder / "writeup.md").write_text(f"My answers\n{body}\nas in HW 6, the layer ...\n")
    sub = ingest(folder, fingerprints=rubric_fingerprints(load_catalog()))
    assert sub.homework is None
    assert any("pass --homework mfdnn/hw6" in n for n in sub.notes), sub.notes
