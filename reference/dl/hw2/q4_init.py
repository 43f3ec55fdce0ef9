"""Q4: He initialisation for ReLU networks, sigma_l = sqrt(2 / d_{l-1})."""

from __future__ import annotations

import math

import numpy as np


def q4_sigma(d: int) -> float:
    """Weight standard deviation for a layer whose input has width d (= d_{l-1})."""
    return math.sqrt(2.0 / d)


def relu_second_moment(samples: int, seed: int) -> float:
    """E[relu(z)^2] for z ~ N(0, 1), estimated: the 1/2 the derivation rests on."""
    z = np.random.default_rng(seed).standard_normal(samples)
    return float(np.mean(np.maximum(z, 0.0) ** 2))


def activation_variances(depth: int, width: int, gain: float, batch: int, seed: int) -> list[float]:
    """Mean squared pre-activation per layer of a bias-free ReLU MLP whose weights have
    standard deviation gain * sqrt(1 / width); gain sqrt(2) is He's choice."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((batch, width))
    out = []
    for _ in range(depth):
        w = rng.standard_normal((width, width)) * gain / math.sqrt(width)
        u = np.maximum(u, 0.0) @ w
        out.append(float(np.mean(u**2)))
    return out
