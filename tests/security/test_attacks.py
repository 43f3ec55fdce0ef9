"""Issue 5's adversarial suite, at the level of whole submissions graded through `grade`.

Each folder under `submissions/` is alice's honest files (answers.toml, stm.py) plus one attack.
They are graded together with two honest copies of alice (`alice`, and `victim`, the classmate
the attacks go after) in ONE `grade` call with the real bubblewrap sandbox, the way a TA would
grade a class. Every attack then ends with the same questions:

- did the attacker's affected checks fail, with a reason a student can act on?
- was every other check of the attacker graded as it is for honest alice?
- is the honest `alice` graded exactly as she is alone (a separate `grade` of her files)?
- did nothing outside the scratch space change (hashes of every submission tree, the repo's
  demo class, host paths the attacks aim at; the scratch root is empty afterwards)?

Hostile code reports what it managed to do by printing `REPORT {json}` lines; the probe
captures stdout into the observation, which a recording wrapper around the real runner keeps
for the tests (the wrapper only records: every run is the real `SandboxRunner`). Each report has
a positive control (its own files are readable, `ls /` works, ...), so a detector that stopped
working fails instead of passing. The host paths an attacker would aim at are handed to it in a
`targets.json` next to its code: the attacker knows the course layout.

Artefacts that are big or host-specific (a 200 MiB file, pickles, symlinks, 50,000-deep literals)
are created at run time in tmp_path, never committed. Known holes are strict xfails whose reason
says exactly what leaks, so a fix shows up as an XPASS to unmark. The containment tests of the
runner alone live in tests/sandbox/test_sandbox.py; this file does not repeat them.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import json
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from grader.judges import planning
from grader.pipeline import GradeOptions, grade
from grader.results import GradeReport, Status, SubmissionResult
from grader.sandbox.confinement import bubblewrap_available
from grader.sandbox.jobs import Limits, SandboxJob, SandboxResult
from grader.sandbox.runner import SandboxRunner

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "submissions"
REPO = HERE.parent.parent
ALICE = REPO / "submissions" / "mfdnn" / "hw6" / "alice"
HONEST_FILES = ("answers.toml", "stm.py")  # not ddescent.py: p5 is deselected to keep runs short
SELECT = "not p5"
JOBS = 2
IS_ROOT = os.getuid() == 0
BIG_FILE_BYTES = 200 * 2**20
LOOP_TIMEOUT_S = 60.0  # the rubric's default module timeout, which the import loop runs into
LONG_FIRST = ("loop_import", "find_reference", "memory", "disk", "fork_bomb")

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.slow,
    pytest.mark.skipif(
        not bubblewrap_available(),
        reason="bubblewrap cannot create namespaces here: without it student code can read the "
        "reference, reach the network and signal the grader (SECURITY.md), and several attacks "
        "here (kill_parent, read_*, write_outside) would really succeed",
    ),
]

PASSED, FAILED, ERROR, PENDING = Status.PASSED, Status.FAILED, Status.ERROR, Status.PENDING
NOT_PASSED = (FAILED, ERROR)
ASPECTS = ("instantiate", "param_count", "independent", "output_shape", "equivalence", "backward")
MODULE = tuple(f"p4b.stm.{a}" for a in ASPECTS)
ANSWER_CHECKS = ("p1.equivalent", "p2.mean", "p2.variance", "p4a.params_naive", "p4a.params_stm")


# --------------------------------------------------------------------------------------------
# what each attack may cost its author, and why


@dataclass(frozen=True)
class Hit:
    """An affected check: the statuses it may have, and words its message must contain."""

    statuses: tuple[Status, ...] = NOT_PASSED
    reason: str = ""


def crashed(reason: str) -> dict[str, Hit]:
    """The probe of STMConvLayer died or never finished: every aspect errs, and `finite` has
    nothing to look at."""
    hits = {check: Hit((ERROR,), reason) for check in MODULE}
    hits["p4b.finite"] = Hit((FAILED,), "STMConvLayer")  # "was not observed" or "no output"
    return hits


# Outputs the reference does not explain prove nothing about the parameters reported beside them:
# the structure those report (count, independence, gradients) waits for a TA (module.py,
# `_explanation`), never a pass, never a silent zero.
UNPROVEN = {
    f"p4b.stm.{aspect}": Hit((PENDING,), "for a TA")
    for aspect in ("param_count", "independent", "backward")
}
# A wrong output the reference still explains from the reported tensors (ReLU of it, some
# parameters zero) proves them used: the structure is graded as honest alice's.
WRONG_OUTPUT = {"p4b.stm.equivalence": Hit((FAILED,), "differs from the reference")}
# One nothing the grader computes explains: the structure waits for a TA.
UNEXPLAINED_OUTPUT = {**WRONG_OUTPUT, **UNPROVEN}


def answers_lost(reason: str) -> dict[str, Hit]:
    return {check: Hit(NOT_PASSED, reason) for check in ANSWER_CHECKS}


# Folders graded in the one big batch, each with the checks its attack may cost; every other check
# must be graded as honest alice's. Attacks that leave a correct layer correct cost nothing.
EXPECTED: dict[str, dict[str, Hit]] = {
    # tampering
    "patch_comparisons": WRONG_OUTPUT,
    "patch_builtins": {
        **UNPROVEN,
        "p4b.stm.output_shape": Hit((FAILED,), "gave output"),
        "p4b.stm.equivalence": Hit((FAILED,), "differs from the reference"),
    },
    "fake_output": WRONG_OUTPUT,
    "write_results": WRONG_OUTPUT,
    "exit_sys_import": crashed("SystemExit during import"),
    "exit_os_forward": crashed("ended before"),
    "exit_systemexit_forward": crashed("SystemExit during forward"),
    "exit_keyboard_forward": crashed("KeyboardInterrupt during forward"),
    "kill_parent": {},
    # reading what it must not
    "find_reference": WRONG_OUTPUT,
    "read_rubric": UNEXPLAINED_OUTPUT,
    "read_victim": UNEXPLAINED_OUTPUT,
    "read_env": UNEXPLAINED_OUTPUT,
    # reaching out
    "socket": {},
    "subprocess_spawn": {},
    "write_outside": {},
    "symlinks": {**WRONG_OUTPUT, **answers_lost("not answered")},
    # exhaustion
    "loop_import": crashed("time limit"),
    "fork_bomb": {},
    "threads": {},
    "memory": crashed("MemoryError during import"),
    "disk": crashed("File too large"),
    "print_flood": crashed("File too large"),
    # bad bytes
    "bad_utf8_py": crashed("UTF-8"),
    "bad_utf8_toml": answers_lost("not UTF-8"),
    "big_file": {},
    "toml_syntax": answers_lost("not valid TOML"),
    "toml_types": {
        "p1.equivalent": Hit((FAILED,), "expected a list of options"),
        "p2.mean": Hit((FAILED,), "not answered"),
        "p2.variance": Hit((FAILED,), "expected an expression in quotes"),
        "p4a.params_naive": Hit((FAILED,), "expected a number, got 'lots'"),
        "p4a.params_stm": Hit((FAILED,), "expected a number, got True"),
    },
    "bad_notebook": {},
    "pickle_file": {},
    "deep_literals": {
        "p2.mean": Hit((FAILED,), "too large"),
        "p2.variance": Hit((FAILED,), "too long"),
    },
    # an unearned verdict without any tampering
    "degenerate_weights": {
        **UNPROVEN,
        "p4b.stm.equivalence": Hit((FAILED,), ""),
        "p4b.stm.backward": Hit((FAILED,), "every gradient is exactly zero"),
    },
}

# name -> why the engine is wrong there (a strict xfail). Empty: the holes this suite found (the
# probe's late-bound `open`, equivalence on degenerate weights) are closed and tested as attacks.
KNOWN_HOLES: dict[str, str] = {}

# Students graded apart, each with an honest answers-only alice: ingesting them raised out of
# `grade` when this suite was written (the reasons below), which took the whole batch down.
BATCH_KILLERS: dict[str, tuple[tuple[str, ...], type[BaseException], str]] = {
    "toml_deep_array": (
        ("equivalent",),
        RecursionError,
        "HOLE: a 1,200-deep nested array in answers.toml raises RecursionError out of tomllib; "
        "grader/ingest.py _read_answer_sheet catches only UnicodeDecodeError and TOMLDecodeError, "
        "so `grade` raises and the whole batch is lost",
    ),
    "toml_dotted_keys": (
        ("equivalent",),
        RecursionError,
        "HOLE: a 1,500-part dotted key parses, but grader/ingest.py _flatten recurses once per "
        "part and raises RecursionError out of `grade`: the whole batch is lost",
    ),
    "toml_long_int": (
        ("params_naive",),
        ValueError,
        "HOLE: a 5,000-digit integer makes tomllib raise ValueError (int max str digits), not "
        "TOMLDecodeError; _read_answer_sheet lets it out of `grade`: the whole batch is lost",
    ),
    "toml_huge_hex": (
        ("params_stm",),
        AssertionError,
        "HOLE: a 400-digit hex integer reaches grader/judges.py parse_number, whose float() "
        "raises OverflowError: the student is told 'internal grader error, not your fault' "
        "instead of why the answer is wrong",
    ),
    "deep_class_base": (
        (),
        RecursionError,
        "HOLE: a class whose base is a 600-term expression parses, but grader/ingest.py "
        "_class_unit calls ast.unparse on it, which raises RecursionError out of `grade`: "
        "one 8 KB .py file loses the whole batch",
    ),
}


def key_of(problem_id: str, check_id: str) -> str:
    return f"{problem_id}.{check_id}"


def checks_of(result: SubmissionResult) -> dict[str, Any]:
    return {key_of(p.id, c.id): c for p in result.problems for c in p.checks}


def student(report: GradeReport, name: str) -> SubmissionResult:
    [found] = [s for s in report.submissions if s.student == name]
    return found


# --------------------------------------------------------------------------------------------
# the run: hostile class, honest alice, victim; alice alone


class RecordingRunner:
    """The real sandbox runner, keeping each student's result so tests can read the reports."""

    def __init__(self, inner: SandboxRunner) -> None:
        self.inner = inner
        self.isolation = inner.isolation
        self.results: dict[str, SandboxResult] = {}

    def run(self, job: SandboxJob) -> SandboxResult:
        result = self.inner.run(job)
        self.results[job.submission_dir.name] = result
        return result


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under `root`: file contents by hash, symlinks by target, folders by name."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in dirs + files:
            path = base / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                found[rel] = "dir"
            else:
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(2**22), b""):
                        digest.update(block)
                found[rel] = digest.hexdigest()
    return found


