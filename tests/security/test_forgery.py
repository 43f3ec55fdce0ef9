"""Issue 13, class 1: a higher score than the work earns, graded through `grade` with the real
bubblewrap sandbox.

- **Forged weights** (`submissions/forged_*`): each folder is a layer with a known honest score
  plus an attack, from its `# ATTACK` line to the end of `stm.py`. Its honest version is the same
  files with that part cut off. Both are graded in one batch; the attacker must not score more
  than its honest version (equal where the attack changes nothing the layer computes; below it
  where the grader catches a forged observation, which it reports as an error for a TA). Each
  attack has a positive control that it really ran: before the fix both scored 9/9.
- **A homework named by path or unknown id**: the student is unrecognised, with a message that
  names them and their answers.toml line; their classmates are graded exactly as alone.
- **Namesakes** (`class/alice` beside `class/hw6/alice`, and two sections' `alice`): every one is
  graded exactly as when graded alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.judges import planning
from grader.pipeline import GradeOptions, grade
from grader.results import GradeReport, Status, SubmissionResult
from grader.rubric import load_rubric
from grader.sandbox.confinement import bubblewrap_available
from grader.sandbox.jobs import SandboxJob, SandboxResult
from grader.sandbox.observations import ModuleObservation
from grader.sandbox.runner import SandboxRunner

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "submissions"
REPO = HERE.parent.parent
ALICE = REPO / "submissions" / "mfdnn" / "hw6" / "alice"
SCENARIOS = REPO / "tests" / "data" / "hw6"
SELECT = "not p5"
ATTACK_LINE = "# ATTACK"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(
        not bubblewrap_available(),
        reason="the forgeries are graded as a TA would, in the real bubblewrap sandbox",
    ),
]


class RecordingRunner:
    """The real sandbox runner, keeping each folder's result for the positive controls."""

    def __init__(self, inner: SandboxRunner) -> None:
        self.inner = inner
        self.isolation = inner.isolation
        self.results: dict[str, SandboxResult] = {}

    def run(self, job: SandboxJob) -> SandboxResult:
        result = self.inner.run(job)
        self.results[job.submission_dir.name] = result
        return result


def student(report: GradeReport, name: str) -> SubmissionResult:
    [found] = [s for s in report.submissions if s.student == name]
    return found


def p4b(result: SubmissionResult) -> dict[str, tuple[Status, float]]:
    [problem] = [p for p in result.problems if p.id == "p4b"]
    return {c.id: (c.status, c.score) for c in problem.checks}


def p4b_score(result: SubmissionResult) -> float:
    return sum(score for _, score in p4b(result).values())


def honest_version(attack: Path, dst: Path) -> Path:
    """The attacker's files without the attack: `stm.py` up to its `# ATTACK` line."""
    shutil.copytree(attack, dst)
    source = (attack / "stm.py").read_text()
    assert ATTACK_LINE in source
    (dst / "stm.py").write_text(source[: source.index(ATTACK_LINE)])
    return dst


# --------------------------------------------------------------------------------------------
# forged weights


FORGERIES = ("forged_weights_inplace", "forged_shared_copies", "forged_structure")


@dataclass
class ForgeryRun:
    report: GradeReport
    recorder: RecordingRunner

    def observation(self, name: str) -> ModuleObservation:
        outcome = self.recorder.results[name].outcomes["p4b.stm"]
        assert isinstance(outcome.observation, ModuleObservation), outcome.problem
        return outcome.observation


@pytest.fixture(scope="module")
def forgeries(tmp_path_factory: pytest.TempPathFactory) -> ForgeryRun:
    class_dir = tmp_path_factory.mktemp("forgeries") / "class"
    for name in FORGERIES:
        shutil.copytree(HOSTILE / name, class_dir / name)
        honest_version(HOSTILE / name, class_dir / f"{name}_honest")
    recorder = RecordingRunner(SandboxRunner(use_bwrap=True))
    # The forgeries sit at stm.py's top level, which a module check no longer runs
    # (grader/ingest/extract.py): import the files whole, so every forgery still runs.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(planning, "_class_alone", lambda *args: None)
        report = grade([class_dir], GradeOptions(jobs=2, select=SELECT, runner=recorder))
    return ForgeryRun(report, recorder)


