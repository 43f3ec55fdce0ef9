import torch
import torch.nn as nn


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        # 32 parallel paths, each one is 1x1 conv -> ReLU -> 3x3 conv -> ReLU -> 1x1 conv
        # (256 -> 4 -> 4 -> 256 channels)
        self.paths = nn.ModuleList()
        for _ in range(32):
            self.paths.append(
                nn.Sequential(
                    nn.Conv2d(256, 4, 1),
                    nn.ReLU(),
                    nn.Conv2d(4, 4, 3, padding=1),
                    nn.ReLU(),
                    nn.Conv2d(4, 256, 1),
                )
            )
        #-----

    def forward(self, x):
        # [apply 1x1conv with 4 output channels
        #   apply 3x3conv with 4 output channels (with padding=1)
        #   apply 1x1conv with 256 output channels] X 32
        # Add all 32 outputs
        #-----
        out = 0
        for path in self.paths:
            out = out + path(x)
        #-----
        return out


if __name__ == "__main__":
    model = STMConvLayer()
    print(model)
    print("trainable params:", sum(p.numel() for p in model.parameters() if p.requires_grad))
    x = torch.randn(1, 256, 16, 16)
    print(model(x).shape)
