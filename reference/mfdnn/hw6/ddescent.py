"""Trusted reference for HW6 problem 5: ridge regression on random ReLU features (double descent).

The starter script ``ddescent.py`` fits ``theta`` for every ``p`` in ``num_params`` and every
``lambda`` in ``lambda_list`` with one linear solve each (13 solves of a ``p x p`` system per
``p``).  The grader needs many reference curves (calibration over seeds and metrics), so this
module computes them with ONE symmetric eigendecomposition per ``p`` and then gets ``theta`` for
every ``lambda`` in closed form (``ridge_errors_fast``).  ``ridge_errors_naive`` is the
straightforward per-lambda solve, kept as the oracle the fast path is tested against.

Data distribution (``make_data``), following the starter:

* ``beta = randn(d)``, normalised to unit length;
* ``X ~ N(0, I_d)`` row-wise for train/val/test (300/60/30 rows);
* ``Y_train = X_train beta + N(0, 0.5^2)``; ``Y_val`` and ``Y_test`` are NOISELESS (as in the
  starter, which is what makes validation tuning so effective);
* ``W = randn(p, d) / sqrt(p)`` and features ``ReLU(X W^T)``.

By default the draws use ``np.random.default_rng`` (fast, independent streams).  ``make_data(seed,
legacy=True)`` instead replays the starter's exact global-``RandomState`` calls
(``np.random.seed(seed)``, ``multivariate_normal`` per row), and ``ridge_errors_*(..., seed=None)``
then continues that same stream for the ``W`` draws, reproducing a student's run of the starter
bit for bit (tested against a transcription of the starter loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Metric = Literal["mse", "rmse", "norm", "sse"]
METRICS: tuple[Metric, ...] = ("mse", "rmse", "norm", "sse")

D = 35
N_TRAIN, N_VAL, N_TEST = 300, 60, 30
NOISE_STD = 0.5
FIXED_LAMBDA = 0.01
#: The starter's grid: ``[2 ** i for i in range(-6, 6)]``.
LAMBDA_GRID: np.ndarray = np.array([2.0**i for i in range(-6, 6)])
#: The starter's grid: ``np.arange(1, 1501, 10)`` (150 values, 1 ... 1491).
P_GRID: np.ndarray = np.arange(1, 1501, 10)


@dataclass(frozen=True)
class DDData:
    """One fixed train/val/test split; ``legacy_rng_state`` is set only for ``legacy=True``.

    The legacy state is the global ``RandomState`` right after the starter's data block, so the
    ``W`` draws can continue the stream exactly as a student's loop does.
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    beta: np.ndarray
    legacy_rng_state: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class DDResult:
    """Curves in the student's vocabulary plus the full per-lambda error tables.

    ``val_errors``/``test_errors`` are ``(len(num_params), len(lambdas))`` in ``metric``; they let
    callers derive variants (e.g. "tuned on the test set" = row-wise min of ``test_errors``)
    without re-fitting.
    """

    num_params: np.ndarray
    errors_fixed_lambda: np.ndarray
    errors_opt_lambda: np.ndarray
    chosen_lambdas: np.ndarray
    lambdas: np.ndarray
    fixed_lambda: float
    metric: Metric
    val_errors: np.ndarray
    test_errors: np.ndarray


def make_data(seed: int = 0, *, legacy: bool = False) -> DDData:
    """Draw the toy regression data of the starter.

    ``legacy=False`` uses ``default_rng(seed).standard_normal`` (same distribution, ~100x faster
    than 390 ``multivariate_normal`` calls, and no global state).  ``legacy=True`` replays the
    starter's global-``RandomState`` calls exactly, so ``seed=0`` gives the very data students had.
    """
    if legacy:
        return _make_data_legacy(seed)
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(D)
    beta_true = beta / np.linalg.norm(beta)
    X_train = rng.standard_normal((N_TRAIN, D))
    Y_train = X_train @ beta_true + NOISE_STD * rng.standard_normal(N_TRAIN)
    X_val = rng.standard_normal((N_VAL, D))
    X_test = rng.standard_normal((N_TEST, D))
    return DDData(X_train, Y_train, X_val, X_val @ beta_true, X_test, X_test @ beta_true, beta_true)


