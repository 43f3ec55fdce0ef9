# HW2 Problem 7 -- Cyrus
import numpy as np
import matplotlib.pyplot as plt


def f_true(x):
    return (x - 2) * np.cos(x * 4)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_prime(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2


K = 10000
alpha = 0.007
N, p = 30, 50
np.random.seed(0)
a0 = np.random.normal(loc=0.0, scale=4.0, size=p)
b0 = np.random.normal(loc=0.0, scale=4.0, size=p)
u0 = np.random.normal(loc=0, scale=0.05, size=p)
params = np.concatenate((a0, b0, u0))

X = np.random.normal(loc=0.0, scale=1.0, size=N)
Y = f_true(X)


def f_th(params, x):
    x = np.atleast_1d(x)
    out = np.zeros(len(x))
    for j in range(p):
        out += params[2 * p + j] * sigmoid(params[j] * x + params[p + j])
    return out


def diff_f_th(params, x):
    grad = np.zeros(3 * p)
    for j in range(p):
        z = params[j] * x + params[p + j]
        grad[j] = params[2 * p + j] * sigmoid_prime(z) * x      # d/da_j
        grad[p + j] = params[2 * p + j] * sigmoid_prime(z)      # d/db_j
        grad[2 * p + j] = sigmoid(z)                            # d/du_j
    return grad


xx = np.linspace(-2, 2, 1024)
plt.figure(figsize=(8, 5))
plt.plot(X, f_true(X), 'rx', label='Data points')
plt.plot(xx, f_true(xx), 'r', label='True Fn')

for k in range(K):
    idx = int(np.random.rand() * N)            # uniform on {0, ..., N-1}
    residual = f_th(params, X[idx])[0] - Y[idx]
    params = params - alpha * residual * diff_f_th(params, X[idx])

plt.plot(xx, f_th(params, xx), 'b', label=f'Learned Fn after {K} iterations')
plt.legend()
plt.title('2-layer network trained by SGD')
plt.savefig('plot.png')
