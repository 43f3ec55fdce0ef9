"""HW1 problem 1: fit f(x) = (x - 2) cos(4x) with the starter's MLP."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

alpha = 0.1
K = 1000
N = 512
B = 128



def f_true(x):
    return (x - 2) * np.cos(x * 4)


torch.manual_seed(1)
X_train = torch.normal(0.0, 1.0, (N,))
y_train = f_true(X_train)
X_val = torch.normal(0.0, 1.0, (N // 5,))
y_val = f_true(X_val)

train_dataloader = DataLoader(
    TensorDataset(X_train.unsqueeze(1), y_train.unsqueeze(1)), batch_size=B
)
test_dataloader = DataLoader(TensorDataset(X_val.unsqueeze(1), y_val.unsqueeze(1)), batch_size=B)


class MLP(nn.Module):
    def __init__(self, input_dim=1):
        super().__init__()
        self.linear1 = nn.Linear(input_dim, 64, bias=True)
        self.linear2 = nn.Linear(64, 64, bias=True)
        self.linear3 = nn.Linear(64, 1, bias=True)

    def forward(self, x):
        x = torch.sigmoid(self.linear1(x))
        x = torch.sigmoid(self.linear2(x))
        return self.linear3(x)


model = MLP()
for layer in (model.linear1, model.linear2, model.linear3):
    layer.weight.data = torch.normal(0, 1, layer.weight.shape)
    layer.bias.data = torch.full(layer.bias.shape, 0.03)

loss_function = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=alpha)

losses = []
for epoch in range(K):
    epoch_losses = []
    for x, y in train_dataloader:
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        epoch_losses.append(loss.item())
    losses.append(sum(epoch_losses) / len(epoch_losses))

with torch.no_grad():
    test_loss = sum(loss_function(model(x), y).item() * len(x) for x, y in test_dataloader)
    test_loss /= len(X_val)
print(f"Test Loss: {test_loss:.4f}")

plt.figure()
plt.plot(range(K), losses)
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.yscale("log")

plt.figure()
with torch.no_grad():
    xx = torch.linspace(-3, 3, 1024).unsqueeze(1)
    plt.plot(X_train, y_train, "rx", label="Data points")
    plt.plot(xx, f_true(xx), "r", label="True Fn")
    plt.plot(xx, model(xx), label="Learned Fn")
plt.legend()
plt.show()
