"""The optional local limit on self-checks with a students' bundle (off by default)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.bundle import take_attempt
from grader.errors import UsageError


def _manifest(tmp_path: Path, attempts: int | None) -> Path:
    path = tmp_path / "BUNDLE.json"
    path.write_text(json.dumps({"version": "0.1.0+c.hw.abc", "attempts": attempts}))
    return path


def test_no_limit_by_default(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, None)
    assert all(take_attempt(manifest, tmp_path / "cache") is None for _ in range(5))
    assert not (tmp_path / "cache").exists()  # nothing is recorded without a limit


def test_a_limit_counts_each_run_and_then_refuses(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, 2)
    assert (
        take_attempt(manifest, tmp_path / "cache") == "self-check 1 of 2 allowed with this bundle"
    )
    assert (
        take_attempt(manifest, tmp_path / "cache") == "self-check 2 of 2 allowed with this bundle"
    )
    with pytest.raises(UsageError, match="2 self-checks are used up"):
        take_attempt(manifest, tmp_path / "cache")
