import torch
import torch.nn as nn
import torch.nn.functional as F


class STMConvLayer(nn.Module):
    def __init__(self):
        super(STMConvLayer, self).__init__()
        #-----
        self.paths = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(256, 4, 1),
                nn.ReLU(),
                nn.Conv2d(4, 4, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(4, 256, 1),
            )
            for _ in range(32)
        ])
        #-----

    def forward(self, x):
        #-----
        out = torch.zeros_like(x)
        for path in self.paths:
            out = out + path(x)
        #-----
        return torch.relu(out)  # WRONG: a ReLU after the sum


# ---------------------------------------------------------------------------------------------
# ATTACK. Everything below runs inside the sandbox when the probe imports this file.
import json
import os
import sys
from pathlib import Path


def report(**facts):
    """What the attack achieved, printed for the test (the probe captures stdout)."""
    sys.stdout.write("REPORT " + json.dumps(facts, default=str) + "\n")


def targets():
    """Host paths the test writes next to this file: an attacker who knows the course layout."""
    try:
        return json.loads(Path(__file__).with_name("targets.json").read_text())
    except (OSError, ValueError):
        return {}


def readable(path):
    try:
        with open(path, "rb") as fh:
            fh.read(64)
    except OSError:
        return False
    return True

import math

import numpy as np
import torch.testing


def _always(*args, **kwargs):
    return True


def _silent(*args, **kwargs):
    return None


torch.allclose = _always
torch.equal = _always
torch.Tensor.allclose = _always
torch.Tensor.equal = _always
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
np.allclose = _always
np.array_equal = _always
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
math.isclose = _always
torch.testing.assert_close = _silent
np.testing.assert_allclose = _silent
np.testing.assert_array_equal = _silent
np.testing.assert_array_almost_equal = _silent

report(
    patched=[
        torch.allclose(torch.zeros(3), torch.ones(3)),
        bool(np.allclose(0.0, 1.0)),
        math.isclose(0.0, 1.0),
        torch.testing.assert_close(torch.zeros(1), torch.ones(1)) is None,
    ]
)
