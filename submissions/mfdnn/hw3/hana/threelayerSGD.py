import torch
import numpy as np
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import TensorDataset, DataLoader
import matplotlib.pyplot as plt
# from sklearn.model_selection import train_test_split   (not needed)

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
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, 64), nn.Sigmoid(),
            nn.Linear(64, 64), nn.Sigmoid(),
            nn.Linear(64, 1),
        )
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.weight.data.normal_(0, 1)
                layer.bias.data.fill_(0.03)

    def forward(self, x):
        return self.net(x)


model = MLP()
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=alpha)

for epoch in range(K):
    model.train()
    for xb, yb in train_dataloader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    val_loss = sum(criterion(model(xb), yb).item() * len(xb) for xb, yb in test_dataloader) / len(X_val)
print(f"Epoch {K}: train loss {loss.item():.4f}, test loss {val_loss:.4f}")
print("number of parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))

with torch.no_grad():
    xx = torch.linspace(-2, 2, 1024).unsqueeze(1)
    plt.plot(X_train, y_train, 'rx', label='Data points')
    plt.plot(xx, f_true(xx), 'r', label='True Fn')
    plt.plot(xx, model(xx), label='Learned Fn')
plt.legend()
plt.savefig('p1_fit.png')
