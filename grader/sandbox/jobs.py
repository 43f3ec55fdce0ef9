"""What a sandbox run is: the job the grader hands over and the result it gets back.

Plain data shared by every runner (cold, warm, cached, recorded); `Runner` is the seam: judges are
unit-tested with `grader.sandbox.recorded.RecordedRunner`, the sandbox itself is always tested
for real.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grader.sandbox.observations import Observation


@dataclass(frozen=True)
class Limits:
    wall_s: float = 120.0
    memory_mb: int = 3072
    threads: int = 1
    max_processes: int = 64
    max_file_mb: int = 64


@dataclass(frozen=True)
class ProbeRequest:
    """One thing to observe; `spec` is the JSON the probe script reads."""

    id: str
    kind: str
    timeout_s: float
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class SandboxJob:
    """What one sandbox run needs. `extra_files` (relative path -> text) are written into the
    scratch copy only, never into the submission: modules the grader assembled from a writeup
    or notebook (`grader.judges.sources`). `environment`: the course's prepared environment
    (`grade env`), whose interpreter runs the probe, its folder bound read-only; None: the
    grader's own interpreter."""

    submission_dir: Path
    requests: tuple[ProbeRequest, ...]
    inputs: Mapping[str, np.ndarray]
    limits: Limits = Limits()
    extra_files: Mapping[str, str] = field(default_factory=dict)
    environment: Path | None = None


@dataclass(frozen=True)
class ProbeOutcome:
    observation: Observation | None
    arrays: dict[str, np.ndarray]
    problem: str | None = None  # why there is no usable observation


#: A key of `SandboxResult.extra`: true when the result must not be cached (it may say more about
#: the machines than about the student's code, as a job that killed its cluster workers does).
NOT_CACHED = "not_cached"


@dataclass(frozen=True)
class SandboxResult:
    outcomes: dict[str, ProbeOutcome]
    exit_code: int | None
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    seconds: float
    isolation: str
    limit_hit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Runner(Protocol):
    isolation: str

    def run(self, job: SandboxJob) -> SandboxResult: ...
