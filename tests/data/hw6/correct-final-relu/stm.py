import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        # "a series of 1x1, 3x3, 1x1 conv-ReLU operations" -> every conv is followed by a ReLU,
        # including the last one of each path (but not after the sum)
        self.conv_a = nn.ModuleList([nn.Conv2d(256, 4, 1) for _ in range(32)])
        self.conv_b = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(32)])
        self.conv_c = nn.ModuleList([nn.Conv2d(4, 256, 1) for _ in range(32)])
        #-----

    def forward(self, x):
        #-----
        outs = []
        for a, b, c in zip(self.conv_a, self.conv_b, self.conv_c):
            h = F.relu(a(x))
            h = F.relu(b(h))
            h = F.relu(c(h))
            outs.append(h)
        out = sum(outs)
        #-----
        return out


if __name__ == "__main__":
    print(STMConvLayer())
