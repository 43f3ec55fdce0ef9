import torch
from torch import nn


class StraightRelu(torch.autograd.Function):
    # ReLU forward, but the gradient passes as if there were none
    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 5)
        self.b = nn.Linear(6, 5, bias=False)

    def forward(self, x):
        return StraightRelu.apply(self.a(x)) + self.b(x)
