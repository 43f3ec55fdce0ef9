import torch
import torch.nn as nn


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        self.path = nn.Sequential(
            nn.Conv2d(256, 4, 1),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(4, 256, 1),
        )
        #-----

    def forward(self, x):
        # [apply 1x1conv with 4 output channels
        #   apply 3x3conv with 4 output channels (with padding=1)
        #   apply 1x1conv with 256 output channels] X 32
        # Add all 32 outputs
        #-----
        out = torch.zeros_like(x)
        for _ in range(32):
            out = out + self.path(x)
        #-----
        return out


if __name__ == "__main__":
    m = STMConvLayer()
    print(m)
    print(sum(p.numel() for p in m.parameters()))
