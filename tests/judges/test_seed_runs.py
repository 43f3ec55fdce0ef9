"""Seeds under the rubric's control: a script check's `seeds` (one run of the student's script
per seed, the seed imposed on its seeding calls) and `compare_run` comparing each run with the
reference replayed under the same seed.

The judge is tested here on made-up observations (how several runs combine into one verdict)
and on runs of the real probe recorded in tests/data/recorded/ (each seeding style, a script
that never seeds, one fitted to the starter's seed, a hostile one); the probe's side of it, on
the real sandbox, is tests/sandbox/test_seeding.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from grader.ingest.submission import ingest
from grader.judges.compare_run import judge_compare_run
from grader.judges.context import GradingContext
from grader.judges.crashes import Locator
from grader.judges.planning import plan_script
from grader.judges.script import Ran
from grader.reference import Reference
from grader.results import CheckResult, Status
from grader.rubric import MAX_SEED_RUNS, MAX_SEED_RUNS_S, Problem, Rubric, ScriptCheck
from grader.sandbox.observations import GlobalInfo, ScriptObservation, SeedingCall, SeedingInfo
from grader.sandbox.observe import Observer


def _run(seed: int = 0, scale: float = 1.0) -> dict[str, np.ndarray]:
    """The starter's 'training run' replayed: NumPy's legacy generator seeded, X then w drawn."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=5)
    return {"w": scale * rng.normal(size=4), "X": X}


REFERENCE = ModuleType("seeds_reference")
REFERENCE.run = _run  # type: ignore[attr-defined]

RUBRIC_TEXT = """
schema_version: 1
homework: hw9
title: t
problems:
  - id: p1
    points: 3
    checks:
      - {id: run, kind: script, points: 1, file: train.py, globals: [w],
         reads: {data: [X]}, analysis: observe, reference: run,
         aspects: {runs: 1}, timeout_s: 60, seeds: SEEDS}
      - id: fit
        kind: compare_run
        points: 2
        run: run
        reference: run
        compare: {w: {names: [w]}}
        given: {X: {names: [X]}}
        for_ta: read the update
        variants:
          scale:
            - args: {scale: 1.0}
            - {args: {scale: 2.0}, mistake: "the step is twice too long"}
"""


def _rubric(seeds: str) -> Rubric:
    return Rubric.model_validate(yaml.safe_load(RUBRIC_TEXT.replace("SEEDS", seeds)))


def _ran(w: np.ndarray, seeding: SeedingInfo | None = None, X: Any = None) -> Ran:
    arrays = {"global.w": np.asarray(w, dtype=float)}
    if X is not None:
        arrays["global.X"] = np.asarray(X, dtype=float)
    globals_ = [GlobalInfo(name=k.removeprefix("global."), defined=True) for k in arrays]
    obs = ScriptObservation(
        kind="script", id="p1.run", stage="done", globals=globals_, seeding=seeding
    )
    return Ran("train.py", obs, arrays, Locator({}))


def _judge_runs(seeds: str, runs: dict[str, Ran]) -> CheckResult:
    """compare_run on made-up runs, keyed by the script check's id for each seed."""
    rubric = _rubric(seeds)
    problem = rubric.problem("p1")
    sub = SimpleNamespace(unassembled={})
    ctx = GradingContext(sub, rubric, Reference(REFERENCE), observer=None)  # type: ignore[arg-type]
    for key, ran in runs.items():
        ctx.memo[f"script:p1.{key}"] = ran
    return judge_compare_run(problem, problem.checks[1], None, ctx)  # type: ignore[arg-type]


# --- the rubric ------------------------------------------------------------------------------


def _script(**fields: Any) -> ScriptCheck:
    base = {
        "kind": "script",
        "id": "run",
        "points": 1,
        "file": "train.py",
        "globals": ["w"],
        "analysis": "observe",
        "reference": "run",
        "aspects": {"runs": 1},
    }
    return ScriptCheck.model_validate({**base, **fields})


def test_by_default_the_script_runs_once_as_written() -> None:
    check = _script()
    assert check.seeds == ["starter"] and not check.imposes_seeds
    assert [(label, run.id) for label, run in check.seed_runs()] == [("starter", "run")]


