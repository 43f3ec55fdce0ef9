"""Tests for grader.sandbox.observations' array reader: what a probe's packed arrays may and may
not hold.

The hostile cases through the whole sandbox path are in tests/sandbox/test_sandbox.py; these pin the
reader itself, on files written as the probe writes them, and on hand-broken ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.sandbox.observations import read_packed, write_packed

ARRAYS = {
    "c_order": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    "big_endian": np.arange(5, dtype=">i4"),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 7)),
    "flags": np.array([True, False]),
}


def test_arrays_come_back_as_they_were_written(tmp_path: Path) -> None:
    index = write_packed(tmp_path / "a.bin", ARRAYS)
    got = read_packed(tmp_path / "a.bin", json.loads(json.dumps(index)))
    assert sorted(got) == sorted(ARRAYS)
    for name, want in ARRAYS.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        assert np.array_equal(got[name], want), name
    got["c_order"][0, 0, 0] = -1  # judges get ordinary, writable arrays ...
    assert np.array_equal(got["fortran"], ARRAYS["fortran"])  # ... each its own


def test_the_probe_writes_the_same_format(tmp_path: Path) -> None:
    """probe.py cannot import the grader: its writer is its own, and must agree with ours."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "probe_copy",
        Path(__file__).resolve().parents[2] / "grader" / "sandbox" / "inside" / "probe.py",
    )
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    probe._write_arrays(tmp_path, 0, dict(ARRAYS))
    index = json.loads((tmp_path / "0.arrays.json").read_text())
    got = read_packed(tmp_path / "0.bin", index)
    for name, want in ARRAYS.items():
        assert got[name].shape == want.shape and np.array_equal(got[name], want), name


def _entry(**change: Any) -> list[dict[str, Any]]:
    return [{"name": "x", "dtype": "<f8", "shape": [4], "at": 0, **change}]


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (_entry(at=8), "claims more data"),
        (_entry(shape=[5]), "claims more data"),
        (_entry(shape=[2**39, 2**39]), "claims more data"),  # never allocated
        (_entry(shape=[2**40]), "malformed shape"),
        (_entry(shape=[-1]), "malformed shape"),
        (_entry(shape=[2.0]), "malformed shape"),
        (_entry(at=-8), "malformed shape or offset"),
        (_entry(dtype="|O"), "non-numeric dtype"),
        (_entry(dtype="<c16"), "non-numeric dtype"),
        (_entry(dtype="<U8"), "non-numeric dtype"),
        (_entry(dtype="<f1"), "unknown dtype"),  # numpy raises TypeError for these
        (_entry(dtype="u16"), "unknown dtype"),
        (_entry(dtype=["<f8"]), "non-numeric dtype"),
        (_entry(name=""), "short strings"),
        (_entry(extra=1), "malformed array index entry"),
        (_entry() + _entry(), "appears twice"),
        ({"x": 1}, "not a list"),
        (_entry() * 10_001, "not a list"),
    ],
)
def test_broken_indexes_are_refused(tmp_path: Path, index: Any, message: str) -> None:
    (tmp_path / "a.bin").write_bytes(np.zeros(4).tobytes())
    with pytest.raises(ValueError, match=message):
        read_packed(tmp_path / "a.bin", index)


def test_the_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    index = write_packed(tmp_path / "a.bin", {"a": np.zeros(100), "b": np.zeros(100)})
    assert len(read_packed(tmp_path / "a.bin", index, max_bytes=1600)) == 2
    with pytest.raises(ValueError, match="exceed the size limit"):
        read_packed(tmp_path / "a.bin", index, max_bytes=1599)


@pytest.mark.parametrize(("shape", "forged"), [((5, 2), False), ((5, 1), True), ((10,), True)])
def test_a_figure_series_must_be_points(
    tmp_path: Path, shape: tuple[int, ...], forged: bool
) -> None:
    """The probe writes every curve as (n, 2) points; a series of another shape was not written
    by it, and the judges index its second column: the whole observation is refused."""
    from grader.sandbox.exchange import read_outcome
    from grader.sandbox.jobs import ProbeRequest

    req = ProbeRequest(id="p5.script", kind="script", timeout_s=10, spec={})
    series = {"key": "fig0.0.0", "kind": "line", "length": shape[0]}
    observation = {
        "kind": "script",
        "id": req.id,
        "stage": "done",
        "figures": [{"number": 1, "axes": [{"series": [series]}]}],
    }
    (tmp_path / "0.json").write_text(json.dumps(observation))
    index = write_packed(tmp_path / "0.bin", {"fig0.0.0": np.zeros(shape)})
    (tmp_path / "0.arrays.json").write_text(json.dumps(index))
    outcome = read_outcome(tmp_path, 0, req)
    if forged:
        assert outcome.observation is None and outcome.problem is not None
        assert "tampered" in outcome.problem and str(list(shape)) in outcome.problem
    else:
        assert outcome.problem is None and outcome.arrays["fig0.0.0"].shape == shape
