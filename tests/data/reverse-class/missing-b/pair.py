import torch
from torch import nn


class Pair(nn.Module):
    # the second map left out
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 5)

    def forward(self, x):
        return torch.relu(self.a(x))
