import torch
from torch import nn


def make_path():
    return nn.Sequential(
        nn.Conv2d(256, 4, kernel_size=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 256, kernel_size=1),
    )


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.branches = nn.ModuleList([make_path() for _ in range(32)])

    def forward(self, x):
        # stack the 32 branch outputs -> (32, N, 256, H, W), then merge by summing
        out = torch.stack([branch(x) for branch in self.branches]).sum(0)
        return out
