"""Issue 13, classes 2-4: hostile files that made the grader's OWN work unbounded.

Each attack is built in tmp_path at test time (a sparse 1 TiB file costs no disk) and handed to
the grader in a subprocess with a memory limit (RLIMIT_AS) and a wall-clock timeout: the bound
is what the test measures, never a timed assertion on a fast path. Where a batch is graded, an
honest classmate graded beside the attacker must get exactly the grades she gets alone.

What each test caught before the fix:
- 1,500 nested folders: RecursionError out of the folder walk (`os.walk` recurses);
- a sparse 1 TiB file: MemoryError in ingest (read before its size was checked), and the cache
  key hashed every byte of every file;
- 60,000 keys in answers.toml: a scan of the sheet per key (hours);
- blank lines before `homework =`: a `^\\s*` pre-scan, quadratic in blank lines;
- 700,000 one-line headings: the section finder scanned all headings per problem;
- blank runs in headings and formulas: chained `\\s*` backtracking (a 10,000-space line forever);
- unclosed `\\[` in a writeup: the display-math regex rescanned to the end per opener;
- a 64 MiB notebook of empty objects: 1.7 GB of grader memory;
- no budget: a slow student delayed the batch, with nothing reported;
- a 3,000-deep folder chain left in the scratch copy: `shutil.rmtree` raised RecursionError,
  the folder stayed, and the student's code ran again for every check;
- SIGTERM: worker folders left in /tmp.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from grader.ingest.files import MAX_DEPTH
from grader.ingest.submission import MAX_DOCUMENTS, ingest
from grader.sandbox.confinement import bubblewrap_available
from grader.sandbox.exchange import remove_stale_scratch, remove_tree

REPO = Path(__file__).resolve().parents[2]
ALICE = REPO / "submissions" / "mfdnn" / "hw6" / "alice"
ANSWERS_ONLY = "not p5 and not p4b"  # answer checks only: no student code runs
GIB = 2**30


# Hostile inputs of real size, each in a bounded subprocess: seconds to minutes apiece.
pytestmark = pytest.mark.slow


def bounded(
    code: str, *, timeout: float, memory: int = 2 * GIB, env: dict[str, str] | None = None
) -> str:
    """Run `code` in a fresh interpreter (cwd: the repo) under RLIMIT_AS=`memory` and a timeout;
    return its stdout. A limit hit fails the test with what happened."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=limit,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the grader's work was not bounded: still running after {timeout:g} s")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


GRADE_BOTH = """
    import json, sys
    from pathlib import Path
    from grader.pipeline import GradeOptions, grade
    folders = [Path(p) for p in sys.argv[1:]] if len(sys.argv) > 1 else {folders!r}
    report = grade([Path(f) for f in folders], GradeOptions(jobs=1, select={select!r}))
    print(report.model_dump_json())
"""


def grade_bounded(
    folders: list[Path], *, timeout: float, memory: int = 2 * GIB, **kw: Any
) -> dict[str, Any]:
    """`grade` over `folders` (answer checks only) in a bounded subprocess; students by name."""
    code = GRADE_BOTH.format(folders=[str(f) for f in folders], select=ANSWERS_ONLY)
    report = json.loads(bounded(code, timeout=timeout, memory=memory, **kw).splitlines()[-1])
    return {s["student"]: s for s in report["submissions"]}


def honest(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "answers.toml").write_bytes((ALICE / "answers.toml").read_bytes())
    return folder


@pytest.fixture(autouse=True)
def _deep_chains_removed(tmp_path: Path) -> Any:
    """Remove what a test left in tmp_path without recursion: pytest's own clean-up of old
    temporary folders (a later session's) uses `shutil.rmtree`, which a 1,500-deep chain stops
    with a RecursionError."""
    yield
    os.chmod(tmp_path, 0o700)
    remove_tree(tmp_path, keep_root=True)


@pytest.fixture(scope="module")
def alice_alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = honest(tmp_path_factory.mktemp("alone") / "alice")
    return grade_bounded([folder], timeout=300)["alice"]


