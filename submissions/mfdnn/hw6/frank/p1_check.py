# checking problem 1 numerically: does dropout commute with the activation?
import torch
import torch.nn as nn


def check(act, trials=5):
    lin = nn.Linear(10, 10)
    x = torch.randn(100, 10)
    for _ in range(trials):
        torch.manual_seed(0)
        a = nn.functional.dropout(act(lin(x)), p=0.4)
        torch.manual_seed(0)
        b = act(nn.functional.dropout(lin(x), p=0.4))
        if not torch.allclose(a, b):
            return False
    return True


if __name__ == "__main__":
    for name, act in [("relu", nn.ReLU()), ("sigmoid", nn.Sigmoid()), ("leaky_relu", nn.LeakyReLU())]:
        print(name, check(act))
