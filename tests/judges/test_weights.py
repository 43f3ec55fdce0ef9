"""Tests for grader.judges.weights: the grader draws the probe's weights again and trusts no other.

The probe (grader/sandbox/inside/probe.py) is loaded here as a plain module, next to trusted
layers only, so both sides of the contract run in one process: what the probe records must be
exactly what the grader re-derives from the seed, and any other value must be refused.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from grader.judges.weights import weights_problem
from grader.sandbox.observations import ModuleObservation

PROBE = Path(__file__).resolve().parents[2] / "grader" / "sandbox" / "inside" / "probe.py"
SEED = 1234


@pytest.fixture(scope="module")
def probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("probe_for_weights", PROBE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def observe(probe: ModuleType, model: nn.Module) -> tuple[ModuleObservation, dict[str, Any], Any]:
    """What the probe records of `model` before any forward: (observation, arrays, its state)."""
    named, tensors = probe._distinct_parameters(model)
    probe._reinitialise(tensors, SEED)
    obs: dict[str, Any] = {"kind": "module", "id": "p.m", "stage": "parameters"}
    arrays: dict[str, Any] = {}
    saved = probe._record_parameters(named, tensors, obs, arrays)
    return ModuleObservation.model_validate(obs), arrays, (named, saved, obs)


class Mixed(nn.Module):
    """Every shape and dtype case the draw must agree on: a conv, a matrix, a vector, a scalar,
    float64 and float16 tensors, a frozen one and an empty one."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.lin = nn.Linear(5, 2).double()
        self.scale = nn.Parameter(torch.tensor(2.0))
        self.low = nn.Parameter(torch.zeros(7, dtype=torch.float16))
        self.frozen = nn.Parameter(torch.zeros(2, 3), requires_grad=False)
        self.empty = nn.Parameter(torch.zeros(0, 4))


def test_the_grader_draws_exactly_what_the_probe_set(probe: ModuleType) -> None:
    obs, arrays, _ = observe(probe, Mixed())
    assert obs.n_tensors == 8
    assert weights_problem(obs, arrays, SEED) is None
    assert weights_problem(obs, arrays, SEED + 1) is not None  # control: the seed matters


def test_any_other_value_is_refused(probe: ModuleType) -> None:
    obs, arrays, _ = observe(probe, Mixed())
    changed = 0
    for k in range(obs.n_tensors):
        if arrays[f"param{k}"].size == 0:  # the empty tensor has no value to change
            continue
        forged = dict(arrays)
        forged[f"param{k}"] = arrays[f"param{k}"].copy()
        forged[f"param{k}"].flat[0] += 1e-12  # the least change is as refused as any
        changed += 1
        name = next(p.name for p in obs.params if p.tensor == k)
        assert weights_problem(obs, forged, SEED) == (
            f"parameter {name} does not hold the values the grader gave it"
        )
    assert changed == 7


def test_copies_of_a_shared_tensor_reported_as_independent_are_refused(
    probe: ModuleType,
) -> None:
    """The issue's forgery: `[path] * 32` reported as 32 tensors holding the one path's values."""
    path = nn.Sequential(nn.Conv2d(8, 4, 1), nn.Conv2d(4, 8, 1))
    honest, arrays, _ = observe(probe, nn.ModuleList([path] * 3))
    assert honest.n_tensors == 4 and weights_problem(honest, arrays, SEED) is None
    params = [p.model_copy(update={"tensor": i}) for i, p in enumerate(honest.params)]
    forged_arrays = {f"param{i}": arrays[f"param{p.tensor}"] for i, p in enumerate(honest.params)}
    forged = honest.model_copy(update={"params": params, "n_tensors": len(params)})
    assert weights_problem(forged, forged_arrays, SEED) == (
        "parameter 1.0.weight does not hold the values the grader gave it"
    )


def test_a_parameter_over_another_ones_memory_is_the_same_tensor(probe: ModuleType) -> None:
    """`nn.Parameter(other.data)` is a new object over the same numbers: shared, as it is."""
    model = nn.Module()
    model.a = nn.Parameter(torch.zeros(3, 2))
    model.b = nn.Parameter(model.a.data)
    model.c = nn.Parameter(torch.zeros(3, 2))
    obs, arrays, _ = observe(probe, model)
    assert [(p.name, p.tensor) for p in obs.params] == [("a", 0), ("b", 0), ("c", 1)]
    assert weights_problem(obs, arrays, SEED) is None


def test_an_integer_parameter_cannot_be_given_the_graders_values(probe: ModuleType) -> None:
    model = nn.Module()
    model.w = nn.Parameter(torch.zeros(3, dtype=torch.int64), requires_grad=False)
    obs, arrays, _ = observe(probe, model)
    problem = weights_problem(obs, arrays, SEED)
    assert problem is not None and problem.startswith("parameter w is a int64 tensor")


def test_a_float64_parameter_changed_in_place_leaves_the_record_alone(
    probe: ModuleType,
) -> None:
    """The issue's forgery without any patching: float64 parameters were recorded as views, so
    zeroing them during forward changed the weights the grader compared outputs on."""
    model = nn.Linear(4, 3).double()
    obs, arrays, (named, saved, raw) = observe(probe, model)
    recorded = arrays["param0"].copy()
    probe._note_changes(model, named, saved, "forward on input 0", raw)
    assert "weights_changed" not in raw  # control: nothing changed yet
    with torch.no_grad():
        model.weight.zero_()
    assert np.array_equal(arrays["param0"], recorded)  # a copy, not a view
    assert weights_problem(obs, arrays, SEED) is None
    probe._note_changes(model, named, saved, "forward on input 1", raw)
    assert raw["weights_changed"] == {"stage": "forward on input 1", "names": ["weight"]}
    probe._note_changes(model, named, saved, "backward", raw)  # the first change is kept
    assert raw["weights_changed"]["stage"] == "forward on input 1"


def test_a_parameter_replaced_during_forward_is_a_change(probe: ModuleType) -> None:
    model = nn.Linear(4, 3)
    _, _, (named, saved, raw) = observe(probe, model)
    model.weight = nn.Parameter(torch.zeros(3, 4))
    probe._note_changes(model, named, saved, "forward on input 0", raw)
    assert raw["weights_changed"]["names"] == ["weight"]
