import numpy as np
import matplotlib.pyplot as plt

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def diff_f_th(theta, x):
    a, b, u = np.split(theta, 3)
    s = sigmoid(a * x + b)
    return np.concatenate([u * s * (1 - s) * x, u * s * (1 - s), s])

np.random.seed(0)
theta = np.random.normal(0, 1, 6)
for k in range(100):
    theta -= 0.01 * diff_f_th(theta, 0.5)
plt.plot(np.linspace(-2, 2, 5), np.zeros(5))
plt.savefig("plot.png")
