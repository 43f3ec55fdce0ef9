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

import subprocess

T = targets()
ls = subprocess.run(["ls", "/"], capture_output=True, text=True, check=False)
cat = subprocess.run(["cat", T.get("rubric", "/nonexistent")], capture_output=True, text=True,
                     check=False)
status = os.system("ls " + T.get("repo", "/nonexistent") + " > /dev/null 2>&1")
repo = subprocess.run(["ls", "-A", T.get("repo", "/nonexistent")], capture_output=True, text=True,
                      check=False)
report(ls_rc=ls.returncode, ls=ls.stdout.split(), cat_rc=cat.returncode, cat_out=cat.stdout[:200],
       system_status=status, repo_rc=repo.returncode, repo_ls=repo.stdout.split())
