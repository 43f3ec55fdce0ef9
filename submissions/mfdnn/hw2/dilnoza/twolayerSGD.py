import numpy as np
import matplotlib.pyplot as plt


def f_true(x):
    return (x - 2) * np.cos(x * 4)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_prime(x):
    return sigmoid(x) * (1 - sigmoid(x))


K = 10000
alpha = 0.007
N, p = 30, 50
np.random.seed(0)
a0 = np.random.normal(loc=0.0, scale=4.0, size=p)
b0 = np.random.normal(loc=0.0, scale=4.0, size=p)
u0 = np.random.normal(loc=0, scale=0.05, size=p)
theta = np.concatenate((a0, b0, u0))

X = np.random.normal(loc=0.0, scale=1.0, size=N)
Y = f_true(X)


def f_th(theta, x):
    return np.sum(theta[2 * p: 3 * p] * sigmoid(np.reshape(theta[0: p], (1, -1)) * np.reshape(x, (-1, 1)) + np.reshape(theta[p: 2 * p], (1, -1))), axis=1)


def diff_f_th(theta, x):
    a, b, u = theta[0: p], theta[p: 2 * p], theta[2 * p: 3 * p]
    z = a * x + b
    # derivative w.r.t. a_j, b_j, u_j
    da = u * sigmoid_prime(z)
    db = u * sigmoid_prime(z)
    du = sigmoid(z)
    return np.concatenate((da, db, du))


xx = np.linspace(-2, 2, 1024)
plt.plot(X, f_true(X), 'rx', label='Data points')
plt.plot(xx, f_true(xx), 'r', label='True Fn')

for k in range(K):
    i = np.random.randint(N)
    err = f_th(theta, np.array([X[i]])) - Y[i]
    theta -= alpha * err * diff_f_th(theta, X[i])

    if (k + 1) % 2000 == 0:
        plt.plot(xx, f_th(theta, xx), label=f'Learned Fn after {k + 1} iterations')

plt.legend()
plt.savefig('plot.png')
plt.show()
