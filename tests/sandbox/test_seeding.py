"""The probe imposes the rubric's seed on a student script's seeding calls, in the real sandbox.

A script check's `seeds` (grader/rubric.py) plans one run per seed (grader/judges/planning.py);
inside, `_watch_seeding` (grader/sandbox/inside/probe.py) makes each seeding call of the
student's code with the rubric's seed, seeds the generators before the run, and reports the
calls it saw. What the runs hold is checked here against the generators seeded by hand; what
the judge makes of them is tests/judges/test_seed_runs.py.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.ingest.submission import ingest
from grader.judges.planning import plan_script
from grader.rubric import Problem, ScriptCheck
from grader.sandbox.jobs import Limits, SandboxJob
from grader.sandbox.observations import ScriptObservation
from grader.sandbox.runner import SandboxRunner

pytestmark = pytest.mark.sandbox

#: Each seeding style the probe imposes a seed on, each drawing from its own generator.
EVERY_STYLE = textwrap.dedent(
    """\
    import random
    import numpy as np
    import torch

    np.random.seed(0)
    a = np.random.normal(size=3)
    rng = np.random.default_rng(0)
    b = rng.normal(size=3)
    torch.manual_seed(0)
    c = torch.randn(3).numpy()
    random.seed(0)
    d = np.array([random.random() for _ in range(3)])
    """
)


def expected(seed: int) -> dict[str, np.ndarray]:
    """What EVERY_STYLE leaves when each of its seeding calls is given `seed`."""
    np_state = np.random.RandomState(seed)
    torch_generator = torch.Generator().manual_seed(seed)
    python = random.Random(seed)
    return {
        "a": np_state.normal(size=3),
        "b": np.random.default_rng(seed).normal(size=3),
        "c": torch.randn(3, generator=torch_generator).numpy(),
        "d": np.array([python.random() for _ in range(3)]),
    }


def runs(
    tmp_path: Path, source: str, seeds: list[int | str]
) -> list[tuple[ScriptObservation, dict]]:
    """The script run once per entry of `seeds`, as the grader plans it: (observation, arrays)."""
    (tmp_path / "train.py").write_text(source)
    check = ScriptCheck.model_validate(
        {
            "kind": "script",
            "id": "run",
            "points": 1,
            "file": "train.py",
            "globals": ["a", "b", "c", "d"],
            "analysis": "observe",
            "reference": "unused",
            "aspects": {"runs": 1},
            "timeout_s": 60,
            "seeds": seeds,
        }
    )
    problem = Problem(id="p1", points=1, checks=[check])
    sub = ingest(tmp_path, "s")
    found = []
    for _, run in check.seed_runs():
        target = plan_script(sub, problem, run, 0)
        assert target.request is not None
        job = SandboxJob(tmp_path, (target.request,), target.inputs, Limits(wall_s=90))
        outcome = SandboxRunner().run(job).outcomes[target.request.id]
        obs = outcome.observation
        assert isinstance(obs, ScriptObservation) and obs.error is None, outcome
        found.append((obs, outcome.arrays))
    return found


def values(arrays: dict, names: str = "abcd") -> dict[str, np.ndarray]:
    return {name: arrays[f"global.{name}"] for name in names if f"global.{name}" in arrays}


def test_each_seeding_style_runs_with_the_rubric_s_seed_and_is_reported(tmp_path: Path) -> None:
    (as_written, as_written_arrays), (seeded, seeded_arrays) = runs(
        tmp_path, EVERY_STYLE, ["starter", 7]
    )
    for name, value in expected(0).items():  # as written: the script's own seed 0
        np.testing.assert_array_equal(values(as_written_arrays)[name], value, err_msg=name)
    for name, value in expected(7).items():  # the rubric's seed 7, in every generator
        np.testing.assert_allclose(values(seeded_arrays)[name], value, err_msg=name)
    assert not np.allclose(values(seeded_arrays)["a"], expected(0)["a"])
    calls = ["np.random.seed", "np.random.default_rng", "torch.manual_seed", "random.seed"]
    assert as_written.seeding is not None and seeded.seeding is not None
    assert (as_written.seeding.imposed, seeded.seeding.imposed) == (None, 7)
    assert [(c.call, c.given, c.used) for c in as_written.seeding.calls] == [
        (call, "0", "0") for call in calls
    ]
    assert [(c.call, c.given, c.used, c.file) for c in seeded.seeding.calls] == [
        (call, "0", "7", "train.py") for call in calls
    ]
    assert [c.line for c in seeded.seeding.calls] == [5, 7, 9, 11]


def test_a_script_that_never_seeds_runs_from_the_rubric_s_seed(tmp_path: Path) -> None:
    """The generators are seeded before the run: the draws are the seed's, and no call is seen."""
    source = "\n".join(
        line
        for line in EVERY_STYLE.splitlines()
        if "seed" not in line and "default_rng" not in line
    ).replace("b = rng.normal(size=3)", "b = np.zeros(3)")
    ((obs, arrays),) = runs(tmp_path, source, [7])
    assert obs.seeding is not None and obs.seeding.calls == [] and obs.seeding.imposed == 7
    seven = expected(7)
    for name in "acd":
        np.testing.assert_allclose(values(arrays)[name], seven[name], err_msg=name)


def test_a_script_that_seeds_twice_gets_the_seed_each_time(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """\
        import numpy as np

        np.random.seed(0)
        a = np.random.normal(size=3)
        np.random.seed(seed=0)
        b = np.random.normal(size=3)
        c = d = 0.0
        """
    )
    ((obs, arrays),) = runs(tmp_path, source, [7])
    seven = np.random.RandomState(7).normal(size=3)
    np.testing.assert_array_equal(values(arrays)["a"], seven)
    np.testing.assert_array_equal(values(arrays)["b"], seven)
    assert obs.seeding is not None
    assert [(c.given, c.used, c.line) for c in obs.seeding.calls] == [("0", "7", 3), ("0", "7", 5)]


def test_a_hostile_script_that_reseeds_from_the_os_is_left_as_written_and_reported(
    tmp_path: Path,
) -> None:
    """`np.random.seed()` (entropy from the OS) and a generator built from os.urandom are not
    tamed: the runs differ from the seed's, the call is reported, and nothing crashes."""
    source = textwrap.dedent(
        """\
        import os
        import time
        import numpy as np

        np.random.seed()
        a = np.random.normal(size=3)
        bits = np.random.PCG64(int.from_bytes(os.urandom(8), "little") ^ time.time_ns())
        b = np.random.Generator(bits).normal(size=3)
        c = d = 0.0
        """
    )
    ((first, arrays), (second, other)) = runs(tmp_path, source, [7, 8])
    seven = np.random.RandomState(7).normal(size=3)
    assert not np.allclose(values(arrays)["a"], seven)
    assert not np.allclose(values(arrays)["a"], values(other)["a"])
    assert not np.allclose(values(arrays)["b"], values(other)["b"])
    for obs in (first, second):
        assert obs.seeding is not None
        assert [(c.call, c.given, c.used, c.line) for c in obs.seeding.calls] == [
            ("np.random.seed", "None", "None", 5)
        ]


def test_the_default_run_watches_nothing(tmp_path: Path) -> None:
    """One run as written (no `seeds`): no seeding report, the script's own seed."""
    ((obs, arrays),) = runs(tmp_path, EVERY_STYLE, ["starter"])
    assert obs.seeding is None
    np.testing.assert_array_equal(values(arrays)["a"], expected(0)["a"])
