import torch
import torch.nn as nn


class C3_layer_full(nn.Module):
    def __init__(self):
        super(C3_layer_full, self).__init__()
        self.conv_layer = nn.Conv2d(6, 16, 5)

    def forward(self, x):
        assert x.shape[1] == 6
        return self.conv_layer(x)


class C3_layer(nn.Module):
    def __init__(self):
        super(C3_layer, self).__init__()
        self.ch_in_3 = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5]]
        self.ch_in_4 = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5],
                        [0, 1, 2, 5], [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5]]
        # one filter for each kind of subset
        self.conv3 = nn.Conv2d(3, 1, 5)
        self.conv4 = nn.Conv2d(4, 1, 5)
        self.conv6 = nn.Conv2d(6, 1, 5)

    def forward(self, x):
        assert x.shape[1] == 6
        out = [self.conv3(x[:, ch, :, :]) for ch in self.ch_in_3]
        out += [self.conv4(x[:, ch, :, :]) for ch in self.ch_in_4]
        out.append(self.conv6(x))
        return torch.cat(out, dim=1)


print("C3_layer_full:", sum(p.numel() for p in C3_layer_full().parameters()))
print("C3_layer:", sum(p.numel() for p in C3_layer().parameters()))
