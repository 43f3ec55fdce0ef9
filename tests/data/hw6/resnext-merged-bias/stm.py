import torch
import torch.nn as nn
import torch.nn.functional as F

class STMConvLayer(nn.Module):
    # ResNeXt form (c): 32 paths as one grouped conv between two 1x1 convs
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(256, 128, 1)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1, groups=32)
        self.conv3 = nn.Conv2d(128, 256, 1)
    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        return self.conv3(out)
