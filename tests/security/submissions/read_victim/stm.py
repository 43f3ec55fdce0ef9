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
        return out


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

T = targets()
victim = T.get("victim", "/nonexistent")
tried = {
    "victim_stm": readable(Path(victim, "stm.py")),
    "victim_answers": readable(Path(victim, "answers.toml")),
    "relative_victim": readable("../victim/stm.py"),
    "list_class_dir": os.path.isdir(T.get("class_dir", "/nonexistent")),
    "list_parent": sorted(os.listdir("..")) if os.path.isdir("..") else None,
    "own_file": readable("stm.py"),  # control
}
LEAKED = any(tried[k] for k in ("victim_stm", "victim_answers", "relative_victim", "list_class_dir"))
report(**tried)

_forward = STMConvLayer.forward


def forward(self, x):
    # Correct only if something it must not see was seen.
    return _forward(self, x) + (0.0 if LEAKED else 1.0)


STMConvLayer.forward = forward
