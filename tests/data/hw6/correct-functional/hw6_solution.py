"""HW6 problem 4(b): split-transform-merge conv, written with torch.nn.functional.

I keep the raw weights myself (one flat ParameterList, per path: w1, b1, w2, b2, w3, b3)
and call F.conv2d directly. Initialisation copies what nn.Conv2d.reset_parameters does.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

NUM_PATHS = 32
IN_CH = 256
MID_CH = 4


def conv_params(c_in, c_out, k):
    """weight + bias initialised like the default nn.Conv2d"""
    w = torch.empty(c_out, c_in, k, k)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(c_in * k * k)
    b = torch.empty(c_out).uniform_(-bound, bound)
    return nn.Parameter(w), nn.Parameter(b)


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        self.params = nn.ParameterList()
        for _ in range(NUM_PATHS):
            for c_in, c_out, k in [(IN_CH, MID_CH, 1), (MID_CH, MID_CH, 3), (MID_CH, IN_CH, 1)]:
                w, b = conv_params(c_in, c_out, k)
                self.params.append(w)
                self.params.append(b)

    def forward(self, x):
        out = None
        for i in range(NUM_PATHS):
            w1, b1, w2, b2, w3, b3 = self.params[6 * i : 6 * i + 6]
            h = F.relu(F.conv2d(x, w1, b1))
            h = F.relu(F.conv2d(h, w2, b2, padding=1))
            h = F.conv2d(h, w3, b3)
            out = h if out is None else out + h
        return out


if __name__ == "__main__":
    layer = STMConvLayer()
    n = sum(p.numel() for p in layer.parameters())
    print(f"STMConvLayer: {n} parameters")  # should be 78592