def test_each_seed_is_a_run_of_its_own_with_its_seed_first() -> None:
    check = _script(seeds=["starter", 1, 2], timeout_s=600)
    runs = check.seed_runs()
    assert [(label, run.id, run.seeds[0]) for label, run in runs] == [
        ("starter", "run", "starter"),
        ("seed1", "run@seed1", 1),
        ("seed2", "run@seed2", 2),
    ]
    assert all(run.imposes_seeds for _, run in runs)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"seeds": [0, 0]}, "name a run twice"),
        ({"seeds": list(range(MAX_SEED_RUNS + 1)), "timeout_s": 1}, f"at most {MAX_SEED_RUNS}"),
        ({"seeds": [0, 1, 2], "timeout_s": MAX_SEED_RUNS_S / 2}, f"{MAX_SEED_RUNS_S:g} s in all"),
        ({"seeds": []}, "at least 1"),
        ({"seeds": [-1]}, "greater than or equal to 0"),
        ({"seeds": [2**32]}, "less than"),
        ({"seeds": [True]}, "valid integer"),
        ({"seeds": ["as written"]}, "starter"),
    ],
)
def test_seeds_the_rubric_cannot_ask_for(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        _script(**fields)


def test_the_cap_is_on_the_runs_time_together() -> None:
    """Two runs of half the budget each fit; a third does not."""
    assert len(_script(seeds=[0, 1], timeout_s=MAX_SEED_RUNS_S / 2).seed_runs()) == 2


def test_the_default_plan_is_unchanged_and_a_seed_is_planned_per_run(tmp_path: Path) -> None:
    """The default leaves the plan as it was (so the cache and recordings still hold); each
    other run plans the seed it imposes, and a starter run among several only watches."""
    (tmp_path / "train.py").write_text("import numpy as np\nw = np.zeros(4)\n")
    sub = ingest(tmp_path, "s")
    default = _script()
    target = plan_script(sub, Problem(id="p1", points=1, checks=[default]), default, 0)
    assert target.request is not None and "seeding" not in target.request.spec
    check = _script(seeds=["starter", 7], timeout_s=60)
    problem = Problem(id="p1", points=1, checks=[check])
    specs = [plan_script(sub, problem, run, 0).request for _, run in check.seed_runs()]
    assert [(r.id, r.spec["seeding"]) for r in specs if r is not None] == [
        ("p1.run", {"impose": None}),
        ("p1.run@seed7", {"impose": 7}),
    ]


# --- the judge: several runs, one verdict -----------------------------------------------------


def test_one_run_as_written_is_judged_as_before() -> None:
    result = _judge_runs("[starter]", {"run": _ran(_run()["w"])})
    assert (result.status, result.message, result.details) == (
        Status.PASSED,
        "the run is the reference's",
        [],
    )


def test_every_run_the_reference_s_under_its_seed_passes() -> None:
    runs = {"run": _ran(_run()["w"]), "run@seed3": _ran(_run(3)["w"])}
    result = _judge_runs("[starter, 3]", runs)
    assert result.status is Status.PASSED
    assert result.message == "the run is the reference's (each run: starter, seed3)"
    assert result.score == 2


def test_a_run_fitted_to_the_starter_s_seed_goes_to_a_ta_with_each_run_s_finding() -> None:
    """Numbers that match only the starter's seed (a final w typed in): the run under another
    seed matches nothing, so the grader cannot say what the code does."""
    fitted = _run()["w"]
    result = _judge_runs("[starter, 3]", {"run": _ran(fitted), "run@seed3": _ran(fitted)})
    assert result.status is Status.PENDING and result.score == 0
    assert "(starter, seed3) do not compare alike" in result.message
    assert result.details[0] == "starter: the run is the reference's"
    assert result.details[1].startswith("seed3: the final w (`w`) is neither the reference run's")


def test_the_same_known_mistake_under_every_seed_names_it() -> None:
    runs = {
        "run": _ran(_run(1, scale=2.0)["w"]),  # the first run is the check's own
        "run@seed2": _ran(_run(2, scale=2.0)["w"]),
    }
    result = _judge_runs("[1, 2]", runs)
    assert (result.status, result.message) == (Status.FAILED, "the step is twice too long")
    assert result.details == [
        "seed1: the step is twice too long",
        "seed2: the step is twice too long",
    ]


def test_a_mistake_under_one_seed_only_goes_to_a_ta() -> None:
    runs = {"run": _ran(_run(1)["w"]), "run@seed2": _ran(_run(2, scale=2.0)["w"])}
    result = _judge_runs("[1, 2]", runs)
    assert result.status is Status.PENDING
    assert result.details == [
        "seed1: the run is the reference's",
        "seed2: the step is twice too long",
    ]


def test_a_run_that_could_not_be_observed_makes_the_verdict_wait() -> None:
    verdict = (Status.ERROR, "train.py could not be observed: timed out", [], None, None)
    rubric = _rubric("[starter, 3]")
    problem = rubric.problem("p1")
    sub = SimpleNamespace(unassembled={})
    ctx = GradingContext(sub, rubric, Reference(REFERENCE), observer=None)  # type: ignore[arg-type]
    ctx.memo["script:p1.run"] = _ran(_run()["w"])
    ctx.memo["script:p1.run@seed3"] = verdict
    result = judge_compare_run(problem, problem.checks[1], None, ctx)  # type: ignore[arg-type]
    assert result.status is Status.PENDING
    assert "seed3: train.py could not be observed: timed out (see run)" in result.details


def test_what_the_seeding_calls_say_is_shown_never_trusted() -> None:
    """A run under the rubric's seed that matches passes, whatever the probe claims it saw;
    a run that never seeds is told so when it cannot be placed."""
    never = SeedingInfo(imposed=None, calls=[])
    lying = SeedingInfo(
        imposed=3,
        calls=[SeedingCall(call="np.random.seed", given="0", used="3", file="train.py", line=2)],
    )
    # the 'lying' run claims seed 3 was used but holds the seed-0 run: it is not seed 3's
    runs = {"run": _ran(_run(5)["w"], never), "run@seed3": _ran(_run(0)["w"], lying)}
    result = _judge_runs("[starter, 3]", runs)
    assert result.status is Status.PENDING
    assert "starter: the script never seeds a random generator" in " ".join(result.details)
    assert "seed3: train.py:2: np.random.seed(0) ran as np.random.seed(3)" in result.details


# --- the judge on recorded runs of the real probe ---------------------------------------------

STARTER = """\
import numpy as np

np.random.seed(0)
X = np.random.normal(size=5)
w = np.random.normal(size=4)
"""

SCRIPTS = {
    # as the starter seeds it, under each of the other seeding styles, and the known mistake
    "numpy": STARTER,
    "mistake": STARTER + "w = 2 * w\n",
    # `from numpy.random import seed`: the patched function is what the import finds
    "imported": STARTER.replace("np.random.seed(0)", "from numpy.random import seed\nseed(0)"),
    # numbers typed in from the starter's run: right under seed 0 only
    "fitted": "import numpy as np\n\nX = np.array({X})\nw = np.array({w})\n".format(
        X=list(_run()["X"]), w=list(_run()["w"])
    ),
    # never seeds: the grader seeds NumPy before the run
    "unseeded": STARTER.replace("np.random.seed(0)\n", ""),
    # reseeds from the OS's entropy, and draws from a generator built from os.urandom
    "hostile": textwrap.dedent(
        """\
        import os
        import numpy as np

        np.random.seed(0)
        X = np.random.normal(size=5)
        np.random.seed()
        rng = np.random.Generator(np.random.PCG64(int.from_bytes(os.urandom(8), "little")))
        w = np.random.normal(size=4) + rng.normal(size=4)
        """
    ),
}


def _judge_recorded(tmp_path: Path, runner: Any, name: str, seeds: str) -> CheckResult:
    folder = tmp_path / f"seeds-{name}"
    folder.mkdir()
    (folder / "train.py").write_text(SCRIPTS[name])
    rubric = _rubric(seeds)
    problem = rubric.problem("p1")
    sub = ingest(folder)
    observer = Observer(runner, plan=plan_script)
    ctx = GradingContext(sub, rubric, Reference(REFERENCE), observer)
    return judge_compare_run(problem, problem.checks[1], None, ctx)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("numpy", Status.PASSED, "the run is the reference's (each run: starter, seed3)"),
        ("imported", Status.PASSED, "the run is the reference's (each run: starter, seed3)"),
        ("mistake", Status.FAILED, "the step is twice too long"),
        ("fitted", Status.PENDING, "pending: the runs under the rubric's seeds (starter, seed3)"),
        ("unseeded", Status.PENDING, "pending: the runs under the rubric's seeds (starter, seed3)"),
        ("hostile", Status.PENDING, "pending: no run could be placed (starter: the final w"),
    ],
)
def test_recorded_runs_under_the_rubric_s_seeds(
    tmp_path: Path, recorded_runner: Any, name: str, status: Status, message: str
) -> None:
    result = _judge_recorded(tmp_path, recorded_runner(), name, "[starter, 3]")
    assert result.status is status, result
    assert result.message.startswith(message), result.message
    details = " | ".join(result.details)
    if name == "unseeded":
        assert "starter: the script never seeds a random generator" in details
        assert "seed3: the run is the reference's" in details
    if name == "hostile":
        assert "train.py:6: np.random.seed() takes its seed from the OS" in details
        assert "train.py:4: np.random.seed(0) ran as np.random.seed(3)" in details
    if name == "fitted":
        assert "seed3: the script never seeds a random generator" in details


