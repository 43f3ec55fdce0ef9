"""Tests for grader.sandbox.cache: a re-grade reads back exactly what the sandbox produced, or runs
again.

The inner runner here returns a recorded result (the cache is under test, not the sandbox: the
real sandbox behind the cache is exercised by tests/scenarios/test_cli.py's interrupted-batch test).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox.cache import CachingRunner
from grader.sandbox.jobs import ProbeOutcome, ProbeRequest, SandboxJob, SandboxResult
from grader.sandbox.observations import ModuleObservation

ARRAYS = {
    "out0": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    "grad0": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    "param1": np.arange(5, dtype=">i4"),
    "scalar": np.array(2.5),
    "empty": np.zeros((0, 3)),
    "flags": np.array([True, False]),
}


class Recorded:
    isolation = "bubblewrap"

    def __init__(self) -> None:
        self.calls = 0

    def run(self, job: SandboxJob) -> SandboxResult:
        self.calls += 1
        observation = ModuleObservation(kind="module", id="p.m", stage="done", n_tensors=3)
        return SandboxResult(
            outcomes={"p.m": ProbeOutcome(observation, dict(ARRAYS))},
            exit_code=0,
            timed_out=False,
            stdout_tail="",
            stderr_tail="",
            seconds=1.0,
            isolation="bubblewrap",
        )


@pytest.fixture
def job(tmp_path: Path) -> SandboxJob:
    sub = tmp_path / "alice"
    sub.mkdir()
    (sub / "stm.py").write_text("x = 1\n")
    request = ProbeRequest(id="p.m", kind="module", timeout_s=10, spec={"file": "stm.py"})
    return SandboxJob(sub, (request,), {"x0": np.ones((1, 2))})


def test_a_cached_run_comes_back_array_for_array(tmp_path: Path, job: SandboxJob) -> None:
    inner = Recorded()
    cache = CachingRunner(inner, tmp_path / "cache")
    fresh = cache.run(job)
    again = cache.run(job)
    assert (inner.calls, cache.hits, cache.misses) == (1, 1, 1)
    got = again.outcomes["p.m"]
    assert got.observation == fresh.outcomes["p.m"].observation
    assert sorted(got.arrays) == sorted(ARRAYS)
    for name, want in ARRAYS.items():
        assert got.arrays[name].dtype == want.dtype and got.arrays[name].shape == want.shape
        assert np.array_equal(got.arrays[name], want), name
    got.arrays["out0"][0, 0, 0] = -1.0  # writable, and only its own slice changes
    assert np.array_equal(got.arrays["grad0"], ARRAYS["grad0"])


def test_changed_files_or_inputs_run_again(tmp_path: Path, job: SandboxJob) -> None:
    inner = Recorded()
    cache = CachingRunner(inner, tmp_path / "cache")
    cache.run(job)
    (job.submission_dir / "stm.py").write_text("x = 2\n")
    cache.run(job)
    cache.run(SandboxJob(job.submission_dir, job.requests, {"x0": np.zeros((1, 2))}))
    assert inner.calls == 3


def _entry(cache_dir: Path) -> Path:
    (entry,) = [p for p in cache_dir.iterdir() if not p.name.startswith(".")]
    return entry


@pytest.mark.parametrize(
    "damage",
    [
        "object_dtype",
        "past_the_end",
        "negative_shape",
        "missing_file",
        "truncated_meta",
        "observation_not_valid",
    ],
)
def test_a_damaged_entry_is_run_again_never_trusted(
    tmp_path: Path, job: SandboxJob, damage: str
) -> None:
    inner = Recorded()
    cache = CachingRunner(inner, tmp_path / "cache")
    cache.run(job)
    entry = _entry(tmp_path / "cache")
    meta = json.loads((entry / "meta.json").read_text())
    (out0,) = [a for a in meta["outcomes"]["p.m"]["arrays"] if a["name"] == "out0"]
    if damage == "object_dtype":
        out0["dtype"] = "|O"
    elif damage == "past_the_end":
        out0["at"] = (entry / "0.bin").stat().st_size - 8
    elif damage == "negative_shape":
        out0["shape"] = [-1, 4]
    elif damage == "missing_file":
        (entry / "0.bin").unlink()
    elif damage == "observation_not_valid":
        (entry / "0.json").write_text('{"kind": "module", "id": "p.m", "stage": 7}')
    (entry / "meta.json").write_text(
        json.dumps(meta)[: -10 if damage == "truncated_meta" else None]
    )
    result = cache.run(job)
    assert inner.calls == 2 and cache.misses == 2
    assert np.array_equal(result.outcomes["p.m"].arrays["out0"], ARRAYS["out0"])
