"""Test-wide setup: one BLAS thread, the `sandbox` marker, recorded sandbox runs for judges, no
warm worker outside sandbox tests, and a frozen heap once the tests are collected.

The BLAS variables are set before any test module (and so numpy) is imported, for the reason
given in grader/__init__.py.

Tests that run student code in the real sandbox are marked `sandbox` (tests/sandbox/,
tests/security/, and the few elsewhere whose subject is the sandbox path itself); each of them is
also `slow`, so `pytest -m "not slow"` never starts a sandbox. Judge tests of the probed kinds
(`module`, `script`) get their runs from tests/data/recorded/ through the `recorded_runner`
fixture instead; `pytest --record-sandbox` runs those same tests on the real sandbox and records
the runs again (tests/data/recorded/README.md).
"""

from __future__ import annotations

import gc
import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from collections.abc import Callable, Iterator  # noqa: E402  (after the BLAS variables)
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

from grader.sandbox.runner import WARM_VAR  # noqa: E402

if TYPE_CHECKING:
    from grader.sandbox.jobs import SandboxJob, SandboxResult

RECORDED = Path(__file__).resolve().parent / "data" / "recorded"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-sandbox",
        action="store_true",
        default=False,
        help="run the recorded judge tests on the real sandbox and store their runs again "
        "under tests/data/recorded/ (needs bubblewrap)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every real-sandbox test is slow: the fast run must not need a sandbox at all. Recording
    (`--record-sandbox`) runs only the tests that use recorded runs."""
    for item in items:
        if (
            item.get_closest_marker("sandbox") is not None
            and item.get_closest_marker("slow") is None
        ):
            item.add_marker(pytest.mark.slow)
    if config.getoption("--record-sandbox"):
        recorded = [i for i in items if "recorded_runner" in getattr(i, "fixturenames", ())]
        config.hook.pytest_deselected(items=[i for i in items if i not in recorded])
        items[:] = recorded


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is alive once the tests are collected (torch, sympy, every test module and item) lives
    to the end of the run: `gc.freeze()` leaves it out of the collector's full passes, which
    otherwise walked all of it again every few thousand allocations (~2.5 s of a fast run's 30 s
    of CPU). Garbage made by the tests themselves is collected as ever."""
    gc.freeze()


_RUNNERS: list[object] = []  # every recorded runner handed out, checked after each test
_REPORTED: dict[int, int] = {}  # per runner, how many refusals a test has failed on already
_UNMARKED_RUNS: list[str] = []  # real sandbox runs started by a test not marked `sandbox`
_CURRENT = {"sandbox": False, "test": ""}  # the test being set up, run or torn down


def pytest_configure(config: pytest.Config) -> None:
    """Hold `SandboxRunner.run` to the marker: a test not marked `sandbox` that starts the real
    sandbox (say, a `grade()` without a `runner=` after a rubric gains a probed check) is failed,
    instead of quietly making the fast run slow. Recording (`--record-sandbox`) is exempt."""
    if config.getoption("--record-sandbox"):
        return
    from grader.sandbox.runner import SandboxRunner

    real_run = SandboxRunner.run

    def guarded_run(self: SandboxRunner, job: SandboxJob) -> SandboxResult:
        if not _CURRENT["sandbox"]:
            _UNMARKED_RUNS.append(f"{_CURRENT['test']}: {[r.id for r in job.requests]}")
        return real_run(self, job)

    SandboxRunner.run = guarded_run  # type: ignore[method-assign]


_WARM_AS_GIVEN = os.environ.get(WARM_VAR)  # the warm-worker switch this test run was started with


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of `item` (module-wide ones too) is set up.

    A test not marked `sandbox` runs on the cold path (`GRADER_WARM=0`): `grade` on the command
    line prestarts a warm worker (a sandboxed interpreter importing torch, seconds of CPU in the
    background) before it knows whether any check needs the sandbox, and such a test never runs
    the sandbox, so that worker only slowed the tests running beside it. Sandbox tests get the
    switch as the test run was started."""
    sandbox = item.get_closest_marker("sandbox") is not None
    _CURRENT["sandbox"] = sandbox
    _CURRENT["test"] = item.nodeid
    warm = _WARM_AS_GIVEN if sandbox else "0"
    if warm is None:
        os.environ.pop(WARM_VAR, None)
    else:
        os.environ[WARM_VAR] = warm


@pytest.fixture(scope="session")
def recorded_runner(request: pytest.FixtureRequest) -> Callable[[], object]:
    """`recorded_runner()`: a runner replaying the runs recorded in tests/data/recorded/ (or,
    under `--record-sandbox`, one running the real sandbox and recording into that folder)."""
    from grader.sandbox.recorded import RecordedRunner, RecordingRunner

    recording = bool(request.config.getoption("--record-sandbox"))

    def make() -> object:
        runner = RecordingRunner(RECORDED) if recording else RecordedRunner(RECORDED)
        _RUNNERS.append(runner)
        return runner

    return make


@pytest.fixture(autouse=True)
def _sandbox_use_is_declared() -> Iterator[None]:
    """A job without a recording, or a real sandbox run in a test not marked `sandbox`, fails
    the first test to end after it (module fixtures grade before any test starts), whatever the
    grader made of it: it turns a runner's exception into a grader-bug verdict for one check."""
    yield
    new: list[str] = []
    for runner in _RUNNERS:
        refused = getattr(runner, "refused", [])
        new += refused[_REPORTED.get(id(runner), 0) :]
        _REPORTED[id(runner)] = len(refused)
    if new:
        pytest.fail("\n".join(["the sandbox was asked for runs that are not recorded:", *new]))
    if _UNMARKED_RUNS:
        unmarked = [*_UNMARKED_RUNS]
        _UNMARKED_RUNS.clear()
        pytest.fail(
            "\n".join(
                [
                    "the real sandbox ran in a test not marked `sandbox`: mark it, or grade "
                    "with runner=recorded_runner() (tests/data/recorded/README.md)",
                    *unmarked,
                ]
            )
        )
