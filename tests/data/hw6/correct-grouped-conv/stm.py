import torch
import torch.nn as nn
import torch.nn.functional as F

class STMConvLayer(nn.Module):
    # every layer grouped: 78,592 parameters, the paths summed after a view
    def __init__(self, paths=32):
        super().__init__()
        self.paths = paths
        self.conv1 = nn.Conv2d(256, 4 * paths, 1)
        self.conv2 = nn.Conv2d(4 * paths, 4 * paths, 3, padding=1, groups=paths)
        self.conv3 = nn.Conv2d(4 * paths, 256 * paths, 1, groups=paths)
    def forward(self, x):
        n, _, h, w = x.shape
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = self.conv3(out)
        return out.view(n, self.paths, 256, h, w).sum(dim=1)
