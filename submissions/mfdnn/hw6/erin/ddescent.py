import matplotlib.pyplot as plt
import numpy as np

"""
Step 1 : Generate Toy data
"""

d = 35
n_train, n_val, n_test = 300, 60, 30
np.random.seed(0)
beta = np.random.randn(d)
beta_true = beta / np.linalg.norm(beta)
# Generate and fix training data
X_train = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_train)])
Y_train = X_train @ beta_true + np.random.normal(loc=0.0, scale=0.5, size=n_train)
# Generate and fix validation data (for tuning lambda).
X_val = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_val)])
Y_val = X_val @ beta_true
# Generate and fix test data
X_test = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_test)])
Y_test = X_test @ beta_true

"""
Step 2 : Solve the problem
"""

lambda_list = [2 ** i for i in range(-6, 6)]
num_params = np.arange(1, 1501, 10)

errors_opt_lambda = []
errors_fixed_lambda = []


def ridge(U, s, Vt, y, lam):
    # theta = V diag(s / (s^2 + lam)) U^T y : one SVD serves every lambda
    return Vt.T @ ((s / (s ** 2 + lam)) * (U.T @ y))


for p in num_params:
    W = np.random.randn(p, d) / np.sqrt(p)
    F_train = np.maximum(X_train @ W.T, 0)
    F_val = np.maximum(X_val @ W.T, 0)
    F_test = np.maximum(X_test @ W.T, 0)
    U, s, Vt = np.linalg.svd(F_train, full_matrices=False)

    theta = ridge(U, s, Vt, Y_train, 0.01)
    errors_fixed_lambda.append(np.mean((F_test @ theta - Y_test) ** 2))

    val_errors = [np.mean((F_val @ ridge(U, s, Vt, Y_train, lam) - Y_val) ** 2) for lam in lambda_list]
    best = lambda_list[int(np.argmin(val_errors))]
    theta = ridge(U, s, Vt, Y_train, 0.01)
    errors_opt_lambda.append(np.mean((F_test @ theta - Y_test) ** 2))

"""
Step 3 : Plot the results
"""

plt.figure(figsize=(24, 8))
plt.rc("text", usetex=True)
plt.rc("font", family="serif")
plt.rc("font", size=24)

plt.scatter(num_params, errors_fixed_lambda, color="black", label=r"Test error with fixed $\lambda = 0.01$")
plt.legend()

plt.plot(num_params, errors_opt_lambda, "k", label=r"Test error with tuned $\lambda$")
plt.legend()
plt.xlabel(r"$p$ parameters")
plt.ylabel("Test error")
plt.title(r"Test error vs. $p$")

plt.savefig("double_descent.png")
plt.show()
