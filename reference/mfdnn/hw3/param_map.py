"""HW1 problem 5c: a tanh MLP equals a sigmoid MLP under a map of its parameters.

Networks are lists of layers (W, c): hidden layers apply the activation, the last layer is
linear. Since tanh(u) = 2 sigmoid(2u) - 1, a tanh layer's output y = 2 s - 1 where s is the
output of a sigmoid layer with pre-activation 2u. Substituting y = 2 s - 1 into the next layer
C y + d = 2 C s + (d - C 1) gives, for the sigmoid network (A_i, b_i):

- first layer:   A_1 = 2 C_1,  b_1 = 2 d_1            (its input is x itself)
- hidden layers: A_i = 4 C_i,  b_i = 2 d_i - 2 C_i 1  (input 2 s - 1, pre-activation doubled)
- last layer:    A_L = 2 C_L,  b_L = d_L - C_L 1      (input 2 s - 1, linear output)

where C 1 is the vector of C's row sums. tests/references/test_reference_hw1.py verifies this by
building both networks in torch; the grader uses the same builders to check a student's map.
"""

from __future__ import annotations

import itertools

import torch

Layer = tuple[torch.Tensor, torch.Tensor]  # (weight [out, in], bias [out])


def random_mlp(widths: list[int], generator: torch.Generator) -> list[Layer]:
    """Layers widths[0] -> widths[1] -> ... with N(0, 1) weights and biases (float64)."""
    return [
        (
            torch.randn(n_out, n_in, generator=generator, dtype=torch.float64),
            torch.randn(n_out, generator=generator, dtype=torch.float64),
        )
        for n_in, n_out in itertools.pairwise(widths)
    ]


def forward(layers: list[Layer], x: torch.Tensor, activation: str) -> torch.Tensor:
    """x [batch, in] through the MLP; `activation` ('tanh' or 'sigmoid') after all but the last."""
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    for i, (weight, bias) in enumerate(layers):
        x = x @ weight.T + bias
        if i < len(layers) - 1:
            x = act(x)
    return x


def position(i: int, depth: int) -> str:
    """'first', 'hidden' or 'last': where layer i sits (a 1-layer net has only a 'last')."""
    if i == depth - 1:
        return "last"
    return "first" if i == 0 else "hidden"


def sigmoid_from_tanh(layers: list[Layer]) -> list[Layer]:
    """The sigmoid MLP computing the same function as the tanh MLP `layers` (map above)."""
    out = []
    for i, (c, d) in enumerate(layers):
        where = position(i, len(layers))
        rows = c.sum(dim=1)
        if where == "first":
            out.append((2 * c, 2 * d))
        elif where == "hidden":
            out.append((4 * c, 2 * d - 2 * rows))
        else:
            out.append((2 * c, d - rows) if i > 0 else (c, d))
    return out
