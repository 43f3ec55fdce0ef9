"""Tests for grader.sandbox.recorded: recorded runs replay exactly, through the strict reader, and
only for the job they were recorded for.

The replay tests use a committed recording (the demo student alice's p4b module run); the round
trip through the real sandbox is marked `sandbox`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grader.ingest.submission import ingest
from grader.judges.kinds import plan_probe
from grader.rubric import ModuleCheck, Problem, Rubric, load_rubric
from grader.sandbox.confinement import bubblewrap_available
from grader.sandbox.jobs import ProbeOutcome, ProbeRequest, SandboxJob
from grader.sandbox.observations import ModuleObservation
from grader.sandbox.observe import Observer
from grader.sandbox.recorded import (
    MANIFEST,
    NoRecording,
    RecordedRunner,
    RecordingRunner,
    probe_folder,
    probe_sha256,
    read_manifests,
)

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "data" / "recorded"
ALICE = ROOT / "submissions" / "mfdnn" / "hw6" / "alice"


@pytest.fixture(scope="module")
def hw6() -> tuple[Rubric, Problem, ModuleCheck]:
    rubric = load_rubric(ROOT / "rubrics" / "mfdnn" / "hw6.yaml")
    problem = rubric.problem("p4b")
    (check,) = [c for c in problem.checks if isinstance(c, ModuleCheck)]
    return rubric, problem, check


def _observe(
    runner: RecordedRunner, hw6: tuple[Rubric, Problem, ModuleCheck], folder: Path, seed: int = 0
) -> ProbeOutcome | None:
    """The outcome of p4b's module probe as the grader plans it (`Observer`), from `runner`."""
    _, problem, check = hw6
    outcome, _ = Observer(runner, plan_probe, run_seed=seed).outcome(ingest(folder), problem, check)
    return outcome


def _alice_recording() -> Path:
    """Alice's module probe as the staff's grader plans it (her students' bundle run on the
    reference's weights is another recording of the same probe id)."""
    (folder,) = [
        f
        for f in RECORDED.glob("alice--*")
        if (f / "p4b.stm").is_dir()
        and json.loads((f / MANIFEST).read_text())["job"]["plan"][0]["kind"] == "module"
    ]
    return folder


def test_a_recorded_run_is_replayed_through_the_strict_reader(hw6) -> None:
    runner = RecordedRunner(RECORDED)
    outcome = _observe(runner, hw6, ALICE)
    assert outcome is not None and outcome.problem is None
    assert isinstance(outcome.observation, ModuleObservation)
    assert outcome.observation.id == "p4b.stm" and outcome.observation.error is None
    assert {"out0", "out1", "param0", "grad0"} <= set(outcome.arrays)
    assert outcome.arrays["out0"].shape == (2, 256, 8, 8)
    assert len(runner.replayed) == 1 and runner.refused == []


def test_another_run_seed_is_refused_loudly(hw6) -> None:
    """Module inputs are drawn per run seed: alice's seed-0 recording is not her seed-1 run."""
    runner = RecordedRunner(RECORDED)
    with pytest.raises(NoRecording, match=r"alice's p4b\.stm") as raised:
        _observe(runner, hw6, ALICE, seed=1)
    assert "differ in files, plan or inputs" in str(raised.value)
    assert "README.md" in str(raised.value)  # says how to record again
    assert runner.refused == [str(raised.value)]


def test_a_changed_file_is_refused(hw6, tmp_path: Path) -> None:
    folder = shutil.copytree(ALICE, tmp_path / "alice")
    with (folder / "stm.py").open("a") as fh:
        fh.write("# one more line\n")
    with pytest.raises(NoRecording):
        _observe(RecordedRunner(RECORDED), hw6, folder)
    shutil.copy(ALICE / "stm.py", folder / "stm.py")  # control: as recorded, it replays
    assert _observe(RecordedRunner(RECORDED), hw6, folder) is not None


def test_a_student_nothing_is_recorded_for_is_refused(hw6, tmp_path: Path) -> None:
    folder = shutil.copytree(ALICE, tmp_path / "zed")  # same files, another student's seed
    with pytest.raises(NoRecording, match="nothing is recorded for this student"):
        _observe(RecordedRunner(RECORDED), hw6, folder)


def _tampered_copy(tmp_path: Path) -> Path:
    copy = shutil.copytree(_alice_recording(), tmp_path / "recorded" / "alice")
    return copy / "p4b.stm"


