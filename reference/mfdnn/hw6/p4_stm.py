"""HW6 problem 4: the naive 256-128-128-256 conv block and its split-transform-merge version.

``STMConvLayer`` keeps its 32 paths in an ``nn.ModuleList`` of ``nn.Sequential`` so parameters
are registered path by path; the grader transplants weights between modules by that structure.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STM_PATHS = 32
"""Number of parallel 256-4-4-256 paths in the split-transform-merge block."""


class MyConvLayer(nn.Module):
    """The statement's naive block, copied verbatim (only modernised ``super()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(256, 128, 1)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.nn.functional.relu(self.conv1(x))
        out = torch.nn.functional.relu(self.conv2(out))
        out = torch.nn.functional.relu(self.conv3(out))
        return out


def _stm_path(final_relu: bool) -> nn.Sequential:
    """One 256-4-4-256 path; ``final_relu`` covers both readings of "conv-ReLU operations"."""
    layers: list[nn.Module] = [
        nn.Conv2d(256, 4, 1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 256, 1),
    ]
    if final_relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class STMConvLayer(nn.Module):
    """32 independent 256-4-4-256 paths whose outputs are summed (no ReLU after the sum)."""

    def __init__(self, final_relu: bool = False) -> None:
        super().__init__()
        self.final_relu = final_relu
        self.paths = nn.ModuleList([_stm_path(final_relu) for _ in range(STM_PATHS)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The sum over the paths, computed for all paths at once: the 32 first convolutions
        are one 256 -> 128 convolution, the 3x3 ones one grouped convolution, and the last ones
        (summed) one 128 -> 256 convolution. Same parameters, same function as
        `forward_per_path` (tests check both values and gradients); 96 small convolutions per
        call made the grader's equivalence checks the slowest part of judging a class."""
        first, middle, last = (
            [path[i] for path in self.paths]
            for i in (0, 2, 4)  # type: ignore[index]
        )
        hidden = F.relu(F.conv2d(x, _cat(first, "weight"), _cat(first, "bias")))
        hidden = F.relu(
            F.conv2d(
                hidden, _cat(middle, "weight"), _cat(middle, "bias"), padding=1, groups=STM_PATHS
            )
        )
        if not self.final_relu:  # the sum of the last convolutions is one convolution
            weight = torch.cat([conv.weight for conv in last], dim=1)
            bias = torch.stack([conv.bias for conv in last]).sum(dim=0)
            return F.conv2d(hidden, weight, bias)
        parts = hidden.chunk(STM_PATHS, dim=1)  # a ReLU after each path: no merging the last
        out = F.relu(last[0](parts[0]))
        for conv, part in zip(last[1:], parts[1:], strict=True):
            out = out + F.relu(conv(part))
        return out

    def forward_per_path(self, x: torch.Tensor) -> torch.Tensor:
        """The definition: each path applied to the input, the outputs summed."""
        out = self.paths[0](x)
        for path in self.paths[1:]:
            out = out + path(x)
        return out


def _cat(convs: list[nn.Module], name: str) -> torch.Tensor:
    return torch.cat([getattr(conv, name) for conv in convs])


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars (``requires_grad``), each shared tensor counted once."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def p4a_params_naive() -> int:
    """Trainable parameters of ``MyConvLayer``, counted on a real module."""
    return count_parameters(MyConvLayer())


def p4a_params_stm() -> int:
    """Trainable parameters of ``STMConvLayer``, counted on a real module."""
    return count_parameters(STMConvLayer())