def copy_honest(dst: Path, files: tuple[str, ...] = HONEST_FILES) -> Path:
    dst.mkdir(parents=True)
    for name in files:
        shutil.copyfile(ALICE / name, dst / name)
    return dst


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line contains `marker` (the fork bomb's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


class Unpickled:
    """Unpickling this creates a folder: the proof that someone loaded the student's pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def add_symlinks(folder: Path, victim: Path) -> None:
    (folder / "answers.toml").symlink_to(Path("..") / victim.name / "answers.toml")
    (folder / "victim_stm.py").symlink_to(Path("..") / victim.name / "stm.py")
    (folder / "victim").symlink_to(Path("..") / victim.name, target_is_directory=True)
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "rubric.yaml").symlink_to(REPO / "rubrics" / "mfdnn" / "hw6.yaml")


def add_big_files(folder: Path) -> None:
    """A 200 MiB file of real bytes, and a 200 MiB (sparse) writeup the grader may try to read."""
    block = bytes(2**24)
    with (folder / "data.bin").open("wb") as fh:
        for _ in range(BIG_FILE_BYTES // len(block)):
            fh.write(block)
    with (folder / "report.md").open("wb") as fh:
        fh.truncate(BIG_FILE_BYTES)


def add_pickles(folder: Path, marker: Path) -> None:
    torch.save({"weights": Unpickled(marker)}, folder / "model.pt")
    torch.save(Unpickled(marker), folder / "weights.pth")
    (folder / "data.pkl").write_bytes(pickle.dumps(Unpickled(marker)))
    np.save(folder / "arrays.npy", np.array([Unpickled(marker)], dtype=object), allow_pickle=True)


def add_deep_literals(folder: Path) -> None:
    """Nested and huge literals in .py files and a 50,000-deep formula in the answer sheet."""
    (folder / "deep.py").write_text("X = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (folder / "chain.py").write_text("X = " + "1 + " * 100_000 + "1\n")
    (folder / "unary.py").write_text("X = " + "-" * 100_000 + "1\n")
    (folder / "huge.py").write_text("X = [" + "0, " * 600_000 + "]\n")  # just under 2 MiB
    (folder / "string.py").write_text("X = '" + "a" * (2**21 - 100) + "'\n")
    sheet = folder / "answers.toml"
    deep = "(" * 50_000 + "L" + ")" * 50_000
    text = sheet.read_text()
    new = text.replace(
        'variance = "3**-L + sum(1/(n[i] * 3**(L - i)) for i in range(L))"',
        f'variance = "{deep}"',
    )
    assert new != text
    sheet.write_text(new)


@dataclass
class Listener:
    tcp: socket.socket
    udp: socket.socket

    def received(self) -> list[bytes]:
        """Whatever reached either socket during the run."""
        got = []
        self.tcp.settimeout(0.5)
        with contextlib.suppress(TimeoutError):
            while True:
                conn, _ = self.tcp.accept()
                with conn:
                    conn.settimeout(0.5)
                    with contextlib.suppress(OSError):
                        got.append(conn.recv(1024))
        self.udp.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                got.append(self.udp.recv(1024))
        return got


@contextlib.contextmanager
def listening() -> Iterator[Listener]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with tcp, udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(8)
        udp.bind(("127.0.0.1", 0))
        yield Listener(tcp, udp)


@dataclass
class AttackRun:
    report: GradeReport
    recorder: RecordingRunner
    seconds: float
    class_dir: Path
    scratch_root: Path
    marker: str
    unpickled: Path
    digests_before: dict[str, dict[str, str]]
    digests_after: dict[str, dict[str, str]]
    host_before: dict[str, str | None]
    host_after: dict[str, str | None]
    received: list[bytes]
    leftover_pids: list[int]
    scratch_left: list[str] = field(default_factory=list)

    def result(self, name: str) -> SubmissionResult:
        return student(self.report, name)

    def reports(self, name: str) -> dict[str, Any]:
        """Merged `REPORT {json}` lines the student's code printed inside the sandbox."""
        run = self.recorder.results[name]
        outcome = run.outcomes["p4b.stm"]
        assert outcome.observation is not None, outcome.problem
        merged: dict[str, Any] = {}
        for line in outcome.observation.printed.stdout.splitlines():
            if "REPORT {" in line:  # a forged observation may prefix the captured text
                merged.update(json.loads(line[line.index("REPORT {") + len("REPORT ") :]))
        assert merged, f"{name} reported nothing: {outcome.observation.printed.stdout[-500:]!r}"
        return merged


def host_snapshot(paths: list[Path]) -> dict[str, str | None]:
    """Content hash (or None when absent) of host paths an attack aims at directly."""
    snapshot: dict[str, str | None] = {}
    for path in paths:
        if path.is_file():
            snapshot[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            snapshot[str(path)] = "exists" if path.exists() else None
    return snapshot


def host_targets(marker: str, class_dir: Path) -> list[Path]:
    names = ("results.json", "grades.csv", "0.json", "0.npz", f"PWNED-{marker}")
    places = [Path("/tmp"), Path("/"), REPO, Path.cwd(), class_dir.parent, class_dir]
    places += [REPO / "submissions", HOSTILE, Path(tempfile.gettempdir())]
    return [place / name for place in dict.fromkeys(places) for name in names]


def build_class(root: Path, marker: str, ports: tuple[int, int]) -> tuple[Path, Path]:
    """The hostile class, two honest students and the run-time artefacts; returns (class dir,
    the unpickling marker)."""
    class_dir = root / "class"
    for name in EXPECTED:
        shutil.copytree(HOSTILE / name, class_dir / name)
    copy_honest(class_dir / "alice")
    victim = copy_honest(class_dir / "victim")
    unpickled = root / "UNPICKLED"
    for name in EXPECTED:
        folder = class_dir / name
        targets = {
            "marker": marker,
            "port": ports[0],
            "udp_port": ports[1],
            "repo": str(REPO),
            "rubric": str(REPO / "rubrics" / "mfdnn" / "hw6.yaml"),
            "reference": str(REPO / "reference" / "mfdnn" / "hw6" / "p4_stm.py"),
            "grader_source": str(REPO / "grader" / "judges.py"),
            "repo_file": str(REPO / "pyproject.toml"),
            "class_dir": str(class_dir),
            "original": str(folder),
            "victim": str(victim),
            "repo_submissions": str(REPO / "submissions"),
            "repo_security": str(HOSTILE),
            "cwd": str(Path.cwd()),
            "host_tmp": tempfile.gettempdir(),
        }
        (folder / "targets.json").write_text(json.dumps(targets))
    add_symlinks(class_dir / "symlinks", victim)
    add_big_files(class_dir / "big_file")
    add_pickles(class_dir / "pickle_file", unpickled)
    add_deep_literals(class_dir / "deep_literals")
    return class_dir, unpickled


def remove_planted(marker: str, class_dir: Path) -> None:
    """If containment failed, do not leave the attacker's files in the repo or /tmp."""
    for path in host_targets(marker, class_dir):
        if path.name.startswith("PWNED-") and path.is_file():
            path.unlink()


@pytest.fixture(scope="module")
def alice_alone(tmp_path_factory: pytest.TempPathFactory) -> GradeReport:
    """Alice's honest files graded on their own: what her copy in the hostile class must get."""
    folder = copy_honest(tmp_path_factory.mktemp("alone") / "alice")
    return grade([folder], GradeOptions(jobs=1, select=SELECT))


@pytest.fixture(scope="module")
def attack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttackRun]:
    root = tmp_path_factory.mktemp("security")
    marker = f"grader-security-{uuid.uuid4().hex}"
    scratch_root = root / "scratch"
    scratch_root.mkdir()
    with listening() as listener, pytest.MonkeyPatch.context() as mp:
        ports = (listener.tcp.getsockname()[1], listener.udp.getsockname()[1])
        class_dir, unpickled = build_class(root, marker, ports)
        watched = {"class": class_dir, "demo": REPO / "submissions", "committed": HOSTILE}
        digests_before = {label: tree_digest(path) for label, path in watched.items()}
        targets = host_targets(marker, class_dir)
        host_before = host_snapshot(targets)
        mp.setenv("GRADER_SECRET", f"s3cret-{uuid.uuid4().hex}")
        mp.setattr(tempfile, "tempdir", str(scratch_root))  # every scratch folder lands here
        # The attacks sit at stm.py's top level, which a module check no longer runs
        # (grader/ingest/extract.py; test_top_level_attacks_do_not_run_for_module_checks): import
        # the files whole, so every attack still runs inside the sandbox it must not escape.
        mp.setattr(planning, "_class_alone", lambda *args: None)
        recorder = RecordingRunner(SandboxRunner(use_bwrap=True))
        # The longest attacks first, so that they overlap the rest of the class.
        folders = [class_dir / n for n in LONG_FIRST]
        folders += sorted(p for p in class_dir.iterdir() if p.name not in LONG_FIRST)
        started = time.monotonic()
        try:
            report = grade(folders, GradeOptions(jobs=JOBS, select=SELECT, runner=recorder))
            seconds = time.monotonic() - started
            mp.undo()
            time.sleep(1.0)  # the kernel reaps the sandbox's namespaces
            leftover = processes_with(marker)
            run = AttackRun(
                report=report,
                recorder=recorder,
                seconds=seconds,
                class_dir=class_dir,
                scratch_root=scratch_root,
                marker=marker,
                unpickled=unpickled,
                digests_before=digests_before,
                digests_after={label: tree_digest(path) for label, path in watched.items()},
                host_before=host_before,
                host_after=host_snapshot(targets),
                received=listener.received(),
                leftover_pids=leftover,
                scratch_left=sorted(p.name for p in scratch_root.iterdir()),
            )
        finally:
            kill_all(processes_with(marker))
            remove_planted(marker, class_dir)
    yield run


# --------------------------------------------------------------------------------------------
# the batch as a whole


def test_every_student_is_graded_on_time(attack: AttackRun) -> None:
    names = {s.student for s in attack.report.submissions}
    assert names == {*EXPECTED, "alice", "victim"}
    assert all(s.error is None for s in attack.report.submissions)
    # bubblewrap, not the weak fallback (an unprepared course environment is said apart)
    assert [w for w in attack.report.warnings if "grade env" not in w] == []
    # Every run ended by its own limits, none by the wall-clock kill: the infinite loop at its
    # probe timeout, everything else within seconds. The whole batch (about 3 minutes on two
    # idle cores, mostly 36 interpreters importing torch) is bounded generously for busy CI.
    runs = attack.recorder.results
    assert not [name for name, run in runs.items() if run.timed_out]
    slow = {n: round(r.seconds) for n, r in runs.items() if r.seconds > 30 and n != "loop_import"}
    assert slow == {}
    assert runs["loop_import"].seconds < LOOP_TIMEOUT_S + 15
    assert attack.seconds < 420, f"the batch took {attack.seconds:.0f} s"


def test_honest_student_is_graded_exactly_as_alone(
    attack: AttackRun, alice_alone: GradeReport
) -> None:
    alone = student(alice_alone, "alice")
    assert alone.score == 18.0  # control: alice alone is alice (p3 is for a TA, p5 deselected)
    assert attack.result("alice").model_dump() == alone.model_dump()


def test_victim_is_graded_like_alice(attack: AttackRun, alice_alone: GradeReport) -> None:
    """The classmate every attack went after: same files as alice, so the same verdicts."""
    victim = checks_of(attack.result("victim"))
    alone = checks_of(student(alice_alone, "alice"))
    assert {k: (c.status, c.score) for k, c in victim.items()} == {
        k: (c.status, c.score) for k, c in alone.items()
    }


def test_no_check_is_an_internal_grader_error(attack: AttackRun) -> None:
    """Whatever a student sends, it is graded: a crash of the grader's own code is a defect."""
    bugs = [
        f"{s.student} {key}: {c.message}"
        for s in attack.report.submissions
        for key, c in checks_of(s).items()
        if c.message.startswith("internal grader error")
    ]
    assert bugs == []


def test_nothing_outside_the_scratch_space_changed(attack: AttackRun) -> None:
    for label, before in attack.digests_before.items():
        after = attack.digests_after[label]
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert changed == [], f"{label}: changed, added or removed: {changed[:10]}"
    changed = [p for p, h in attack.host_before.items() if attack.host_after[p] != h]
    assert changed == [], f"host paths an attack aimed at changed: {changed}"


def test_scratch_space_is_removed_after_the_run(attack: AttackRun) -> None:
    """All scratch folders (including the disk filler's 300 MiB) are gone when grading ends."""
    assert attack.scratch_left == []


# --------------------------------------------------------------------------------------------
# each attack: its affected checks fail with a reason, the rest is graded as honest alice


def _attack_params() -> list[Any]:
    params = []
    for name in EXPECTED:
        marks = []
        if name in KNOWN_HOLES:
            marks.append(
                pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN_HOLES[name])
            )
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.mark.parametrize("name", _attack_params())
def test_attack_costs_only_the_affected_checks(
    name: str, attack: AttackRun, alice_alone: GradeReport
) -> None:
    got = checks_of(attack.result(name))
    honest = checks_of(student(alice_alone, "alice"))
    assert got.keys() == honest.keys()
    hits = EXPECTED[name]
    assert hits.keys() <= got.keys()
    for key, check in got.items():
        hit = hits.get(key)
        if hit is None:
            want = honest[key]
            assert (check.status, check.score) == (want.status, want.score), (
                f"{key} should be graded as honest alice's: {check.message}"
            )
            continue
        assert check.status in hit.statuses, f"{key}: {check.status} {check.message}"
        assert check.score <= 0.0, f"{key} earned {check.score}: {check.message}"
        assert hit.reason.lower() in check.message.lower(), f"{key}: {check.message}"
    assert attack.result(name).score < 18.0 or not hits


