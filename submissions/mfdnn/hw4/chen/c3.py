"""HW4 P7 - C3 layer of the original LeNet-5 (Chen)."""
import torch
import torch.nn as nn


class C3_layer_full(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_layer = nn.Conv2d(6, 16, 5)

    def forward(self, x):
        return self.conv_layer(x)


class C3_layer(nn.Module):
    def __init__(self):
        super().__init__()
        three = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5]]
        four = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5],
                [0, 1, 2, 5], [0, 1, 3, 5], [1, 2, 4, 5], [0, 2, 3, 5]]
        self.groups = three + four + [[0, 1, 2, 3, 4, 5]]
        self.filters = nn.ModuleList([nn.Conv2d(len(g), 1, 5) for g in self.groups])

    def forward(self, x):
        feature_maps = []
        for g, f in zip(self.groups, self.filters):
            feature_maps.append(f(x[:, g, :, :]))
        return torch.cat(feature_maps, 1)


if __name__ == "__main__":
    layer = C3_layer()
    print(layer(torch.randn(4, 6, 14, 14)).shape)
    n_c3 = sum(p.numel() for p in layer.parameters())
    n_full = sum(p.numel() for p in C3_layer_full().parameters())
    print(n_c3, n_full, n_full - n_c3)
