"""HW4 problem 7: LeNet-5's original C3 layer (LeCun et al. 1998, Table 1) and its counts.

Each of the 16 output channels is a 5x5 convolution over a subset of the 6 input channels: the
starter's `ch_in_3` (6 subsets of 3 consecutive channels), `ch_in_4` (9 subsets of 4) and all 6
for the last. The 16 convolutions are kept in one `nn.ModuleList`, in output order, so the
grader's transplant maps a student's 16 weight/bias pairs onto them by shape and order.
"""

from __future__ import annotations

import torch
from torch import nn

#: The starter's subsets, in output-channel order (outputs 0-5, 6-14, then 15 sees all six).
CH_IN_3: tuple[tuple[int, ...], ...] = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (0, 4, 5),
    (0, 1, 5),
)
CH_IN_4: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (0, 3, 4, 5),
    (0, 1, 4, 5),
    (0, 1, 2, 5),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
)
CH_IN_6: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
SUBSETS: tuple[tuple[int, ...], ...] = (*CH_IN_3, *CH_IN_4, CH_IN_6)

#: The same connections with each subset written cyclically from its first channel
#: ([4, 5, 0] for [0, 4, 5]): what `(i + j) % 6` loops give. Each output channel sees the same
#: inputs, only the order of its kernel's input slices differs, so it is the same layer with its
#: weights relabelled; the rubric accepts it as a variant.
CYCLIC_SUBSETS: tuple[tuple[int, ...], ...] = (
    *(tuple((i + j) % 6 for j in range(3)) for i in range(6)),
    *(tuple((i + j) % 6 for j in range(4)) for i in range(6)),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (2, 3, 5, 0),
    CH_IN_6,
)
ORDERS = {"starter": SUBSETS, "cyclic": CYCLIC_SUBSETS}


class C3_layer(nn.Module):
    """16 separate Conv2d(k, 1, 5) over the statement's channel subsets, concatenated."""

    def __init__(self, order: str = "starter") -> None:
        super().__init__()
        self.subsets = [list(s) for s in ORDERS[order]]
        self.convs = nn.ModuleList(nn.Conv2d(len(s), 1, 5) for s in self.subsets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [conv(x[:, s, :, :]) for conv, s in zip(self.convs, self.subsets, strict=True)], dim=1
        )


class C3_layer_full(nn.Module):
    """The starter's comparison: a regular Conv2d(6, 16, 5), every output sees every input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_layer = nn.Conv2d(6, 16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_layer(x)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters, as the starter prints them."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def params_c3() -> int:
    """C3_layer's trainable parameters (1,516), counted on a real module."""
    return count_parameters(C3_layer())


def params_c3_full() -> int:
    """C3_layer_full's trainable parameters (2,416), counted on a real module."""
    return count_parameters(C3_layer_full())


def reduction() -> int:
    """How many fewer parameters C3_layer has than the full convolution (900)."""
    return params_c3_full() - params_c3()