# --------------------------------------------------------------------------------------------
# tampering: what the attacks did inside, and that it bought nothing


def test_comparison_patches_took_effect_inside(attack: AttackRun) -> None:
    """Control for patch_comparisons: inside the sandbox every comparison helper said 'equal'
    (the equivalence still failed: the comparison happens in the grader)."""
    assert attack.reports("patch_comparisons")["patched"] == [True, True, True, True]


def test_grader_modules_cannot_be_imported_or_read(attack: AttackRun) -> None:
    report = attack.reports("patch_builtins")
    imports = report["imports"]
    assert set(imports) >= set(_patch_builtins_targets()[0])
    for name in _patch_builtins_targets()[0]:
        assert imports[name] in ("ModuleNotFoundError", "FileNotFoundError", "ImportError"), (
            f"{name} imported inside the sandbox: {imports[name]}"
        )
    assert report["found"] == []


def _patch_builtins_targets() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The module names and files the patch_builtins attack aims at, read from its source."""
    source = (HOSTILE / "patch_builtins" / "stm.py").read_text()
    tree = ast.parse(source)
    values: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in ("TARGET_MODULES", "TARGET_FILES"):
            values[target.id] = tuple(ast.literal_eval(node.value))  # type: ignore[union-attr]
    return values["TARGET_MODULES"], values["TARGET_FILES"]


def test_patch_builtins_aims_at_the_real_judge_modules() -> None:
    """If the grader's files move, the attack must move with them, or it passes for the wrong
    reason (it would find nothing because it looks in the wrong place, not because the sandbox
    hides the grader)."""
    modules, files = _patch_builtins_targets()
    for name in modules:
        importlib.import_module(name)
    for rel in files:
        assert (REPO / rel).is_file(), rel


def test_patched_json_dump_and_savez_are_not_the_probes(attack: AttackRun) -> None:
    """The probe bound json.dump and np.savez before student code ran: patching them (to forge
    the observation, to drop the arrays) does nothing."""
    outcome = attack.recorder.results["patch_builtins"].outcomes["p4b.stm"]
    assert outcome.observation is not None
    assert "FORGED-BY-JSON-DUMP" not in outcome.observation.printed.stdout
    assert {"out0", "out1", "param0", "grad0"} <= outcome.arrays.keys()


def test_patched_open_cannot_rewrite_the_observation(attack: AttackRun) -> None:
    outcome = attack.recorder.results["patch_builtins"].outcomes["p4b.stm"]
    assert outcome.observation is not None
    assert "FORGED-BY-OPEN" not in outcome.observation.printed.stdout


def test_fake_output_is_never_read_as_a_result(attack: AttackRun) -> None:
    assert attack.reports("fake_output")["shouted"] == 5  # control: the fake lines were printed
    run = attack.recorder.results["fake_output"]
    assert "12 passed" in run.stdout_tail  # raw fd writes reached the process's stdout ...
    assert attack.result("fake_output").score < 18.0  # ... and changed nothing


def test_results_files_written_by_the_student_stay_in_its_scratch(attack: AttackRun) -> None:
    """Its cwd, /tmp, /, HOME and the probe's own output folder take the files (all private
    to this run); host paths do not exist in there. The host snapshot in
    test_nothing_outside_the_scratch_space_changed proves nothing landed outside."""
    wrote = attack.reports("write_results")["wrote"]
    assert set(wrote["."]) == {"results.json", "grades.csv", "0.json", "0.npz"}  # control
    targets = json.loads((attack.class_dir / "write_results" / "targets.json").read_text())
    for place in ("original", "class_dir", "repo", "cwd"):
        if Path(sys.prefix).is_relative_to(targets[place]):
            # With the venv inside this folder (the README's setup puts it in the repo), the
            # folder's path exists in the sandbox as the empty, private mount point of the venv;
            # writes there stay in the sandbox, as test_nothing_outside_the_scratch_space_changed
            # shows for the host.
            continue
        assert wrote[targets[place]] == [], f"wrote into the host's {place}"


def test_killing_the_parent_reaches_only_the_sandbox_init(attack: AttackRun) -> None:
    report = attack.reports("kill_parent")  # the process survived its own attack
    assert report["ppid"] == 1, "under bwrap the parent is the PID namespace's init"
    assert report["ppid_after"] == 1


# --------------------------------------------------------------------------------------------
# reading what it must not


def test_searching_the_filesystem_finds_no_reference(attack: AttackRun) -> None:
    report = attack.reports("find_reference")
    assert report["own_seen"], "control: the search must find the student's own class"
    assert report["walked"] > 1000, "control: the walk saw the visible files"
    assert report["grep_complete"], "the search ran out of time: it proves less than it should"
    assert report["found"] == []
    assert report["names"] == []


def test_rubric_reference_and_grader_are_unreadable(attack: AttackRun) -> None:
    report = attack.reports("read_rubric")
    assert report.pop("own_file") is True  # control
    assert report == {
        "rubric": False,
        "reference": False,
        "grader_source": False,
        "repo_file": False,
        "listing_repo": False,
    }


def test_classmates_are_unreadable(attack: AttackRun) -> None:
    report = attack.reports("read_victim")
    assert report["own_file"] is True  # control
    assert not any(
        report[k] for k in ("victim_stm", "victim_answers", "relative_victim", "list_class_dir")
    )
    assert "sub" in report["list_parent"]  # control: its own scratch copy
    assert not set(report["list_parent"]) & {*EXPECTED, "alice", "victim"}


def test_grader_environment_is_invisible(attack: AttackRun) -> None:
    report = attack.reports("read_env")
    assert "MPLBACKEND" in report["env_keys"]  # control: the sandbox's own variables
    assert (report["in_environ"], report["value_seen"], report["in_proc"]) == (False, False, [])


# --------------------------------------------------------------------------------------------
# reaching out


def test_network_is_unreachable(attack: AttackRun) -> None:
    report = attack.reports("socket")
    assert report["tcp"] != "sent" and report["dns"] != "resolved"
    assert attack.received == []


def test_subprocesses_see_only_the_sandbox(attack: AttackRun) -> None:
    report = attack.reports("subprocess_spawn")
    assert report["ls_rc"] == 0 and "usr" in report["ls"]  # control: spawning works
    # The grader's venv appears at /opt/venv (VENV_INNER), so the repository's path does not
    # exist in the sandbox even where the README's setup puts the venv inside it.
    if REPO.parts[1] not in {"tmp", "usr", "home", "root", "opt"}:  # folders the sandbox has
        assert REPO.parts[1] not in report["ls"], "the repo's top-level folder is visible"
    assert report["repo_rc"] != 0 and report["repo_ls"] == []
    assert report["cat_rc"] != 0 and report["cat_out"] == ""


def test_writes_outside_the_scratch_copy_fail(attack: AttackRun) -> None:
    report = attack.reports("write_outside")
    assert report.pop("own_scratch_copy") is True  # control
    # /tmp inside is the run's own tmpfs: writing there works and reaches nothing on the host
    # (the host's /tmp/PWNED-* is in the host snapshot of the nothing-changed test).
    report.pop("host_tmp")
    assert [k for k, ok in report.items() if ok] == []


def test_symlinks_out_of_the_submission_lead_nowhere(attack: AttackRun) -> None:
    report = attack.reports("symlinks")
    assert report.pop("own_file") is True  # control
    assert "stolen" not in report
    assert not any(report[k] for k in ("passwd", "rubric", "victim_dir", "victim_file"))
    assert report["answers_link"] is False
    notes = " ".join(attack.result("symlinks").notes)
    for link in ("answers.toml", "victim_stm.py", "victim", "passwd", "rubric.yaml"):
        assert f"ignored {link} (symlink" in notes, notes


# --------------------------------------------------------------------------------------------
# exhaustion: stopped by a limit that the report names, and the batch goes on


def test_infinite_loop_is_stopped_by_the_probe_timeout(attack: AttackRun) -> None:
    run = attack.recorder.results["loop_import"]
    outcome = run.outcomes["p4b.stm"]
    assert outcome.observation is not None and outcome.observation.error is not None
    assert outcome.observation.error.type == "ProbeTimeout"
    assert LOOP_TIMEOUT_S <= run.seconds < LOOP_TIMEOUT_S + 15
    assert not run.timed_out  # the probe's own alarm, not the wall-clock kill


def test_fork_bomb_leaves_no_process_behind(attack: AttackRun) -> None:
    assert attack.reports("fork_bomb")["spawned"] >= 1  # control: the bomb went off
    assert attack.leftover_pids == []


@pytest.mark.xfail(
    IS_ROOT,
    strict=True,
    raises=AssertionError,
    reason="HOLE (grader running as root): RLIMIT_NPROC does not apply to uid 0 and no cgroup "
    "pids.max is set, so a submission forks 300 processes (contained by the PID namespace and "
    "killed with it, but not capped); see test_sandbox.py::test_process_count_is_capped",
)
def test_fork_bomb_is_capped(attack: AttackRun) -> None:
    assert attack.reports("fork_bomb")["spawned"] < Limits().max_processes


def test_threads_do_not_outlive_the_check(attack: AttackRun) -> None:
    run = attack.recorder.results["threads"]
    assert attack.reports("threads")["threads"] >= 3  # control: both spinners started
    assert not run.timed_out and run.limit_hit is None
    assert run.seconds < 30


def test_disk_filler_is_stopped_by_the_file_size_limit(attack: AttackRun) -> None:
    run = attack.recorder.results["disk"]
    outcome = run.outcomes["p4b.stm"]
    assert outcome.observation is not None and outcome.observation.error is not None
    assert "File too large" in outcome.observation.error.message


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="HOLE: the scratch copy is on the host disk with no quota; RLIMIT_FSIZE caps each "
    "file at 64 MiB, not their number, so 30 files of 10 MiB (300 MiB) are all written",
)
def test_disk_filler_cannot_write_300_mib_in_many_files(attack: AttackRun) -> None:
    assert attack.reports("disk")["many_files_mib"] < 300


def test_printing_gigabytes_is_bounded(attack: AttackRun) -> None:
    run = attack.recorder.results["print_flood"]
    outcome = run.outcomes["p4b.stm"]
    assert outcome.observation is not None
    assert len(outcome.observation.printed.stdout) <= 4000  # only a tail is kept
    assert len(run.stdout_tail) <= 4000


def test_memory_hog_is_stopped_by_the_memory_limit(attack: AttackRun) -> None:
    """RLIMIT_AS turns the hog's allocation into a MemoryError, well before the wall clock."""
    run = attack.recorder.results["memory"]
    outcome = run.outcomes["p4b.stm"]
    assert outcome.observation is not None and outcome.observation.error is not None
    assert outcome.observation.error.type == "MemoryError"
    assert not run.timed_out and run.seconds < LOOP_TIMEOUT_S