def _make_data_legacy(seed: int) -> DDData:
    """Transcription of the starter's data block on a private ``RandomState``."""
    rs = np.random.RandomState(seed)
    beta = rs.randn(D)
    beta_true = beta / np.linalg.norm(beta)
    zeros, eye = np.zeros(D), np.identity(D)
    X_train = np.array([rs.multivariate_normal(zeros, eye) for _ in range(N_TRAIN)])
    Y_train = X_train @ beta_true + rs.normal(loc=0.0, scale=NOISE_STD, size=N_TRAIN)
    X_val = np.array([rs.multivariate_normal(zeros, eye) for _ in range(N_VAL)])
    X_test = np.array([rs.multivariate_normal(zeros, eye) for _ in range(N_TEST)])
    return DDData(
        X_train,
        Y_train,
        X_val,
        X_val @ beta_true,
        X_test,
        X_test @ beta_true,
        beta_true,
        legacy_rng_state=rs.get_state(),
    )


def _weight_draws(data: DDData, p_values: np.ndarray, seed: int | None):
    """Yield ``W`` (p x d) for each p; identical draws for the fast and the naive path.

    ``seed`` int: ``W`` depends only on ``(seed, p)``, so a reduced grid sees the same ``W`` as the
    full grid.  ``seed=None``: continue the legacy starter stream in grid order (needs
    ``make_data(..., legacy=True)``), like ``W = np.random.randn(p, d) / np.sqrt(p)`` in the loop.
    """
    d = data.X_train.shape[1]
    if seed is None:
        if data.legacy_rng_state is None:
            raise ValueError("seed=None continues the starter stream: use make_data(legacy=True)")
        rs = np.random.RandomState()
        rs.set_state(data.legacy_rng_state)
        for p in p_values:
            yield rs.randn(int(p), d) / np.sqrt(p)
    else:
        for p in p_values:
            yield np.random.default_rng([seed, int(p)]).standard_normal((int(p), d)) / np.sqrt(p)


def _apply_metric(sse: np.ndarray, n: int, metric: Metric) -> np.ndarray:
    """Every accepted metric is a monotone function of the residual sum of squares."""
    if metric == "sse":
        return sse
    if metric == "mse":
        return sse / n
    if metric == "rmse":
        return np.sqrt(sse / n)
    if metric == "norm":
        return np.sqrt(sse)
    raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")


def _check_args(p_values: Sequence[int] | np.ndarray, lambdas, metric: str):
    p_arr = np.asarray(p_values, dtype=int)
    lam = np.asarray(lambdas, dtype=float)
    if p_arr.ndim != 1 or p_arr.size == 0 or np.any(p_arr < 1):
        raise ValueError("p_values must be a non-empty 1-D sequence of positive ints")
    if lam.ndim != 1 or lam.size == 0 or np.any(lam <= 0):
        raise ValueError("lambdas must be a non-empty 1-D sequence of positive floats")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    return p_arr, lam


def _residuals_fast(F: np.ndarray, n_tr: int, y_tr: np.ndarray, y_ev: np.ndarray, lams: np.ndarray):
    """Eval-set residuals for every lambda, ``(n_eval, L)``, from ONE eigendecomposition.

    ``F`` stacks the train rows (first ``n_tr``) and the eval rows.  Ridge gives ``theta =
    (F_tr^T F_tr + lam I)^-1 F_tr^T y``.  For p <= n we diagonalise ``F_tr^T F_tr = Q diag(e)
    Q^T``: ``theta = Q diag(1/(e+lam)) Q^T F_tr^T y``.  For p > n the push-through identity gives
    ``theta = F_tr^T (F_tr F_tr^T + lam I)^-1 y`` with ``F_tr F_tr^T = Q diag(e) Q^T``, so only the
    smaller min(n, p)^2 Gram is ever decomposed (then ``F_ev F_tr^T`` is the eval cross-kernel).
    Squaring the condition number is harmless here: eigh's absolute error is ~eps * e_max
    (~1e-13) << lam >= 0.01 (the tests check agreement with the naive solve to rtol 1e-8).
    """
    F_tr, F_ev = F[:n_tr], F[n_tr:]
    n, p = F_tr.shape
    if p <= n:
        e, Q = np.linalg.eigh(F_tr.T @ F_tr)
        b = Q.T @ (F_tr.T @ y_tr)
        proj = F_ev @ Q
    else:
        e, Q = np.linalg.eigh(F_tr @ F_tr.T)  # A @ A.T: numpy uses SYRK, half a GEMM
        b = Q.T @ y_tr
        proj = (F_ev @ F_tr.T) @ Q
    return proj @ (b[:, None] / (e[:, None] + lams[None, :])) - y_ev[:, None]


