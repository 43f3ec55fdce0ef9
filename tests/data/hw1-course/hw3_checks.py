"""The test course's custom check: the course's own parameter-map check (5c), unchanged.

Both versions of Homework 3 ask for the same map, so the check lives once, in
rubrics/mfdnn/hw3_checks.py, and this file only names it (pytest collects `check_*` by name).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / "rubrics" / "mfdnn" / "hw3_checks.py"
_SPEC = importlib.util.spec_from_file_location("_mfdnn_hw3_checks_for_tests", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
_MODULE = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _MODULE
_SPEC.loader.exec_module(_MODULE)

check_parameter_map = _MODULE.check_parameter_map