def test_a_tampered_observation_is_a_problem_never_a_verdict(hw6, tmp_path: Path) -> None:
    probe = _tampered_copy(tmp_path)
    observed = json.loads((probe / "0.json").read_text())
    (probe / "0.json").write_text(json.dumps({**observed, "id": "p4b.other"}))
    outcome = _observe(RecordedRunner(tmp_path / "recorded"), hw6, ALICE)
    assert outcome is not None and outcome.observation is None
    assert outcome.problem is not None and "tampered" in outcome.problem


def test_a_damaged_array_index_is_a_problem(hw6, tmp_path: Path) -> None:
    probe = _tampered_copy(tmp_path)
    index = json.loads((probe / "0.arrays.json").read_text())
    index[0]["dtype"] = "|O"  # objects: never unpickled
    (probe / "0.arrays.json").write_text(json.dumps(index))
    outcome = _observe(RecordedRunner(tmp_path / "recorded"), hw6, ALICE)
    assert outcome is not None and outcome.arrays == {}
    assert outcome.problem is not None and "unreadable arrays" in outcome.problem


def test_every_recording_comes_from_the_current_probe() -> None:
    """A recording shows what `inside/probe.py` sent when it was made: after the probe changes,
    the judges' tests would read what it no longer sends. Record them again (README.md)."""
    recordings = read_manifests(RECORDED)
    assert recordings, f"no recordings under {RECORDED}"
    stale = sorted(
        str(folder.relative_to(RECORDED))
        for folder, manifest in recordings.values()
        if manifest["probe_sha256"] != probe_sha256()
    )
    assert not stale, (
        f"{len(stale)} recordings were made by another version of grader/sandbox/inside/probe.py "
        f"(e.g. {stale[:3]}); record them again as tests/data/recorded/README.md says"
    )


def test_every_recording_is_whole() -> None:
    """Each manifest's probes have their folder and the probe's JSON (or a recorded crash)."""
    for folder, manifest in read_manifests(RECORDED).values():
        assert (folder / MANIFEST).is_file()
        for probe in manifest["job"]["probes"]:  # `p7.run@seed1` is kept in `p7.run_seed1/`
            assert (folder / probe_folder(probe)).is_dir(), (folder, probe)
            assert probe in manifest["runs"], (folder, probe)


SMALL = """
import torch


class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, x):
        print("forward", x.shape)
        return self.lin(x)
"""


@pytest.mark.sandbox
@pytest.mark.skipif(not bubblewrap_available(), reason="recordings are made under bubblewrap only")
def test_a_recording_replays_what_the_real_sandbox_returned(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "m.py").write_text(SMALL)
    spec = {"file": "m.py", "class_name": "M", "init_args": [], "seed": 3}
    spec |= {"inputs": ["x0"], "cotangent": "g0"}
    request = ProbeRequest(id="p.m", kind="module", timeout_s=30.0, spec=spec)
    rng = np.random.default_rng(0)
    inputs = {
        "x0": rng.standard_normal((4, 3)).astype(np.float32),
        "g0": rng.standard_normal((4, 2)),
    }
    job = SandboxJob(sub, (request,), inputs)
    recorder = RecordingRunner(tmp_path / "recorded")
    try:
        live = recorder.run(job)
    finally:
        recorder.close()
    (folder,) = recorder.recorded
    assert sorted(p.name for p in (folder / "p.m").iterdir()) == [
        "0.arrays.json",
        "0.bin",
        "0.json",
    ]
    replayed = RecordedRunner(tmp_path / "recorded").run(job)
    assert replayed.outcomes["p.m"].observation == live.outcomes["p.m"].observation
    assert live.outcomes["p.m"].observation is not None
    assert "forward" in live.outcomes["p.m"].observation.printed.stdout
    assert replayed.outcomes["p.m"].arrays.keys() == live.outcomes["p.m"].arrays.keys()
    for name, array in live.outcomes["p.m"].arrays.items():
        np.testing.assert_array_equal(replayed.outcomes["p.m"].arrays[name], array)
    assert (replayed.exit_code, replayed.timed_out, replayed.limit_hit) == (
        live.exit_code,
        live.timed_out,
        live.limit_hit,
    )
    other = SandboxJob(sub, (request,), {**inputs, "x0": inputs["x0"] + 1})
    with pytest.raises(NoRecording):  # the same plan on other inputs
        RecordedRunner(tmp_path / "recorded").run(other)