def test_weights_changed_in_place_during_forward_earn_nothing(forgeries: ForgeryRun) -> None:
    """Float64 parameters, zeroed in place by the first forward (no patching): the probe recorded
    them as views, so the grader compared outputs on the attacker's weights (9/9; honest 6/9)."""
    attacker = student(forgeries.report, "forged_weights_inplace")
    honest = student(forgeries.report, "forged_weights_inplace_honest")
    changed = forgeries.observation("forged_weights_inplace").weights_changed
    assert changed is not None and changed.stage == "forward on input 0"  # the attack ran
    assert "paths.0.4.weight" in changed.names
    assert forgeries.observation("forged_weights_inplace_honest").weights_changed is None
    assert p4b_score(honest) == 6.0  # control: the ReLU after the sum costs equivalence
    # Outputs computed on other weights than those recorded explain nothing: the structure the
    # attacker reports waits for a TA (0 points now), where the honest layer's is proven.
    for aspect, (status, score) in p4b(attacker).items():
        want_status, want_score = p4b(honest)[aspect]
        if aspect in ("stm.param_count", "stm.independent", "stm.backward"):
            assert (status, score) == (Status.PENDING, 0.0), aspect
        else:
            assert (status, score) == (want_status, want_score), aspect
    assert attacker.score <= honest.score
    [equivalence] = [c for p in attacker.problems for c in p.checks if c.id == "stm.equivalence"]
    assert "your layer changes its parameters when it runs" in equivalence.message


def test_a_shared_layer_reported_as_independent_copies_earns_nothing(
    forgeries: ForgeryRun,
) -> None:
    """`[path] * 32` with a patched probe reporting 192 tensors (32 copies of the one path's
    values, a 32nd of its gradient each) passed every aspect before (9/9; honest 4/9)."""
    attacker = student(forgeries.report, "forged_shared_copies")
    honest = student(forgeries.report, "forged_shared_copies_honest")
    assert forgeries.observation("forged_shared_copies").n_tensors == 192  # the forgery ran
    assert forgeries.observation("forged_shared_copies_honest").n_tensors == 6
    assert p4b_score(honest) == 4.0  # control: count, independence and equivalence fail
    assert p4b_score(attacker) <= p4b_score(honest)
    assert attacker.score <= honest.score
    module = [c for p in attacker.problems for c in p.checks if c.id.startswith("stm.")]
    for check in module:
        if check.id != "stm.name":
            assert check.status is Status.ERROR, check
            assert check.message == (
                "the observation cannot be trusted: parameter paths.1.0.weight does not hold "
                "the values the grader gave it"
            )


def test_a_decoy_structure_earns_nothing(forgeries: ForgeryRun) -> None:
    """A probe patched to list a decoy of 32 independent paths (given, and reporting, the
    grader's own weights, so they verify) while a shared layer computes the outputs: before,
    param_count, independent and backward were credited on the decoy's word (6/9; honest 4/9).
    Now structure is credited only where the reference, given the reported tensors, reproduces
    the reported outputs; nothing does here, so those aspects wait for a TA, at 0 points."""
    attacker = student(forgeries.report, "forged_structure")
    honest = student(forgeries.report, "forged_structure_honest")
    assert forgeries.observation("forged_structure").n_tensors == 192  # the forgery ran
    assert p4b_score(honest) == 4.0  # control: the reference given 32 copies explains it
    assert p4b(honest)["stm.backward"] == (Status.PASSED, 1.0)  # its gradients, verified
    assert p4b(attacker)["stm.equivalence"] == (Status.FAILED, 0.0)  # the verified part holds
    for aspect in ("param_count", "independent", "backward"):
        assert p4b(attacker)[f"stm.{aspect}"] == (Status.PENDING, 0.0), aspect
    assert p4b_score(attacker) <= p4b_score(honest)
    assert attacker.score <= honest.score


def test_every_other_check_of_a_forger_is_graded_as_honest(forgeries: ForgeryRun) -> None:
    for name in FORGERIES:
        attacker, honest = (student(forgeries.report, n) for n in (name, f"{name}_honest"))
        others = {p.id: p.score for p in attacker.problems if p.id != "p4b"}
        assert others == {p.id: p.score for p in honest.problems if p.id != "p4b"}, name


# --------------------------------------------------------------------------------------------
# a homework named by path, or by an id no rubric has

EVIL_RUBRIC = """\
schema_version: 1
homework: mine
title: Every point is mine
problems:
  - id: p4a
    title: anything
    points: 100
    checks:
      - id: params_naive
        kind: number
        points: 100
        expected: 213504
"""


