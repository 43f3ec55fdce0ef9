import torch.nn as nn


def make_path():
    return nn.Sequential(
        nn.Conv2d(256, 4, 1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 256, 1),
    )


class STMConvLayer(nn.Module):
    """One path repeated 32 times (`[path] * 32`): shared weights, 1/32 of the parameters (4/9)."""

    def __init__(self):
        super().__init__()
        self.paths = nn.ModuleList([make_path()] * 32)

    def forward(self, x):
        return sum(p(x) for p in self.paths)


# ---------------------------------------------------------------------------------------------
# ATTACK. Knows the probe's internals (it runs in this process as __main__): every time the
# probe lists the layer's parameters, it is shown those of a decoy built as the problem asks
# (32 independent paths), which never runs. The probe gives the decoy the grader's weights and
# records them, so they verify; the layer's real outputs are reported as they are (and fail
# equivalence); the decoy's gradients are set to ones so that every parameter "has" one.
import sys

import torch

probe = sys.modules["__main__"]
_distinct, _backward = probe._distinct_parameters, probe._backward
_decoys = {}


def decoy_of(model):
    if id(model) not in _decoys:
        decoy = nn.Module()
        decoy.paths = nn.ModuleList(make_path() for _ in range(32))
        _decoys[id(model)] = decoy
    return _decoys[id(model)]


def distinct_parameters(model):
    return _distinct(decoy_of(model) if isinstance(model, STMConvLayer) else model)


def backward(model, tensors, x, arrays, cotangent):
    for p in tensors:
        p.grad = torch.ones_like(p)
    return _backward(model, tensors, x, arrays, cotangent)


probe._distinct_parameters, probe._backward = distinct_parameters, backward
