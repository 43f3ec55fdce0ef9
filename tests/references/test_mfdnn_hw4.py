"""Tests that verify (not restate) the mfdnn HW4 reference: LeNet-5's C3 layer and its counts.

The counts are checked against the hand calculation and against parameter counts of modules the
test builds itself; the layer against an independent construction, a full 6 -> 16 convolution
whose weights outside each output's channel subset are masked to zero (LeCun et al. 1998's
definition of sparse connections).
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reference.mfdnn.hw4 import (
    CH_IN_3,
    CH_IN_4,
    CYCLIC_SUBSETS,
    SUBSETS,
    C3_layer,
    C3_layer_full,
    count_parameters,
    params_c3,
    params_c3_full,
    reduction,
)


def test_counts_match_the_hand_calculation() -> None:
    # 6 outputs x (3 channels x 25 + 1 bias) + 9 x (4 x 25 + 1) + 1 x (6 x 25 + 1)
    assert params_c3() == 6 * 76 + 9 * 101 + 151 == 1516
    assert params_c3_full() == 16 * (6 * 25 + 1) == 2416
    assert reduction() == 900


def test_counts_match_modules_built_here() -> None:
    convs = [nn.Conv2d(k, 1, 5) for k in [3] * 6 + [4] * 9 + [6]]
    by_torch = sum(p.numel() for conv in convs for p in conv.parameters())
    assert params_c3() == by_torch
    assert params_c3_full() == sum(p.numel() for p in nn.Conv2d(6, 16, 5).parameters())
    assert count_parameters(C3_layer("cyclic")) == by_torch


def test_subsets_are_the_papers_table_1() -> None:
    assert len(CH_IN_3) == 6 and all(len(s) == 3 for s in CH_IN_3)
    assert len(CH_IN_4) == 9 and all(len(s) == 4 for s in CH_IN_4)
    # the first 6 (and the first 6 of the 4s) are consecutive channels, cyclically
    for i, s in enumerate(CH_IN_3):
        assert set(s) == {(i + j) % 6 for j in range(3)}
    for i, s in enumerate(CH_IN_4[:6]):
        assert set(s) == {(i + j) % 6 for j in range(4)}
    # Table 1: every input map feeds 10 of the 16 outputs; no subset repeats
    uses = Counter(c for s in SUBSETS for c in s)
    assert uses == dict.fromkeys(range(6), 10)
    assert len({frozenset(s) for s in SUBSETS}) == 16


def test_cyclic_order_has_the_same_connections() -> None:
    assert [set(s) for s in CYCLIC_SUBSETS] == [set(s) for s in SUBSETS]
    assert list(CYCLIC_SUBSETS) != list(SUBSETS)  # a variant that differs from the reference


def _masked_full(layer: C3_layer) -> tuple[torch.Tensor, torch.Tensor]:
    """The C3 layer as one 6 -> 16 convolution: each output's kernel zero outside its subset."""
    weight = torch.zeros(16, 6, 5, 5, dtype=torch.float64)
    bias = torch.zeros(16, dtype=torch.float64)
    for out, (conv, subset) in enumerate(zip(layer.convs, layer.subsets, strict=True)):
        for k, channel in enumerate(subset):
            weight[out, channel] = conv.weight[0, k].detach()
        bias[out] = conv.bias[0].detach()
    return weight, bias


@pytest.mark.parametrize("order", ["starter", "cyclic"])
def test_layer_is_a_masked_full_convolution(order: str) -> None:
    torch.manual_seed(0)
    layer = C3_layer(order).double()
    x = torch.randn(3, 6, 14, 14, dtype=torch.float64)
    weight, bias = _masked_full(layer)
    want = F.conv2d(x, weight, bias)
    got = layer(x)
    assert got.shape == (3, 16, 10, 10)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    mask = weight.abs().sum(dim=(2, 3)) != 0
    assert mask.sum() == 60  # 6 x 3 + 9 x 4 + 6 connections, no more


def test_output_channel_depends_only_on_its_subset() -> None:
    torch.manual_seed(1)
    layer = C3_layer().double()
    x = torch.randn(1, 6, 14, 14, dtype=torch.float64, requires_grad=True)
    for out, subset in enumerate(SUBSETS):
        (grad,) = torch.autograd.grad(layer(x)[0, out].sum(), x)
        touched = {c for c in range(6) if grad[0, c].abs().sum() > 0}
        assert touched == set(subset)


def test_full_layer_has_the_same_output_shape() -> None:
    torch.manual_seed(2)
    x = torch.randn(2, 6, 14, 14)
    assert C3_layer_full()(x).shape == C3_layer()(x).shape == (2, 16, 10, 10)