# --------------------------------------------------------------------------------------------
# bad bytes


def test_pickles_in_the_submission_are_never_unpickled(attack: AttackRun) -> None:
    assert not attack.unpickled.exists()
    # Control: the pickle does what it says when someone loads it.
    pickle.loads((attack.class_dir / "pickle_file" / "data.pkl").read_bytes())
    assert attack.unpickled.is_dir()
    attack.unpickled.rmdir()


# --------------------------------------------------------------------------------------------
# students whose files once took the whole batch down: graded apart, beside an honest student


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, id=name) for name in BATCH_KILLERS],
)
def test_hostile_files_do_not_stop_the_batch(
    name: str, tmp_path: Path, alice_alone: GradeReport
) -> None:
    """An honest student graded beside the attacker keeps her verdicts; the attacker's own
    answers are judged (or refused) with a reason, never with an internal error."""
    hostile = tmp_path / name
    shutil.copytree(HOSTILE / name, hostile)
    honest = copy_honest(tmp_path / "alice", ("answers.toml",))  # answers only: no sandbox
    report = grade([hostile, honest], GradeOptions(jobs=1, select="not p5 and not p4b"))
    alone = checks_of(student(alice_alone, "alice"))
    got = checks_of(student(report, "alice"))
    for key in ANSWER_CHECKS:
        assert (got[key].status, got[key].score) == (alone[key].status, alone[key].score)
    attacked = BATCH_KILLERS[name][0]
    for key, check in checks_of(student(report, name)).items():
        assert not check.message.startswith("internal grader error"), f"{key}: {check.message}"
        if key.rsplit(".", 1)[-1] in attacked:
            assert check.status in NOT_PASSED and check.score == 0.0


def test_top_level_attacks_do_not_run_for_module_checks(
    tmp_path: Path, alice_alone: GradeReport
) -> None:
    """A module check imports STMConvLayer without the file's other top-level code: an endless
    loop or `sys.exit` there never runs, and the class is graded like Alice's."""
    folders = []
    for name in ("loop_import", "exit_sys_import"):
        folder = copy_honest(tmp_path / name, ("answers.toml",))
        shutil.copy(HOSTILE / name / "stm.py", folder / "stm.py")
        folders.append(folder)
    report = grade(folders, GradeOptions(jobs=JOBS, select="p4b"))
    honest = checks_of(student(alice_alone, "alice"))
    for name in ("loop_import", "exit_sys_import"):
        got = checks_of(student(report, name))
        for key in (*MODULE, "p4b.finite"):
            assert (got[key].status, got[key].score) == (honest[key].status, honest[key].score)
