import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.c1 = nn.ModuleList([nn.Conv2d(256, 4, 1) for _ in range(32)])
        self.c2 = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(32)])
        self.c3 = nn.ModuleList([nn.Conv2d(4, 256, 1) for _ in range(32)])

    def forward(self, x):
        out = torch.zeros_like(x)
        for i in range(32):
            x = F.relu(self.c1[i](x))
            x = F.relu(self.c2[i](x))
            x = self.c3[i](x)
            out += x
        return out


if __name__ == "__main__":
    print(STMConvLayer())
