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
tried = {key: readable(T[key]) for key in ("rubric", "reference", "grader_source", "repo_file")
         if key in T}
REPO_DIR = T.get("repo", "/nonexistent")
# The repo's path may exist in here as an empty mount point (a venv inside it is bound read-only);
# what must never be visible is its content.
tried["listing_repo"] = os.path.isdir(REPO_DIR) and bool(
    {"reference", "rubrics", "grader", "submissions"} & set(os.listdir(REPO_DIR))
)
tried["own_file"] = readable(__file__)  # control: its own files are readable
LEAKED = any(v for k, v in tried.items() if k != "own_file")
report(**tried)

_forward = STMConvLayer.forward


def forward(self, x):
    # Correct only if something it must not see was seen.
    return _forward(self, x) + (0.0 if LEAKED else 1.0)


STMConvLayer.forward = forward
