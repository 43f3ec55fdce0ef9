import torch
import torch.nn as nn
from hw6_utils import make_path  # my helper file (not submitted)


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.paths = nn.ModuleList([make_path(256, 4) for _ in range(32)])

    def forward(self, x):
        out = 0
        for path in self.paths:
            out = out + path(x)
        return out
