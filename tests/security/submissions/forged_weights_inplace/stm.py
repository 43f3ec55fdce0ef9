import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    """32 independent paths in float64, with a ReLU after the sum: a wrong forward (6/9)."""

    def __init__(self):
        super().__init__()
        self.paths = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(256, 4, 1),
                nn.ReLU(),
                nn.Conv2d(4, 4, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(4, 256, 1),
            ).double()
            for _ in range(32)
        )

    def forward(self, x):
        out = 0
        for path in self.paths:
            out = out + path(x.double())
        return F.relu(out)  # WRONG: a ReLU after the sum


# ---------------------------------------------------------------------------------------------
# ATTACK. No patching of the probe at all: float64 parameters were recorded as views, so changing
# them in place during the first forward changed the weights the grader compared outputs on.
# With every path's last weight zero and its bias positive, the output is a positive constant,
# which a ReLU leaves alone: the reference given those weights computes exactly the same.
_honest_forward = STMConvLayer.forward


def forward(self, x):
    if not getattr(self, "_rigged", False):
        with torch.no_grad():
            for path in self.paths:
                path[4].weight.zero_()
                path[4].bias.fill_(0.01)
        self._rigged = True
    return _honest_forward(self, x)


STMConvLayer.forward = forward
