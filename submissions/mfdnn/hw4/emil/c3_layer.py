import torch
from torch import nn


class C3_layer_full(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_layer = nn.Conv2d(6, 16, 5)

    def forward(self, x):
        return self.conv_layer(x)


class C3_layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.ch_in_3 = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5]]
        self.ch_in_4 = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5],
                        [0, 1, 2, 5], [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5]]
        self.ch_in_6 = [0, 1, 2, 3, 4, 5]
        layers = [nn.Conv2d(3, 1, 5) for _ in self.ch_in_3]
        layers += [nn.Conv2d(4, 1, 5) for _ in self.ch_in_4]
        layers.append(nn.Conv2d(6, 1, 5))
        self.layers = nn.ModuleList(layers)
        self.index = [torch.tensor(c) for c in self.ch_in_3 + self.ch_in_4 + [self.ch_in_6]]

    def forward(self, x):
        outputs = [layer(torch.index_select(x, 1, idx.to(x.device)))
                   for layer, idx in zip(self.layers, self.index)]
        return torch.cat(outputs, dim=1)

# by hand: 6*3*25 + 9*4*25 + 6*25 = 450 + 900 + 150 = 1500
# full:    16*6*25 = 2400, so the C3 layer saves 900 parameters
