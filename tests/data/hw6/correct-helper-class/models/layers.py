import torch
import torch.nn as nn
import torch.nn.functional as F


class Path(nn.Module):
    """One transform path: 256 -> 4 -> 4 -> 256"""

    def __init__(self, in_channels=256, width=4):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, in_channels, 1)

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        return self.conv3(out)


class MyConvLayer(nn.Module):
    # the "naive" version from the problem statement, kept for comparing the counts
    def __init__(self):
        super(MyConvLayer, self).__init__()
        self.conv1 = nn.Conv2d(256, 128, 1,)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 1)

    def forward(self, x):
        out = torch.nn.functional.relu(self.conv1(x))
        out = torch.nn.functional.relu(self.conv2(out))
        out = torch.nn.functional.relu(self.conv3(out))
        return out


class STMConvLayer(nn.Module):
    def __init__(self, cardinality=32):
        super(STMConvLayer, self).__init__()
        self.paths = nn.ModuleList([Path() for _ in range(cardinality)])

    def forward(self, x):
        out = self.paths[0](x)
        for path in self.paths[1:]:
            out = out + path(x)
        return out


if __name__ == "__main__":
    for cls in (MyConvLayer, STMConvLayer):
        m = cls()
        print(cls.__name__, sum(p.numel() for p in m.parameters()))