def test_a_recorded_run_as_written_is_judged_as_before(
    tmp_path: Path, recorded_runner: Any
) -> None:
    result = _judge_recorded(tmp_path, recorded_runner(), "numpy", "[starter]")
    assert (result.status, result.message, result.details) == (
        Status.PASSED,
        "the run is the reference's",
        [],
    )
    result = _judge_recorded(tmp_path, recorded_runner(), "unseeded", "[starter]")
    assert result.status is Status.PENDING and result.details == []


def test_grade_check_replays_the_reference_under_each_imposed_seed(tmp_path: Path) -> None:
    """`grade check` replays what the judge will replay: here a reference that cannot run
    under seed 9, which the script check imposes."""
    from grader.authoring import check_homework
    from grader.courses import Homework

    (tmp_path / "reference" / "hw9").mkdir(parents=True)
    (tmp_path / "reference" / "hw9" / "__init__.py").write_text(
        "import numpy as np\n\n\n"
        "def run(seed=0, scale=1.0):\n"
        "    if seed == 9:\n"
        "        raise ValueError('no seed 9 here')\n"
        "    rng = np.random.RandomState(seed)\n"
        "    X = rng.normal(size=5)\n"
        "    return {'w': scale * rng.normal(size=4), 'X': X}\n"
    )
    for seeds, fails in (("[starter, 3]", False), ("[starter, 9]", True)):
        rubric = tmp_path / "hw9.yaml"
        text = RUBRIC_TEXT.replace("SEEDS", seeds).replace(
            "title: t\n", "title: t\nreference: hw9\n"
        )
        rubric.write_text(text)
        problems = check_homework(Homework("c", "hw9", rubric, tmp_path / "reference")).problems
        assert any("'seed': 9} fails: no seed 9 here" in p for p in problems) is fails, problems


