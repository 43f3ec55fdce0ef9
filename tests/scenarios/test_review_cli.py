"""`grade review` as a TA uses it: in a real terminal (a pty), keystrokes in, reviews.toml out,
and the exports of the next `grade` holding the TA's points (issue 15's done-when checks, on the
demo class dl/hw2, whose writeups run no student code)."""

from __future__ import annotations

import csv
import os
import pty
import select
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "submissions" / "dl" / "hw2"
CLI = "import sys; from grader.cli import main; sys.exit(main())"
WAIT_S = 300  # a generous bound on a hung process, not a timing assertion

pytestmark = pytest.mark.slow


def _grade(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", CLI, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )


class Terminal:
    """A process on a pty: read until a prompt shows, type a line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLI, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.screen = b""

    def expect(self, *prompts: bytes) -> bytes:
        """Read until one of `prompts` is on screen after what was already read; which one."""
        start = len(self.screen)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            for prompt in prompts:
                if prompt in self.screen[start:]:
                    self.screen = self.screen[:start] + self.screen[start:].replace(prompt, b"", 1)
                    return prompt
            ready, _, _ = select.select([self.master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    chunk = b""
                if not chunk:
                    break
                self.screen += chunk
        raise AssertionError(f"none of {prompts} on screen:\n{self.screen[-2000:]!r}")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        code = self.process.wait(timeout=WAIT_S)
        os.close(self.master)
        return code

    def kill(self) -> None:
        """After a failed expectation: the process ends with the test, not after it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT_S)


POINTS = b"(p pass, f fail, s skip, q quit): "
COMMENT = b"comment to the student (Enter for none): "
DONE = b"decision(s) saved"


