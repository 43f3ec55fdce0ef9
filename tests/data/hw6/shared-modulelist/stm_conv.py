import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        path = nn.Sequential(
            nn.Conv2d(256, 4, 1),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(4, 256, 1),
        )
        # 32 copies of the path
        self.paths = nn.ModuleList([path] * 32)

    def forward(self, x):
        outputs = [p(x) for p in self.paths]
        return sum(outputs)


if __name__ == "__main__":
    print(STMConvLayer())