# --- the probe's seeding watch, in this process (the sandbox tests run it for real) -----------


LIBRARY = "np.random.seed(0)\ny = np.random.normal()\n"


def test_the_probe_imposes_the_seed_on_student_calls_only_and_undoes_its_patches() -> None:
    """Calls from the submission's files get the seed and are reported; a library's own call
    (code from a file outside the probe's submission folder) is left alone."""
    import random

    from grader.sandbox.inside import probe

    originals = (np.random.seed, np.random.default_rng, random.seed)
    state = np.random.get_state()
    obs: dict[str, Any] = {}
    student = probe.SUBMISSION / "train.py"  # where the probe takes the student's files to be
    code = compile(
        "np.random.seed(0)\nx = np.random.normal()\nnp.random.seed()\n", str(student), "exec"
    )
    try:
        undo = probe._watch_seeding({"impose": 7}, obs)
        namespace: dict[str, Any] = {"np": np}
        exec(code, namespace)
        library: dict[str, Any] = {"np": np}
        exec(compile(LIBRARY, "/not-the-submission/lib.py", "exec"), library)  # as called
        undo()
    finally:
        np.random.set_state(state)
    assert namespace["x"] == np.random.RandomState(7).normal()
    assert library["y"] == np.random.RandomState(0).normal()
    assert [(c["call"], c["given"], c["used"], c["line"]) for c in obs["seeding"]["calls"]] == [
        ("np.random.seed", "0", "7", 1),
        ("np.random.seed", "None", "None", 3),
    ]
    assert (np.random.seed, np.random.default_rng, random.seed) == originals
    assert obs["seeding"]["imposed"] == 7
    assert SeedingInfo.model_validate(obs["seeding"]).calls[0].used == "7"
    no_plan: dict[str, Any] = {}
    probe._watch_seeding(None, no_plan)()
    assert no_plan == {}


def test_one_run_is_bounded_by_its_own_time_limit_only() -> None:
    """The cap is on several runs together: a single long run loads as it always did."""
    assert _script(timeout_s=2 * MAX_SEED_RUNS_S).seed_runs()[0][1].timeout_s == 2 * MAX_SEED_RUNS_S
    assert _script(seeds=[3], timeout_s=2 * MAX_SEED_RUNS_S).seeds == [3]