@pytest.fixture(scope="module")
def named_homeworks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GradeReport]:
    class_dir = tmp_path_factory.mktemp("homeworks") / "class"
    shutil.copytree(ALICE, class_dir / "alice", ignore=shutil.ignore_patterns("ddescent.py"))
    for name, homework in (("eve", None), ("mallory", "hw7"), ("rel", "../../class/rel/mine")):
        folder = class_dir / name
        shutil.copytree(ALICE, folder, ignore=shutil.ignore_patterns("ddescent.py"))
        (folder / "mine.yaml").write_text(EVIL_RUBRIC)
        homework = homework or (folder / "mine").as_posix()  # an absolute path, for eve
        sheet = (folder / "answers.toml").read_text()
        (folder / "answers.toml").write_text(
            sheet.replace('homework = "hw6"', f'homework = "{homework}"')
        )
    load_rubric(class_dir / "eve" / "mine.yaml")  # control: a rubric the old grader would use
    return class_dir, grade([class_dir], GradeOptions(jobs=2, select=SELECT))


def test_a_homework_named_by_path_or_unknown_id_leaves_one_student_unrecognised(
    named_homeworks: tuple[Path, GradeReport],
) -> None:
    class_dir, report = named_homeworks
    for name in ("eve", "mallory", "rel"):
        result = student(report, name)
        assert (result.homework, result.score, result.max_score) == ("unknown", 0.0, 0.0)
        sheet = (class_dir / name / "answers.toml").read_text().splitlines()
        line = next(i for i, text in enumerate(sheet, 1) if text.startswith("homework ="))
        assert result.error is not None
        assert result.error.startswith(f"{name}: answers.toml, line {line}: homework = ")
        assert (
            "is not a homework graded here (graded here: dl/hw2, mfdnn/hw2, mfdnn/hw3, "
            "mfdnn/hw4, mfdnn/hw6)" in result.error
        )


def test_classmates_of_an_unknown_homework_are_graded_as_alone(
    named_homeworks: tuple[Path, GradeReport], tmp_path: Path
) -> None:
    class_dir, report = named_homeworks
    alone = grade([class_dir / "alice"], GradeOptions(jobs=1, select=SELECT))
    assert student(report, "alice").model_dump() == student(alone, "alice").model_dump()
    assert student(alone, "alice").score == 18.0  # control: alice is alice


# --------------------------------------------------------------------------------------------
# namesakes

# Where each alice is, below the batch's folders, and whose files it holds.
NAMESAKES = {
    "class/alice": ALICE,
    "hw6/alice": SCENARIOS / "relu-after-sum",
    "sec1/alice": SCENARIOS / "shared-modulelist",
    "sec2/alice": ALICE,  # the same files as class/alice: the cache must not confuse them either
}


@pytest.fixture(scope="module")
def namesakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, GradeReport]]:
    root = tmp_path_factory.mktemp("namesakes")
    layout = {"class/alice": "class/alice", "hw6/alice": "class/hw6/alice"}
    for student_id, files in NAMESAKES.items():
        folder = root / layout.get(student_id, student_id)
        shutil.copytree(files, folder, ignore=shutil.ignore_patterns("ddescent.py"))
    paths = [root / "class", root / "sec1", root / "sec2"]
    yield root, grade(paths, GradeOptions(jobs=2, select=SELECT))


def test_namesakes_are_never_merged(namesakes: tuple[Path, GradeReport]) -> None:
    _, report = namesakes
    assert sorted(s.student for s in report.submissions) == sorted(NAMESAKES)


@pytest.mark.parametrize("student_id", sorted(NAMESAKES))
def test_each_namesake_is_graded_exactly_as_alone(
    namesakes: tuple[Path, GradeReport], student_id: str
) -> None:
    root, report = namesakes
    folder = root / {"class/alice": "class/alice", "hw6/alice": "class/hw6/alice"}.get(
        student_id, student_id
    )
    [alone] = grade([folder], GradeOptions(jobs=1, select=SELECT)).submissions
    assert alone.student == "alice"
    together = student(report, student_id)
    assert together.model_dump() == {**alone.model_dump(), "student": student_id}
    want = {ALICE: 18.0, SCENARIOS / "relu-after-sum": 15.0}.get(NAMESAKES[student_id])
    assert want is None or together.score == want  # control: the layers are graded apart
