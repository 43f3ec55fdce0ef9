"""Tests that verify (not restate) the HW2 q6 reference: VGG-11's table, total and FC share.

Independent sources: hand arithmetic of a conv and an FC layer (3*3*C_in*C_out + C_out,
F_in*F_out + F_out), a real forward pass on the CPU (the reference reads shapes on torch's meta
device), and torchvision's own VGG-11 when it happens to be installed.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from reference.dl.hw2 import q6_fc_share, q6_table, q6_total
from reference.dl.hw2.vgg import fc_parameters, layer_table, total_parameters, vgg11


def _rows(kind: str) -> list[dict[str, object]]:
    return [r for r in q6_table() if str(r["layer"]).startswith(kind)]


def test_conv_and_fc_counts_match_hand_arithmetic() -> None:
    first_conv = _rows("CONV")[0]
    assert first_conv == {"layer": "CONV3-64", "output": [224, 224, 64], "parameters": 1792}
    assert first_conv["parameters"] == 3 * 3 * 3 * 64 + 64
    first_fc = _rows("FC")[0]
    assert first_fc["parameters"] == 7 * 7 * 512 * 4096 + 4096  # flattened 7x7x512 input
    assert [r["parameters"] for r in _rows("FC")[1:]] == [4096 * 4096 + 4096, 4096 * 1000 + 1000]


def test_pools_halve_and_convs_keep_the_spatial_size() -> None:
    table = q6_table()
    for before, row in itertools.pairwise(table):
        out, prev = row["output"], before["output"]
        if str(row["layer"]).startswith("POOL"):
            assert out == [prev[0] // 2, prev[1] // 2, prev[2]]
        elif str(row["layer"]).startswith("CONV"):
            assert out[:2] == prev[:2]
    assert [r["output"] for r in _rows("POOL")][-1] == [7, 7, 512]


def test_total_and_share_are_sums_over_the_network() -> None:
    assert q6_total() == sum(int(r["parameters"]) for r in q6_table()) == 132_863_336
    fc = sum(int(r["parameters"]) for r in _rows("FC"))
    assert fc == 123_642_856
    assert q6_fc_share() == pytest.approx(fc / q6_total())
    assert round(100 * q6_fc_share(), 2) == 93.06


def test_the_table_holds_configuration_a() -> None:
    names = [r["layer"] for r in q6_table() if r["layer"] != "RELU"]
    assert names == [
        "INPUT",
        "CONV3-64",
        "POOL2",
        "CONV3-128",
        "POOL2",
        "CONV3-256",
        "CONV3-256",
        "POOL2",
        "CONV3-512",
        "CONV3-512",
        "POOL2",
        "CONV3-512",
        "CONV3-512",
        "POOL2",
        "FC-4096",
        "FC-4096",
        "FC-1000",
        "SOFTMAX",
    ]


def test_a_real_cpu_network_gives_the_same_table() -> None:
    """The meta device gives shapes without computing: a real forward pass agrees."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = vgg11("cpu")
        assert layer_table(model) == q6_table()
        assert total_parameters(model) == q6_total()
        assert fc_parameters(model) == 123_642_856
    finally:
        torch.set_num_threads(threads)


def test_torchvision_agrees_when_installed() -> None:
    models = pytest.importorskip("torchvision.models")
    theirs = models.vgg11(weights=None)
    assert sum(p.numel() for p in theirs.parameters()) == q6_total()
    linear = [m for m in theirs.modules() if isinstance(m, nn.Linear)]
    assert sum(p.numel() for m in linear for p in m.parameters()) == 123_642_856
