"""HW1 problem 1: the starter's training run, reproduced to derive the test-loss band.

The starter (the appendix of a real HW1 writeup; the statement itself is not available): N = 512
training points x ~ N(0, 1), targets f(x) = (x - 2) cos(4x), a test set of N // 5 points drawn
the same way, a sigmoid MLP 1-64-64-1 with every weight ~ N(0, 1) and every bias 0.03, MSE loss,
plain SGD with learning rate 0.1, K = 1000 epochs of batches of 128 (no shuffling). The test loss
is the mean squared error on the test set.

The exact test loss of a correct run depends on the random draws (data, initial weights), so a
student's value is judged against a band spanning the reference runs over many seeds
(`TEST_LOSS_BAND`, derived by bench/calibrate_hw1_band.py; re-checked by a slow test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

N_TRAIN = 512
N_TEST = N_TRAIN // 5
WIDTH = 64
LEARNING_RATE = 0.1
EPOCHS = 1000
BATCH = 128
INIT_BIAS = 0.03


def f_true(x: torch.Tensor) -> torch.Tensor:
    return (x - 2) * torch.cos(4 * x)


@dataclass(frozen=True)
class TrainingRun:
    """Per-epoch mean training loss and the final test MSE of one run."""

    seed: int
    losses: list[float]
    test_loss: float
    label_noise: float


class StarterMLP(nn.Module):
    """The starter's model: 1-64-64-1, sigmoid after the two hidden layers."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = nn.Linear(1, WIDTH)
        self.linear2 = nn.Linear(WIDTH, WIDTH)
        self.linear3 = nn.Linear(WIDTH, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.linear1(x))
        x = torch.sigmoid(self.linear2(x))
        return self.linear3(x)


def train_starter(
    seed: int, epochs: int = EPOCHS, batch: int = BATCH, label_noise: float = 0.0
) -> TrainingRun:
    """One run of the starter, drawing from torch's global generator in the starter's order.

    `torch.manual_seed(seed)`, the training then test inputs, the model (whose default init
    draws too), then the N(0, 1) weights layer by layer: seed 0 replays the starter as handed
    out. The global generator is restored afterwards. `label_noise` is problem 2's noise.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = torch.normal(0.0, 1.0, (N_TRAIN,)).unsqueeze(1)
        x_test = torch.normal(0.0, 1.0, (N_TEST,)).unsqueeze(1)
        model = StarterMLP()
        for layer in (model.linear1, model.linear2, model.linear3):
            layer.weight.data = torch.normal(0, 1, layer.weight.shape)
            layer.bias.data = torch.full(layer.bias.shape, INIT_BIAS)
        y = f_true(x) + label_noise * torch.randn(x.shape)
        return _train(seed, model, x, y, x_test, f_true(x_test), epochs, batch, label_noise)


def _train(
    seed: int,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    epochs: int,
    batch: int,
    label_noise: float,
) -> TrainingRun:
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    for _ in range(epochs):
        epoch = []
        for start in range(0, N_TRAIN, batch):
            optimizer.zero_grad()
            loss = loss_fn(model(x[start : start + batch]), y[start : start + batch])
            loss.backward()
            optimizer.step()
            epoch.append(loss.item())
        losses.append(sum(epoch) / len(epoch))
    with torch.no_grad():
        test_loss = float(loss_fn(model(x_test), y_test))
    return TrainingRun(
        seed, losses, test_loss if math.isfinite(test_loss) else math.inf, label_noise
    )


def constant_predictor_loss(samples: int = 2_000_000, seed: int = 0) -> float:
    """Test MSE of learning nothing: the best constant, i.e. Var f(x) for x ~ N(0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    y = f_true(torch.randn(samples, generator=gen, dtype=torch.float64))
    return float(y.var())
