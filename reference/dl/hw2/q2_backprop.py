"""Q2: one forward pass, backward pass and SGD step of a 3-2-2 sigmoid network, by autograd.

The statement is reconstructed from a student's forward values (tests check them):
h1 = sigmoid(x1 w1 + x2 w3 + x3 w5 + b1), h2 = sigmoid(x1 w2 + x2 w4 + x3 w6 + b1),
o1 = sigmoid(w7 h1 + w9 h2 + b2), o2 = sigmoid(w8 h1 + w10 h2 + b2),
loss = 1/2 sum (o - t)^2, one SGD step with learning rate 0.01. b1 and b2 are each shared by two
units, so autograd sums their gradients over both paths, as the chain rule must.
"""

from __future__ import annotations

import torch

X = (1.0, 4.0, 5.0)
TARGETS = (0.1, 0.05)
LEARNING_RATE = 0.01
INITIAL = {
    **{f"w{i}": round(0.1 * i, 1) for i in range(1, 10)},
    "w10": 0.1,
    "b1": 0.5,
    "b2": 0.5,
}
PARAMETERS = tuple(INITIAL)


def forward(
    params: dict[str, torch.Tensor], output_sigmoid: bool = True
) -> dict[str, torch.Tensor]:
    """h1, h2, o1, o2 and the loss; `output_sigmoid=False` is a known mistake (for demos)."""
    x1, x2, x3 = X
    p = params
    h1 = torch.sigmoid(x1 * p["w1"] + x2 * p["w3"] + x3 * p["w5"] + p["b1"])
    h2 = torch.sigmoid(x1 * p["w2"] + x2 * p["w4"] + x3 * p["w6"] + p["b1"])
    z1 = p["w7"] * h1 + p["w9"] * h2 + p["b2"]
    z2 = p["w8"] * h1 + p["w10"] * h2 + p["b2"]
    o1, o2 = (torch.sigmoid(z1), torch.sigmoid(z2)) if output_sigmoid else (z1, z2)
    loss = 0.5 * ((o1 - TARGETS[0]) ** 2 + (o2 - TARGETS[1]) ** 2)
    return {"h1": h1, "h2": h2, "o1": o1, "o2": o2, "loss": loss}


def q2_values(output_sigmoid: bool = True) -> dict[str, float]:
    """Every quantity graded in Q2, keyed as on the answer sheet (h1, dL_dw9, w9_new, ...)."""
    params = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in INITIAL.items()
    }
    values = forward(params, output_sigmoid)
    values["loss"].backward()
    out = {name: float(v.detach()) for name, v in values.items()}
    for name in PARAMETERS:
        grad = params[name].grad
        assert grad is not None
        out[f"dL_d{name}"] = float(grad)
        out[f"{name}_new"] = INITIAL[name] - LEARNING_RATE * float(grad)
    return out
