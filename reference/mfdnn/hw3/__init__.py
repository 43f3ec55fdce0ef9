"""mfdnn HW3 reference (problems 1, 2 and the identities of 5): reference/hw1's functions, which
were written for this homework (the project's `hw1` rubric is this course's Homework 3), and the
count and fit measure of fit.py."""

from reference.hw1 import (
    TEST_LOSS_BAND,
    Band,
    forward,
    position,
    random_mlp,
    relu_of_relu,
    sigmoid_from_tanh,
    tanh,
    test_loss_band,
)

from .fit import expected_test_mse, f_true, params_mlp

__all__ = [
    "TEST_LOSS_BAND",
    "Band",
    "expected_test_mse",
    "f_true",
    "forward",
    "params_mlp",
    "position",
    "random_mlp",
    "relu_of_relu",
    "sigmoid_from_tanh",
    "tanh",
    "test_loss_band",
]