def _totals(out: Path, column: str = "total") -> dict[str, float]:
    """grades.csv's `column` per student (`total` is empty while anything is pending;
    `decided_points` is what is decided so far)."""
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        return {row["student"]: float(row[column]) for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """dl/hw2 copied, graded, then every pending item reviewed through a pty: (class, the
    points given per student)."""
    base = tmp_path_factory.mktemp("review")
    class_dir = base / "dl" / "hw2"
    shutil.copytree(DEMO, class_dir)
    env = {**os.environ, "GRADER_CACHE": str(base / "cache"), "COLUMNS": "120"}
    terminal = Terminal(["review", str(class_dir), "--ta", "tess"], env)
    given: dict[str, float] = {}
    answers = ["1", "p", "f", "0.5"]
    turn = 0
    try:
        turn = _review_all(terminal, answers, given)
    except BaseException:
        terminal.kill()
        raise
    assert terminal.close() == 0
    assert turn >= 10  # every pending item of the class was asked
    return class_dir, given


def _review_all(terminal: Terminal, answers: list[str], given: dict[str, float]) -> int:
    turn = 0
    while terminal.expect(POINTS, DONE) == POINTS:
        head = terminal.screen.rsplit(b"left] ", 1)[-1].decode(errors="replace")
        student = head.split(" · ")[1]
        answer = answers[turn % len(answers)]
        turn += 1
        terminal.type(answer)
        terminal.expect(COMMENT)
        terminal.type(f"comment {turn}")
        most = float(head.split("up to ")[1].split(" ")[0])
        fixed = {"p": most, "f": 0.0}
        points = fixed[answer] if answer in fixed else min(float(answer), most)
        given[student] = given.get(student, 0.0) + points
    return turn


def test_every_pending_item_reviewed_counts_in_the_exports(
    reviewed: tuple[Path, dict[str, float]], tmp_path: Path
) -> None:
    class_dir, given = reviewed
    entries = tomllib.loads((class_dir / "reviews.toml").read_text(encoding="utf-8"))
    assert {d["by"] for d in entries["decision"]} == {"tess"}
    assert all(d["comment"].startswith("comment ") for d in entries["decision"])
    cache = ["--cache-dir", tmp_path / "cache"]
    reference = tmp_path / "reference"
    bare = class_dir.parent.parent / "bare" / "dl" / "hw2"
    shutil.copytree(class_dir, bare, ignore=shutil.ignore_patterns("reviews.toml"))
    assert _grade(bare, "--out", reference, *cache).returncode == 0
    assert _grade(class_dir, "--out", tmp_path / "out", *cache).returncode == 0
    automatic, totals = _totals(reference, "decided_points"), _totals(tmp_path / "out")
    assert totals == {s: pytest.approx(automatic[s] + given.get(s, 0.0)) for s in automatic}
    results = (tmp_path / "out" / "results.json").read_text(encoding="utf-8")
    assert '"status": "pending"' not in results
    assert '"kind": "decision"' in results
    feedback = (tmp_path / "out" / "feedback").glob("*.md")
    assert any("graded by a TA: comment" in f.read_text(encoding="utf-8") for f in feedback)
    assert "Still to be graded" not in "".join(
        f.read_text(encoding="utf-8") for f in (tmp_path / "out" / "feedback").glob("*.md")
    )


def test_changed_rubric_points_keep_every_decision(
    reviewed: tuple[Path, dict[str, float]], tmp_path: Path
) -> None:
    class_dir, _ = reviewed
    rubrics = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics" / "dl", rubrics / "dl")
    rubric = rubrics / "dl" / "hw2.yaml"
    data = yaml.safe_load(rubric.read_text(encoding="utf-8"))
    raised = 0
    for problem in data["problems"]:
        for check in problem["checks"]:
            if check["kind"] == "manual":
                check["points"] += 2  # every TA item is worth more: no decision exceeds it
                problem["points"] = problem.get("points", 0) + 2
                raised += 1
    assert raised
    rubric.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (rubrics / "dl" / "course.yaml").write_text(
        (ROOT / "rubrics" / "dl" / "course.yaml")
        .read_text(encoding="utf-8")
        .replace("../../reference", str(ROOT / "reference")),
        encoding="utf-8",
    )
    run = _grade(class_dir, "--rubrics", rubrics, "--json", tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    assert "reopened" not in run.stdout
    report = tmp_path.joinpath("r.json").read_text(encoding="utf-8")
    assert '"state": "reopened"' not in report and '"state": "applied"' in report


def test_a_changed_file_reopens_exactly_that_students_decisions(
    reviewed: tuple[Path, dict[str, float]], tmp_path: Path
) -> None:
    class_dir, _ = reviewed
    copy = tmp_path / "dl" / "hw2"
    shutil.copytree(class_dir, copy)
    writeup = next(p for p in sorted((copy / "ivan").iterdir()) if p.is_file())
    writeup.write_text(writeup.read_text(encoding="utf-8") + "\nan afterthought\n")
    run = _grade(copy, "--json", tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    import json

    report = json.loads(tmp_path.joinpath("r.json").read_text(encoding="utf-8"))
    states: dict[str, set[str]] = {}
    for sub in report["submissions"]:
        for problem in sub["problems"]:
            for check in problem["checks"]:
                if check["review"]:
                    states.setdefault(sub["student"], set()).add(check["review"]["state"])
    assert states["ivan"] == {"reopened"}
    assert all(found == {"applied"} for student, found in states.items() if student != "ivan")
    assert "ivan q1 proof: the TA's decision by tess was reopened" in run.stdout


def test_an_override_and_a_regrade_are_recorded(
    reviewed: tuple[Path, dict[str, float]], tmp_path: Path
) -> None:
    class_dir, _ = reviewed
    copy = tmp_path / "dl" / "hw2"
    shutil.copytree(class_dir, copy)
    cache = ["--cache-dir", tmp_path / "cache"]
    request = ["review", copy, "--regrade", "grace", "q4", "sigma", "--request", "I wrote it"]
    assert _grade(*request, *cache).returncode == 0
    resolve = ["review", copy, "--resolve", "grace", "q4", "sigma", "--resolution", "right"]
    run = _grade(*resolve, "--points", "0", "--ta", "tess", *cache)
    assert run.returncode == 0, run.stdout + run.stderr
    entries = tomllib.loads((copy / "reviews.toml").read_text(encoding="utf-8"))
    (regrade,) = entries["regrade"]
    assert (regrade["status"], regrade["resolution"], regrade["resolved_by"]) == (
        "resolved",
        "right",
        "tess",
    )
    (override,) = entries["override"]
    assert (override["student"], override["points"], override["reason"]) == ("grace", 0, "right")
    run = _grade(copy, "--json", tmp_path / "r.json", "--full", *cache)
    assert "overridden by a TA: right" in run.stdout
