import torch
from torch import nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        # one path: split -> transform -> back to 256 channels
        self.conv1 = nn.Conv2d(256, 4, 1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(4, 256, 1)

    def path(self, x):
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        return self.conv3(out)

    def forward(self, x):
        out = 0
        for _ in range(32):   # apply the path 32 times and merge
            out = out + self.path(x)
        return out


if __name__ == "__main__":
    m = STMConvLayer()
    print(m)
    print("params:", sum(p.numel() for p in m.parameters()))
