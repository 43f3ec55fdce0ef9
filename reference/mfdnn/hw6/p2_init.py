"""HW6 problem 2: mean and variance of a linear MLP's output under PyTorch's default init.

The per-layer weight and bias variances are derived from the same calls ``nn.Linear`` makes
(``kaiming_uniform_(a=sqrt(5))`` and ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``), not typed in as
``1/3``, so a change in torch's defaults shows up here instead of in wrong grades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch.nn import init

KAIMING_A = math.sqrt(5)
"""The ``a`` that ``nn.Linear.reset_parameters`` passes to ``kaiming_uniform_``."""


def uniform_variance(bound: float) -> float:
    """Variance of ``U(-bound, bound)``."""
    return bound * bound / 3.0


def weight_bound(fan_in: int) -> float:
    """Half-width of the default ``nn.Linear`` weight law; mirrors ``kaiming_uniform_``."""
    gain = init.calculate_gain("leaky_relu", KAIMING_A)
    return gain * math.sqrt(3.0 / fan_in)


def bias_bound(fan_in: int) -> float:
    """Half-width of the default ``nn.Linear`` bias distribution."""
    return 1.0 / math.sqrt(fan_in)


def weight_variance(fan_in: int) -> float:
    """Variance of one default-initialised weight entry of a layer with ``fan_in`` inputs."""
    return uniform_variance(weight_bound(fan_in))


def bias_variance(fan_in: int) -> float:
    """Variance of one default-initialised bias entry of a layer with ``fan_in`` inputs."""
    return uniform_variance(bias_bound(fan_in))


def _check_widths(L: int, n: Sequence[int]) -> None:
    """Reject shapes that do not describe the statement's network (n_0 .. n_{L-1}, n_L = 1)."""
    if L < 1:
        raise ValueError(f"L must be >= 1, got {L}")
    if len(n) != L:
        raise ValueError(f"n must list n_0..n_(L-1) ({L} widths), got {len(n)}")
    if any(int(w) != w or w < 1 for w in n):
        raise ValueError(f"widths must be positive integers, got {list(n)}")


def p2_mean(L: int, n: Sequence[int]) -> float:
    """Mean of ``y_L``: zero, because every weight, bias and input has mean zero."""
    _check_widths(L, n)
    return 0.0


def p2_variance(L: int, n: Sequence[int]) -> float:
    """Variance of ``y_L`` via ``Var(y_l) = n_{l-1} w_var Var(y_{l-1}) + b_var``, ``Var(y_0) = 1``.

    Cross terms vanish because weights are independent and zero-mean, so the recurrence is exact.
    """
    _check_widths(L, n)
    var = 1.0
    for fan_in in n:
        var = fan_in * weight_variance(fan_in) * var + bias_variance(fan_in)
    return var
