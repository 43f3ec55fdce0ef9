"""mfdnn HW3 reference (problems 1, 2 and the identities of 5): the network, the test-loss band
of correct runs, the tanh/sigmoid map, and the parameter count and fit measure (fit.py)."""

from .activations import relu_of_relu, tanh
from .band import TEST_LOSS_BAND, Band, test_loss_band
from .fit import expected_test_mse, f_true, params_mlp
from .param_map import forward, position, random_mlp, sigmoid_from_tanh

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
