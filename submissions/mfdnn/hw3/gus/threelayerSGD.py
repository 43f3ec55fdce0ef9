import torch
import numpy as np
import torch.nn as nn
import torch.optim as optim
import torch.nn.functional as F
from torch.utils.data import TensorDataset, DataLoader
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

alpha = 0.1
K = 1000
B = 128
N = 512


def f_true(x):
    return (x - 2) * np.cos(x * 4)


torch.manual_seed(0)
X_train = torch.normal(0.0, 1.0, (N,))
y_train = f_true(X_train)
X_val = torch.normal(0.0, 1.0, (N // 5,))
y_val = f_true(X_val)

train_dataloader = DataLoader(TensorDataset(X_train.unsqueeze(1), y_train.unsqueeze(1)), batch_size=B, shuffle=True)
test_dataloader = DataLoader(TensorDataset(X_val.unsqueeze(1), y_val.unsqueeze(1)), batch_size=B)


class MLP(nn.Module):
    def __init__(self, input_dim=1):
        super().__init__()
        self.linear = nn.Linear(input_dim, 64, bias=True)
        self.linear2 = nn.Linear(64, 64, bias=True)
        self.linear3 = nn.Linear(64, 1, bias=True)

    def forward(self, x):
        x = torch.sigmoid(self.linear(x))
        x = torch.sigmoid(self.linear2(x))
        x = self.linear3(x)
        return x


model = MLP()
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=1.0)
        nn.init.constant_(m.bias, 0.03)

loss_function = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=alpha)

for epoch in range(K):
    for x, y in train_dataloader:
        optimizer.zero_grad()
        train_loss = loss_function(model(x), y)
        train_loss.backward()
        optimizer.step()
print("final training loss:", train_loss.item())

with torch.no_grad():
    xx = torch.linspace(-2, 2, 1024).unsqueeze(1)
    plt.plot(X_train, y_train, 'rx', label='Data points')
    plt.plot(xx, f_true(xx), 'r', label='True Fn')
    plt.plot(xx, model(xx), label='Learned Fn')
plt.legend()
plt.show()
