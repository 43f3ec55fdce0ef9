"""HW1 reference answers, re-exported under the names the rubric refers to."""

from .activations import relu_of_relu, tanh
from .band import TEST_LOSS_BAND, Band, test_loss_band
from .param_map import forward, position, random_mlp, sigmoid_from_tanh

__all__ = [
    "TEST_LOSS_BAND",
    "Band",
    "forward",
    "position",
    "random_mlp",
    "relu_of_relu",
    "sigmoid_from_tanh",
    "tanh",
    "test_loss_band",
]
