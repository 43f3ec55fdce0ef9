"""The toy course's reference: two linear maps of the input, one through a ReLU, summed."""

from __future__ import annotations

import torch
from torch import nn


class Pair(nn.Module):
    def __init__(self, relu_on: str = "a") -> None:
        super().__init__()
        self.relu_on = relu_on
        self.a = nn.Linear(6, 5)
        self.b = nn.Linear(6, 5, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.a(x), self.b(x)
        return torch.relu(a) + b if self.relu_on == "a" else a + torch.relu(b)
