"""The weights a module probe must report: drawn again here, from the grader's own seed.

The probe gives every parameter of the student's layer fresh random values before any forward
runs (`_reinitialise` in `grader/sandbox/inside/probe.py`), and equivalence compares the
student's outputs with the reference's on those values. The probe shares its process with
student code, so whatever it reports is the student's to choose: weights too (a patched probe,
or a float64 parameter recorded as a view and zeroed during forward). Here the grader draws the
same values itself, from the seed it wrote in the plan and the shapes reported, and an
observation whose weights differ is rejected. What is left to the student is the shapes (their
architecture), and any lie about the outputs is then caught by the reference, on weights the
grader chose.

This must stay the probe's draw exactly: the same generator, order, bound and dtype cast.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from grader.sandbox.observations import ModuleObservation

MAX_FAN_IN = 2**60  # as the probe's: a student chooses the shapes
FLOAT_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def expected_weight(
    shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator
) -> np.ndarray:
    """The next (non-empty) parameter's values, as the probe draws and records them (float64).
    Empty parameters draw nothing, in the probe as here."""
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else math.prod(shape)
    bound = 1.0 / max(min(fan_in, MAX_FAN_IN), 1) ** 0.5
    fresh = torch.empty(shape, dtype=torch.float64).uniform_(-bound, bound, generator=generator)
    return fresh.to(dtype).to(torch.float64).numpy()


def weights_problem(obs: ModuleObservation, arrays: dict[str, np.ndarray], seed: int) -> str | None:
    """Why the reported parameters are not the ones the grader gave the layer, or None.

    `consistent` (grader.judges.module) has already checked that every distinct tensor has its
    array, in its shape.
    """
    first: dict[int, tuple[str, list[int], str]] = {}
    for p in obs.params:
        first.setdefault(p.tensor, (p.name, p.shape, p.dtype))
    generator = torch.Generator().manual_seed(seed)
    for k in range(len(first)):
        name, shape, dtype_name = first[k]
        dtype = FLOAT_DTYPES.get(dtype_name)
        if dtype is None:
            return (
                f"parameter {name} is a {dtype_name[:40]} tensor: the grader gives every "
                "parameter random values of its own before comparing outputs, which needs "
                "floating-point parameters (float32 or float64)"
            )
        if math.prod(shape) == 0:
            continue
        want = expected_weight(tuple(shape), dtype, generator)
        got = arrays[f"param{k}"]
        if got.shape != want.shape or not np.array_equal(got, want):
            return f"parameter {name} does not hold the values the grader gave it"
    return None
