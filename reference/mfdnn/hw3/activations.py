"""HW1 problem 5: the left-hand sides of the activation identities, computed literally.

A formula check compares the student's right-hand side with these at sampled z, so the claim the
student states (ReLU(ReLU(z)) = ..., tanh(z) = ... in terms of sigmoid) is what gets checked.
tests/references/test_reference_hw1.py verifies them against torch's own activations.
"""

from __future__ import annotations

import math


def relu(z: float) -> float:
    return max(z, 0.0)


def relu_of_relu(z: float) -> float:
    """ReLU(ReLU(z)) (5a), as written: the student simplifies it."""
    return relu(relu(z))


def tanh(z: float) -> float:
    """tanh(z) (5c): the student writes it in terms of sigmoid."""
    return math.tanh(z)
