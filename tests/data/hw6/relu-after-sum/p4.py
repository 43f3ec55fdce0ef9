import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.paths = nn.ModuleList()
        for _ in range(32):
            self.paths.append(nn.Sequential(
                nn.Conv2d(256, 4, 1),
                nn.ReLU(),
                nn.Conv2d(4, 4, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(4, 256, 1),
            ))

    def forward(self, x):
        out = 0
        for path in self.paths:
            out = out + path(x)
        out = F.relu(out)  # conv-ReLU
        return out
