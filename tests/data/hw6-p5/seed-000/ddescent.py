# Seed 000's ddescent.py as the student ran it: copied from the writeup, with the
# loop-body indentation that the PDF conversion dropped at the page break restored.
# The student's own slip is kept: the lambda choice and errors_opt_lambda.append sit
# inside the loop over lambda.
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
X_train = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(
    n_train)])
Y_train = X_train @ beta_true + np.random.normal(loc = 0.0, scale = 0.5, size = n_train)
# Generate and fix validation data (for tuning lambda).
X_val = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(
    n_val)])
Y_val = X_val @ beta_true
# Generate and fix test data
X_test = np.array([np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(
    n_test)])
Y_test = X_test @ beta_true

"""
Step 2 : Solve the problem
"""

lambda_list = [2 ** i for i in range(-6, 6)]
num_params = np.arange(1, 1501, 10)

errors_opt_lambda = []
errors_fixed_lambda = []
for p in num_params :
    W = np.random.randn(p, d) / np.sqrt(p)

    # ReLU function
    X_train_transformed = np.maximum(X_train @ W.T, 0)



    X_val_transformed = np.maximum(X_val @ W.T, 0)
    X_test_transformed = np.maximum(X_test @ W.T, 0)

    #  $(X^T X + \lambda I_p) \theta = X^T Y$  : normal equation
    theta_fixed_lambda = np.linalg.solve(X_train_transformed.T @ X_train_transformed + 0.01 *
                                         np.eye(p), X_train_transformed.T @ Y_train)
    errors_fixed_lambda.append(np.mean((X_test_transformed @ theta_fixed_lambda - Y_test) ** 2
                                       ))

    val_errors = []
    for lambda_ in lambda_list:
        theta_opt_lambda = np.linalg.solve(X_train_transformed.T @ X_train_transformed +
                                         lambda_ * np.eye(p),
                                         X_train_transformed.T @ Y_train)
        val_errors.append(np.mean((X_val_transformed @ theta_opt_lambda - Y_val) ** 2))
        optimal_lambda = lambda_list[np.argmin(val_errors)]
        theta_opt_lambda = np.linalg.solve(X_train_transformed.T @ X_train_transformed +
                                         optimal_lambda * np.eye(p),
                                         X_train_transformed.T @ Y_train)
        errors_opt_lambda.append(np.mean((X_test_transformed @ theta_opt_lambda - Y_test) ** 2))
"""
Step 3 : Plot the results
"""

plt.figure(figsize = (24, 8))
plt.rc('text', usetex = True)
plt.rc('font', family = 'serif')
plt.rc('font', size = 24)

plt.scatter(num_params, errors_fixed_lambda, color = 'black',
            label = r"Test error with fixed  $\lambda = 0.01$ ",
            )
plt.legend()

plt.plot(num_params, errors_opt_lambda, 'k', label = r"Test error with tuned  $\lambda$ ")
plt.legend()
plt.xlabel(r' $\lambda$  parameters')
plt.ylabel('Test error')
plt.title(r'Test error vs.  $\lambda$  params')

plt.savefig('double_descent.png')
plt.show()
