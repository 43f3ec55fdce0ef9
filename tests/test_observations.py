"""Tests for grader.observations.load_arrays: what a probe's array archive may and may not hold.

The hostile cases through the whole sandbox path are in tests/test_sandbox.py; these pin the
reader itself, on archives written by numpy as a probe writes them, and on hand-broken ones.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.observations import load_arrays


def test_arrays_come_back_as_numpy_saved_them(tmp_path: Path) -> None:
    arrays = {
        "c_order": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
        "big_endian": np.arange(5, dtype=">i4"),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 7)),
        "flags": np.array([True, False]),
    }
    np.savez(tmp_path / "a.npz", **arrays)
    got = load_arrays(str(tmp_path / "a.npz"))
    assert sorted(got) == sorted(arrays)
    for name, want in arrays.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        assert np.array_equal(got[name], want), name
    got["c_order"][0, 0, 0] = -1  # judges get ordinary, writable arrays


def test_compressed_archives_are_read(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "a.npz", x=np.linspace(0, 1, 1000))
    assert np.array_equal(load_arrays(str(tmp_path / "a.npz"))["x"], np.linspace(0, 1, 1000))


def _rewrite(path: Path, name: str, data: bytes, mode: str = "w") -> None:
    with zipfile.ZipFile(path, mode) as archive:
        archive.writestr(name, data)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("short_data", "is truncated"),
        ("truncated", "claims more data than it holds"),
        ("duplicate", "appears twice"),
        ("bad_header", "bad header"),
        ("objects", "non-numeric dtype"),
        ("not_zip", "not an array archive"),
    ],
)
def test_broken_archives_are_refused(tmp_path: Path, breakage: str, message: str) -> None:
    path = tmp_path / "a.npz"
    np.savez(tmp_path / "good.npz", x=np.arange(100, dtype=np.float64))
    with zipfile.ZipFile(tmp_path / "good.npz") as good:
        member = good.read("x.npy")
    if breakage == "short_data":  # the member still looks big enough for what it claims
        _rewrite(path, "x.npy", member[:-80])
    elif breakage == "truncated":
        _rewrite(path, "x.npy", member[:-300])
    elif breakage == "duplicate":
        _rewrite(path, "x.npy", member)
        with pytest.warns(UserWarning, match="Duplicate name"):
            _rewrite(path, "x.npy", member, mode="a")
    elif breakage == "bad_header":
        _rewrite(path, "x.npy", b"\x93NUMPY\x01\x00" + b"\x10\x00" + b"{not a dict}    ")
    elif breakage == "objects":
        np.savez(path, x=np.array([{"a": 1}], dtype=object))
    else:
        path.write_bytes(b"definitely not a zip file")
    with pytest.raises(ValueError, match=message):
        load_arrays(str(path))


def test_the_size_limit_counts_every_array(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", a=np.zeros(100), b=np.zeros(100))
    assert len(load_arrays(str(tmp_path / "a.npz"), max_bytes=1600)) == 2
    with pytest.raises(ValueError, match="exceed the size limit"):
        load_arrays(str(tmp_path / "a.npz"), max_bytes=1599)
