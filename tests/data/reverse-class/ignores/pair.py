import torch
from torch import nn


class Pair(nn.Module):
    # computes with copies of its first weights: whatever its parameters are set to
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 5)
        self.b = nn.Linear(6, 5, bias=False)
        self.register_buffer("wa", self.a.weight.detach().clone())
        self.register_buffer("ba", self.a.bias.detach().clone())
        self.register_buffer("wb", self.b.weight.detach().clone())

    def forward(self, x):
        return torch.relu(x @ self.wa.T + self.ba) + x @ self.wb.T
