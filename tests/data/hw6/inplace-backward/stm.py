import torch
import torch.nn as nn


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        # each path: conv-ReLU, conv-ReLU, conv-ReLU  (256-4-4-256)
        self.paths = nn.ModuleList()
        for i in range(32):
            self.paths.append(nn.Sequential(
                nn.Conv2d(256, 4, 1), nn.ReLU(),
                nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                nn.Conv2d(4, 256, 1), nn.ReLU(),
            ))

    def forward(self, x):
        out = self.paths[0](x)
        for p in self.paths[1:]:
            out += p(x)   # accumulate in place to save memory
        return out


if __name__ == "__main__":
    layer = STMConvLayer()
    y = layer(torch.randn(2, 256, 8, 8))
    print(y.shape)
