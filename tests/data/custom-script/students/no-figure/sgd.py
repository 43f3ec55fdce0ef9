import numpy as np
import matplotlib.pyplot as plt

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def diff_f_th(theta, x):
    a, b, u = np.split(theta, 3)
    s = sigmoid(a * x + b)
    return np.concatenate([u * s * (1 - s) * x, u * s * (1 - s), s])

np.random.seed(0)
params = np.random.normal(0, 1, 6)
for k in range(100):
    params -= 0.01 * diff_f_th(params, 0.5)
