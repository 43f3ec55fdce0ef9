import torch
from torch import nn


class Pair(nn.Module):
    # the unbiased map registered first: two mappings of the two 5x6 weights fit by shape
    def __init__(self):
        super().__init__()
        self.b = nn.Linear(6, 5, bias=False)
        self.a = nn.Linear(6, 5)

    def forward(self, x):
        return torch.relu(self.a(x)) + self.b(x)