def _residuals_naive(
    F: np.ndarray, n_tr: int, y_tr: np.ndarray, y_ev: np.ndarray, lams: np.ndarray
):
    """One ``np.linalg.solve`` of the p x p normal equations per lambda (the starter's way).

    ``F^T F`` and ``F^T y`` are formed once per p (students often rebuild them per lambda; that
    only makes the naive path slower, so this baseline is the charitable one).
    """
    F_tr, F_ev = F[:n_tr], F[n_tr:]
    p = F_tr.shape[1]
    G, r = F_tr.T @ F_tr, F_tr.T @ y_tr
    thetas = np.stack([np.linalg.solve(G + lam * np.eye(p), r) for lam in lams], axis=1)
    return F_ev @ thetas - y_ev[:, None]


def _ridge_errors(
    data: DDData, p_values, lambdas, fixed_lambda: float, seed: int | None, metric: Metric, solver
) -> DDResult:
    p_arr, lam = _check_args(p_values, lambdas, metric)
    all_lams = np.append(lam, float(fixed_lambda))  # fixed lambda solved alongside, last column
    X_all = np.vstack([data.X_train, data.X_val, data.X_test])
    y_ev = np.concatenate([data.Y_val, data.Y_test])
    n_tr, n_val, n_te = data.X_train.shape[0], data.X_val.shape[0], data.X_test.shape[0]
    val_sse = np.empty((p_arr.size, lam.size))
    test_sse = np.empty((p_arr.size, all_lams.size))
    for i, W in enumerate(_weight_draws(data, p_arr, seed)):
        F = np.maximum(X_all @ W.T, 0.0)
        sq = solver(F, n_tr, data.Y_train, y_ev, all_lams) ** 2
        val_sse[i] = sq[:n_val, :-1].sum(axis=0)
        test_sse[i] = sq[n_val:].sum(axis=0)
    best = np.argmin(val_sse, axis=1)  # first minimum, like the students' strict '<'
    test_err = _apply_metric(test_sse, n_te, metric)
    return DDResult(
        num_params=p_arr,
        errors_fixed_lambda=test_err[:, -1],
        errors_opt_lambda=test_err[np.arange(p_arr.size), best],
        chosen_lambdas=lam[best],
        lambdas=lam,
        fixed_lambda=float(fixed_lambda),
        metric=metric,
        val_errors=_apply_metric(val_sse, n_val, metric),
        test_errors=test_err[:, :-1],
    )


def ridge_errors_fast(
    data: DDData,
    p_values: Sequence[int] | np.ndarray = P_GRID,
    lambdas: Sequence[float] | np.ndarray = LAMBDA_GRID,
    fixed_lambda: float = FIXED_LAMBDA,
    seed: int | None = 0,
    metric: Metric = "mse",
) -> DDResult:
    """Double-descent curves with one eigendecomposition per ``p`` (see module docstring).

    Lambda is selected per ``p`` by validation error (first minimum on ties); the reported test
    errors use ``metric``.  Selection does not depend on ``metric`` (all are monotone in SSE).
    """
    return _ridge_errors(data, p_values, lambdas, fixed_lambda, seed, metric, _residuals_fast)


def ridge_errors_naive(
    data: DDData,
    p_values: Sequence[int] | np.ndarray = P_GRID,
    lambdas: Sequence[float] | np.ndarray = LAMBDA_GRID,
    fixed_lambda: float = FIXED_LAMBDA,
    seed: int | None = 0,
    metric: Metric = "mse",
) -> DDResult:
    """Same as ``ridge_errors_fast`` but with a ``np.linalg.solve`` per lambda (the oracle)."""
    return _ridge_errors(data, p_values, lambdas, fixed_lambda, seed, metric, _residuals_naive)


def reference_curves(seed: int = 0, metric: Metric = "mse", *, legacy: bool = False) -> DDResult:
    """The full-grid reference the grader compares against (data and ``W`` from ``seed``)."""
    data = make_data(seed, legacy=legacy)
    return ridge_errors_fast(data, seed=None if legacy else seed, metric=metric)
