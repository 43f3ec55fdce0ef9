"""Test-wide setup: one BLAS thread, the `sandbox` marker, and recorded sandbox runs for judges.

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

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from collections.abc import Callable, Iterator  # noqa: E402  (after the BLAS variables)
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

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
    """Every real-sandbox test is slow: the fast run must not need a sandbox at all."""
    del config
    for item in items:
        if (
            item.get_closest_marker("sandbox") is not None
            and item.get_closest_marker("slow") is None
        ):
            item.add_marker(pytest.mark.slow)


_RUNNERS: list[object] = []  # every recorded runner handed out, checked after each test
_REPORTED: dict[int, int] = {}  # per runner, how many refusals a test has failed on already


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
def _no_refused_recordings() -> Iterator[None]:
    """A job without a recording fails the first test to end after it (module fixtures grade
    before any test starts), whatever the grader made of the runner's exception: it turns it
    into a grader-bug verdict for that one check."""
    yield
    new: list[str] = []
    for runner in _RUNNERS:
        refused = getattr(runner, "refused", [])
        new += refused[_REPORTED.get(id(runner), 0) :]
        _REPORTED[id(runner)] = len(refused)
    if new:
        pytest.fail("\n".join(["the sandbox was asked for runs that are not recorded:", *new]))
