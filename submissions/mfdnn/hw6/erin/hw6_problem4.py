"""
HW6 Problem 4(b) -- split-transform-merge convolution
Each of the 32 paths is a series of 1x1, 3x3, 1x1 conv-ReLU operations (256-4-4-256),
so every conv in a path is followed by a ReLU; the 32 outputs are summed (no ReLU after the sum).
"""
import torch
import torch.nn as nn


class STM_ConvLayer(nn.Module):
    def __init__(self, num_paths=32):
        super(STM_ConvLayer, self).__init__()
        self.paths = nn.ModuleList()
        for _ in range(num_paths):
            self.paths.append(nn.Sequential(
                nn.Conv2d(256, 4, kernel_size=1),
                nn.ReLU(),
                nn.Conv2d(4, 4, kernel_size=3, padding=1),
                nn.ReLU(),
                nn.Conv2d(4, 256, kernel_size=1),
                nn.ReLU(),
            ))

    def forward(self, x):
        return torch.stack([p(x) for p in self.paths], dim=0).sum(dim=0)


if __name__ == "__main__":
    layer = STM_ConvLayer()
    print(layer)
    print(sum(p.numel() for p in layer.parameters()))
