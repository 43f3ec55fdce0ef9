"""HW3 problems 1 and 2: what the grader computes beside the HW1-era reference (reference/hw1).

`params_mlp` is problem 2's count, taken from the starter's model itself. `expected_test_mse`
turns a drawn fit (the starter plots `model(xx)` on `xx = linspace(-2, 2, 1024)`) into the
quantity the test-loss band is about: the mean squared error against f* under x ~ N(0, 1), here
a density-weighted mean over the drawn grid (inputs outside the grid, 4.6% of N(0, 1) for
[-2, 2], are not drawn and not counted).
"""

from __future__ import annotations

import numpy as np

from .training import StarterMLP


def params_mlp() -> int:
    """Trainable parameters of the 1-64-64-1 MLP: 4,353."""
    return sum(p.numel() for p in StarterMLP().parameters() if p.requires_grad)


def f_true(x: np.ndarray) -> np.ndarray:
    return (x - 2) * np.cos(4 * x)


def expected_test_mse(x: np.ndarray, y: np.ndarray) -> float:
    """E[(y(x) - f*(x))^2] for x ~ N(0, 1) restricted to the drawn points' span (trapezoids)."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    order = np.argsort(x)
    x, y = x[order], y[order]
    density = np.exp(-(x**2) / 2)
    with np.errstate(over="ignore", invalid="ignore"):
        squared = (y - f_true(x)) ** 2
    return float(np.trapezoid(squared * density, x) / np.trapezoid(density, x))