def verdicts(result: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {
        f"{p['id']}.{c['id']}": (c["status"], c["score"])
        for p in result["problems"]
        for c in p["checks"]
    }


def assert_alice_as_alone(graded: dict[str, Any], alone: dict[str, Any]) -> None:
    assert verdicts(alone), "control: alice alone was graded"
    assert verdicts(graded["alice"]) == verdicts(alone)
    assert graded["alice"]["score"] == alone["score"]


def nested_chain(top: Path, depth: int, name: str = "d") -> None:
    """`depth` folders, each inside the last, made through directory fds (the full path would
    pass PATH_MAX), with a file every 100 levels."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
            if level % 100 == 0:
                os.close(os.open("x.py", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# class 2: one submission stops the batch


def test_deeply_nested_folders_do_not_stop_the_batch(
    tmp_path: Path, alice_alone: dict[str, Any]
) -> None:
    attacker = honest(tmp_path / "nested")
    nested_chain(attacker / "deep", 1_500)
    graded = grade_bounded([attacker, honest(tmp_path / "alice")], timeout=300)
    assert_alice_as_alone(graded, alice_alone)
    assert graded["nested"]["error"] is None
    assert verdicts(graded["nested"]) == verdicts(alice_alone)  # its own answers still count
    notes = " ".join(graded["nested"]["notes"])
    assert f"nested over {MAX_DEPTH} deep" in notes


def test_sparse_terabyte_files_are_never_read(tmp_path: Path, alice_alone: dict[str, Any]) -> None:
    """1 TiB files (sparse: no disk) as data, writeup, notebook, code and answer sheet: ingest,
    the scratch copy's plan and the cache key run in 1 GiB, and alice is graded as alone."""
    attacker = tmp_path / "sparse"
    attacker.mkdir()
    for name in ("data.bin", "report.md", "notes.ipynb", "huge.py", "answers.toml"):
        with (attacker / name).open("wb") as fh:
            fh.truncate(2**40)
    graded = grade_bounded([attacker, honest(tmp_path / "alice")], timeout=300, memory=GIB)
    assert_alice_as_alone(graded, alice_alone)
    assert graded["sparse"]["error"] is None or "answers.toml" in graded["sparse"]["error"]
    out = bounded(
        f"""
        from pathlib import Path
        from grader.sandbox.cache import job_key
        from grader.sandbox.exchange import copy_plan
        from grader.sandbox.jobs import Limits, SandboxJob
        root = Path({str(attacker)!r})
        skipped = []
        print(len(copy_plan(root, skipped)), len(skipped))
        print(job_key(SandboxJob(root, (), {{}}, Limits())))
        """,
        timeout=120,
        memory=GIB,
    )
    planned, skipped, key = out.split()
    assert (planned, skipped) == ("0", "5")
    assert len(key) == 64


def test_too_many_documents_are_capped_and_noted(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(MAX_DOCUMENTS + 30):
        (folder / f"w{index:03}.md").write_text(f"# Problem 1\n\nanswer {index}\n")
    sub = ingest(folder)
    assert len(sub.documents) == MAX_DOCUMENTS
    assert any("30 writeups and notebooks beyond" in note for note in sub.notes)


# --------------------------------------------------------------------------------------------
# class 3: unbounded work in the grader's process


def test_answer_sheet_with_60000_keys_is_read_in_bounded_time(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    lines = ['homework = "hw6"', "[p9]"] + [f"k{i} = {i}" for i in range(60_000)]
    (folder / "answers.toml").write_text("\n".join(lines) + "\n")
    out = bounded(
        f"""
        from pathlib import Path
        from grader.ingest.submission import ingest
        sub = ingest(Path({str(folder)!r}))
        print(len(sub.answers), sub.answers["p9.k59999"].source.line)
        """,
        timeout=120,
    )
    assert out.split() == ["60001", str(60_002)]


def test_blank_lines_before_the_homework_line_cost_linear_time(tmp_path: Path) -> None:
    """Just under the sheet's 1 MiB cap of blank lines: the old `^\\s*homework` pre-scan was
    quadratic in them (about 12 minutes here); the homework is still found."""
    folder = tmp_path / "blank"
    folder.mkdir()
    # `x = 1` stops each line start's `\s*` run short of a match: every blank line rescans the
    # rest of the blank lines
    (folder / "answers.toml").write_bytes(b"\n" * (2**20 - 100) + b'x = 1\nhomework = "hw6"\n')
    out = bounded(
        f"""
        from pathlib import Path
        from grader.ingest.submission import ingest
        print(ingest(Path({str(folder)!r})).homework)
        """,
        timeout=120,
    )
    assert out.strip() == "hw6"


def test_many_one_line_headings_cost_linear_time(tmp_path: Path) -> None:
    """150,000 one-line headings (the issue's 700,000 fill the 2 MiB writeup cap and took about
    1.5 hours): the old section finder scanned every heading per problem, hours here too; the
    bound below is minutes on a busy machine, seconds on an idle one."""
    folder = tmp_path / "headings"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n')
    (folder / "writeup.md").write_text("#1\n" * 150_000)
    out = bounded(
        f"""
        from pathlib import Path
        from grader.ingest.submission import ingest
        from grader.ingest.writeup import MAX_HEADINGS
        sub = ingest(Path({str(folder)!r}), budget_s=10_000)
        print(sub.not_graded, len(sub.documents[0].sections) == MAX_HEADINGS)
        """,
        timeout=300,
    )
    assert out.split() == ["None", "True"]  # read to the end, the sections capped


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(" \t" * 1_500 + "Problem x", id="keyword-heading"),
        pytest.param("##" + " " * 9_000 + "x", id="hash-heading"),
        pytest.param("x =" + " \t" * 3_000 + "y 1 = 2" + " \t" * 1_000, id="plain-formula"),
    ],
)
def test_blank_runs_in_a_writeup_cost_linear_time(line: str) -> None:
    """Lines of blank runs: heading patterns and formula rows chain `\\s*` around optional
    parts, which backtracked polynomially (each such line took seconds to hours)."""
    out = bounded(
        f"""
        from grader.ingest.documents import read_document
        from grader.ingest.latex import find_formulas
        text = {line!r} + "\\n"
        text = text * (2_000_000 // len(text) + 1)  # the writeup cap
        doc = read_document(text.encode(), "w.md")
        print(len(doc.sections), len(find_formulas(text)))
        """,
        timeout=120,
    )
    assert len(out.split()) == 2


def test_unclosed_display_math_costs_linear_time() -> None:
    """Each unclosed `\\[` made the display-math regex scan to the end of the section: 20,000 of
    them took 106 s here, 39,000 about four times that."""
    out = bounded(
        """
        from grader.ingest.latex import find_formulas
        text = "\\\\[ x\\n" * 39_000 + "$$ y = 2 $$\\n"  # just under the 200,000-character cap
        print([f.rhs for f in find_formulas(text)][-1:])
        """,
        timeout=120,
    )
    assert out.strip() == "['2']"


def test_notebook_of_empty_objects_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    """64 MiB of `{},` parsed cost 1.7 GB: the notebook is refused, in 1 GiB, with a reason."""
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "answers.toml").write_text('homework = "hw6"\n')
    with (folder / "hw.ipynb").open("wb") as fh:
        fh.write(b'{"nbformat": 4, "cells": [], "x": [')
        fh.write(b"{}," * ((64 * 2**20 - 100) // 3))
        fh.write(b"{}]}")
    out = bounded(
        f"""
        from pathlib import Path
        from grader.ingest.submission import ingest
        sub = ingest(Path({str(folder)!r}))
        print([p.message for p in sub.parse_problems])
        """,
        timeout=120,
        memory=GIB,
    )
    assert "too many JSON values" in out


def test_a_student_over_the_ingest_budget_is_not_graded_alone(
    tmp_path: Path, alice_alone: dict[str, Any]
) -> None:
    """A writeup that takes seconds to read, against a 1 s budget: that student gets
    'not graded: ...' and no checks; alice, beside, is graded exactly as alone."""
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "answers.toml").write_text('homework = "hw6"\n')
    for index in range(MAX_DOCUMENTS):
        (slow / f"w{index:02}.md").write_text("## 1\n(a)\n\n### x\n" * 120_000)
    graded = grade_bounded(
        [slow, honest(tmp_path / "alice")],
        timeout=600,
        env={"GRADER_INGEST_BUDGET_S": "1"},
    )
    assert_alice_as_alone(graded, alice_alone)
    error = graded["slow"]["error"]
    assert error is not None and error.startswith("not graded: reading the files took longer")
    assert graded["slow"]["problems"] == []


# --------------------------------------------------------------------------------------------
# class 4: leftovers outside the sandbox's accounting


def test_scratch_removal_survives_a_3000_deep_chain(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    nested_chain(root / "sub", 3_000, name="abcdefgh")  # 27,000-byte path: past PATH_MAX
    os.chmod(root / "sub", 0o000)
    out = bounded(
        f"""
        from pathlib import Path
        from grader.sandbox.exchange import remove_tree
        root = Path({str(root)!r})
        print(remove_tree(root / "sub", keep_root=False), sorted(p.name for p in root.iterdir()))
        """,
        timeout=120,
    )
    assert out.split(maxsplit=1) == ["True", "[]\n"] or out.strip() == "True []"


def test_stale_scratch_of_a_dead_grader_is_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"grader-worker-{dead_pid}-abc"
    nested_chain(stale / "sub", 1_200)
    alive = tmp_path / f"grader-run-{os.getppid()}-def"  # our parent lives on
    alive.mkdir()
    other = tmp_path / "grader-worker-notapid"
    other.mkdir()
    assert remove_stale_scratch(tmp_path) == [stale.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


needs_bwrap = pytest.mark.skipif(
    not bubblewrap_available(), reason="warm workers need bubblewrap (user namespaces)"
)


@needs_bwrap
@pytest.mark.sandbox
def test_sigterm_removes_the_worker_folders(tmp_path: Path) -> None:
    code = f"""
        import tempfile, time
        tempfile.tempdir = {str(tmp_path)!r}
        from grader.sandbox.runner import SandboxRunner
        runner = SandboxRunner(use_bwrap=True, warm=True)
        runner.prestart()
        print("ready", flush=True)
        time.sleep(600)
    """
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 120
            while not list(tmp_path.glob("grader-worker-*/io/probe.py")):
                assert time.monotonic() < deadline, "control: the worker never started"
                time.sleep(0.2)
            time.sleep(2.0)  # the worker is up and idle
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == -signal.SIGTERM
        finally:
            if proc.poll() is None:
                proc.kill()
    assert list(tmp_path.iterdir()) == []


DEEP_STM = """
import os
import torch.nn as nn

fd = os.open(".", os.O_RDONLY)
for _ in range(3000):  # a folder chain the grader's clean-up must survive
    os.mkdir("d", dir_fd=fd)
    inner = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
os.close(fd)
"""


@needs_bwrap
@pytest.mark.sandbox
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_deep_scratch_left_by_student_code_runs_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    """Student code leaves 3,000 nested folders in its scratch copy: the run is cleaned up, the
    scratch root is empty afterwards, and the student's code ran once per probe, not once per
    check (it ran 9 times when the clean-up raised RecursionError)."""
    from grader.pipeline import GradeOptions, grade
    from grader.sandbox.runner import SandboxRunner

    attacker = honest(tmp_path / "class" / "deep")
    stm = (ALICE / "stm.py").read_text()
    (attacker / "stm.py").write_text(DEEP_STM + stm)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    inner = SandboxRunner(use_bwrap=True, warm=warm)
    calls: list[str] = []

    class Counting:
        isolation = inner.isolation

        def run(self, job: Any) -> Any:
            calls.extend(req.id for req in job.requests)
            return inner.run(job)

        def close(self) -> None:
            inner.close()

    report = grade([attacker], GradeOptions(jobs=1, select="p4b", runner=Counting()))
    [result] = report.submissions
    checks = [c for p in result.problems for c in p.checks if c.id.startswith("stm.")]
    assert len(checks) >= 6  # control: the module's aspects were judged
    assert not [c.message for c in checks if c.message.startswith("internal grader error")]
    assert sorted(calls) == sorted(set(calls)), f"the student's code ran again: {calls}"
    assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------------------------
# the judging budget: CPU time and memory of judging, per student (grader/judges/budget.py)

BUDGET_COURSE = "id: budgetcourse\ntitle: A course whose check costs what the answer says\n"
BUDGET_RUBRIC = """\
schema_version: 1
homework: hw9
title: Work on demand
problems:
  - id: p1
    title: "n"
    points: 2
    checks:
      - id: n
        kind: number
        points: 1
        expected: 7
      - id: work
        kind: custom
        points: 1
        function: check_work
"""
# An instructor's check that, naively, does work in proportion to the student's answer: a
# judge made slow (`spin`) or memory-hungry (`hoard`, MiB kept) by what the student wrote.
BUDGET_CHECKS = """\
def check_work(submission):
    answer = submission.answers.get("p1.n")
    n = int(answer.value)
    mode = submission.answers.get("p1.mode")
    kept = []
    for i in range(n):
        if mode is not None and mode.value == "hoard":
            kept.append(b"x" * 2**20)
    assert n == 7 or kept is None
"""


def budget_student(root: Path, name: str, n: int, mode: str = "spin") -> Path:
    folder = root / "class" / name
    folder.mkdir(parents=True)
    (folder / "answers.toml").write_text(f'homework = "hw9"\n\n[p1]\nn = {n}\nmode = "{mode}"\n')
    return folder


GRADE_BUDGET = """
    import json, sys
    from pathlib import Path
    from grader.pipeline import GradeOptions, grade
    report = grade([Path(sys.argv[1])], GradeOptions(jobs=1, rubrics_dir=Path(sys.argv[2])))
    print(report.model_dump_json())
"""


@pytest.mark.parametrize(
    ("mode", "n", "env", "reason"),
    [
        # 10**12 loop steps: hours of CPU without the budget
        ("spin", 10**12, {"GRADER_JUDGE_CPU_S": "3"}, "judging exceeded its 3 s of CPU time"),
        # 100 GiB kept: the 3 GiB RLIMIT_AS of the subprocess would end the batch without it
        ("hoard", 100 * 1024, {"GRADER_JUDGE_MEMORY_MB": "256"}, "judging exceeded its 256 MiB"),
    ],
)
def test_a_student_over_the_judging_budget_is_not_graded_alone(
    tmp_path: Path, mode: str, n: int, env: dict[str, str], reason: str
) -> None:
    course = tmp_path / "course"
    course.mkdir()
    (course / "course.yaml").write_text(BUDGET_COURSE)
    (course / "hw9.yaml").write_text(BUDGET_RUBRIC)
    (course / "hw9_checks.py").write_text(BUDGET_CHECKS)
    budget_student(tmp_path, "alice", 7, mode)
    budget_student(tmp_path, "mallory", n, mode)  # judged between the two honest ones
    budget_student(tmp_path, "zoe", 7, mode)
    code = GRADE_BUDGET
    out = bounded(
        code.replace("sys.argv[1]", repr(str(tmp_path / "class"))).replace(
            "sys.argv[2]", repr(str(course))
        ),
        timeout=240,
        memory=3 * GIB,
        env=env,
    )
    graded = {s["student"]: s for s in json.loads(out.splitlines()[-1])["submissions"]}
    for name in ("alice", "zoe"):
        assert graded[name]["error"] is None, graded[name]
        assert graded[name]["score"] == 2.0  # control: the check passes on an honest answer
    mallory = graded["mallory"]
    assert mallory["error"] is not None and mallory["error"].startswith("not graded: " + reason), (
        mallory
    )
    assert mallory["homework"] == "budgetcourse/hw9" and mallory["score"] == 0.0


def test_tables_and_ocr_scoring_cost_linear_time() -> None:
    """The table readers added for LaTeX and PDF writeups (values down or across, choices per
    row) and the OCR text score on 150,000 rows each: one pass per line, seconds."""
    out = bounded(
        """
        from grader.ingest.ocr import ocr_quality
        from grader.ingest.writeup import extract_choices
        from grader.judges.values import equations
        rows = "w_1 w_2 w_3\\n" + "0.1 0.2 0.3\\n" * 150_000 + "w_1    0.5    0.25\\n" * 150_000
        print(len(equations(rows)) > 0)
        table = "| ReLU | Yes |\\n" * 150_000 + "| | ReLU | Sigmoid |\\n" * 150_000
        print(extract_choices(table, {"relu": ["ReLU"], "sigmoid": ["Sigmoid"]})[0] == {"relu"})
        print(ocr_quality("Ine vadaue wey Pr " * 400_000).is_text)
        # runs of capitals and of spaces that a backtracking pattern splits in every way
        print(ocr_quality(" ".join(["A" * 5_000 + "1"] * 200)).is_text)
        from grader.ingest.writeup import extract_result_numbers
        print(extract_result_numbers("\\\\num{" + " " * 9_000 + "x\\n") == [])
        """,
        timeout=240,
    )
    assert out.split() == ["True", "True", "False", "False", "True"]
