"""Verify reference/mfdnn/hw6/ddescent.py: fast == naive, starter replay, and the phenomenon
itself."""

from __future__ import annotations

import numpy as np
import pytest

from reference.mfdnn.hw6.ddescent import (
    LAMBDA_GRID,
    METRICS,
    N_TEST,
    P_GRID,
    DDResult,
    make_data,
    reference_curves,
    ridge_errors_fast,
    ridge_errors_naive,
)

# Small p, the interpolation threshold (n_train = 300) from both sides, and p >> n: covers both
# branches of the fast path (p x p Gram vs n x n Gram) and the ill-conditioned region.
REDUCED_P = [1, 11, 101, 291, 301, 311, 451, 701]
FIELDS = ("errors_fixed_lambda", "errors_opt_lambda", "val_errors", "test_errors")


def _assert_same(a: DDResult, b: DDResult, rtol: float) -> None:
    np.testing.assert_array_equal(a.num_params, b.num_params)
    np.testing.assert_array_equal(a.chosen_lambdas, b.chosen_lambdas)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=rtol, atol=0, err_msg=f)


@pytest.fixture(scope="module")
def full_runs() -> list[DDResult]:
    """Full starter grid, seed 0 (about 1.5 s); the slow test below repeats on more seeds."""
    return [reference_curves(0)]


def test_fast_matches_naive_on_reduced_grid() -> None:
    # metric="norm" exercises the metric transform; the other metrics are checked below as
    # exact transforms of the same SSE, so re-running the naive solves for each adds nothing.
    data = make_data(3)
    fast = ridge_errors_fast(data, REDUCED_P, seed=3, metric="norm")
    naive = ridge_errors_naive(data, REDUCED_P, seed=3, metric="norm")
    _assert_same(fast, naive, rtol=1e-8)


def test_fast_matches_naive_with_other_lambdas_and_fixed_lambda() -> None:
    data = make_data(4)
    lams = np.logspace(-2, 2, 9)
    fast = ridge_errors_fast(data, [21, 299, 305, 700], lams, fixed_lambda=0.5, seed=9)
    naive = ridge_errors_naive(data, [21, 299, 305, 700], lams, fixed_lambda=0.5, seed=9)
    _assert_same(fast, naive, rtol=1e-8)
    assert fast.fixed_lambda == 0.5
    np.testing.assert_array_equal(fast.lambdas, lams)


@pytest.mark.slow
def test_fast_matches_naive_across_the_full_grid() -> None:
    """Points spread over the whole starter grid, the largest p and the threshold included.

    W depends only on (seed, p), so a subset of the grid is the full grid's own values. The full
    grid itself, naive side included (minutes), is run by bench/bench_ddescent.py.
    """
    data = make_data(0)
    p = P_GRID[[0, 20, 29, 30, 31, 45, 75, 110, 149]]
    _assert_same(ridge_errors_fast(data, p), ridge_errors_naive(data, p), rtol=1e-8)


def test_metrics_are_transforms_of_one_sse() -> None:
    data = make_data(5)
    runs = {m: ridge_errors_fast(data, REDUCED_P, seed=5, metric=m) for m in METRICS}
    sse = runs["sse"].errors_fixed_lambda
    np.testing.assert_allclose(runs["mse"].errors_fixed_lambda, sse / N_TEST, rtol=1e-12)
    np.testing.assert_allclose(runs["rmse"].errors_fixed_lambda, np.sqrt(sse / N_TEST), rtol=1e-12)
    np.testing.assert_allclose(runs["norm"].errors_fixed_lambda, np.sqrt(sse), rtol=1e-12)
    for m in METRICS:  # selection is metric-independent: every metric is monotone in SSE
        np.testing.assert_array_equal(runs[m].chosen_lambdas, runs["sse"].chosen_lambdas)


def test_opt_is_validation_argmin_and_tables_are_consistent() -> None:
    r = ridge_errors_fast(make_data(6), REDUCED_P, seed=6)
    best = np.argmin(r.val_errors, axis=1)
    np.testing.assert_array_equal(r.chosen_lambdas, LAMBDA_GRID[best])
    np.testing.assert_array_equal(r.errors_opt_lambda, r.test_errors[np.arange(len(best)), best])
    assert r.val_errors.shape == r.test_errors.shape == (len(REDUCED_P), LAMBDA_GRID.size)


def test_w_draws_depend_only_on_seed_and_p() -> None:
    """A reduced grid sees the same W as the full grid, so reduced-grid tests are meaningful."""
    data = make_data(7)
    small = ridge_errors_fast(data, [11, 301], seed=7)
    big = ridge_errors_fast(data, [1, 11, 21, 301, 311], seed=7)
    np.testing.assert_array_equal(small.test_errors, big.test_errors[[1, 3]])
    other = ridge_errors_fast(data, [11, 301], seed=8)
    assert not np.allclose(small.test_errors, other.test_errors)


def test_make_data_follows_the_starter_distribution() -> None:
    data = make_data(11)
    assert data.X_train.shape == (300, 35) and data.X_val.shape == (60, 35)
    assert data.X_test.shape == (30, 35)
    assert np.linalg.norm(data.beta) == pytest.approx(1.0)
    np.testing.assert_array_equal(data.Y_val, data.X_val @ data.beta)  # noiseless, as starter
    np.testing.assert_array_equal(data.Y_test, data.X_test @ data.beta)
    noise = data.Y_train - data.X_train @ data.beta
    assert 0.43 < noise.std() < 0.57  # sigma = 0.5; 300 draws -> sd of the estimate ~0.02
    x = np.concatenate([make_data(s).X_train.ravel() for s in range(5)])
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01  # N(0, I)
    assert not np.array_equal(make_data(12).X_train, data.X_train)


def _starter_transcription(p_values: list[int], draw: str) -> tuple[list[float], list[float]]:
    """The starter + a correct student loop, verbatim on the global np.random (seed 0)."""
    saved = np.random.get_state()
    try:
        d = 35
        n_train, n_val, n_test = 300, 60, 30
        np.random.seed(0)
        beta = np.random.randn(d)
        beta_true = beta / np.linalg.norm(beta)
        X_train = np.array(
            [np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_train)]
        )
        Y_train = X_train @ beta_true + np.random.normal(loc=0.0, scale=0.5, size=n_train)
        X_val = np.array(
            [np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_val)]
        )
        Y_val = X_val @ beta_true
        X_test = np.array(
            [np.random.multivariate_normal(np.zeros(d), np.identity(d)) for _ in range(n_test)]
        )
        Y_test = X_test @ beta_true
        fixed, opt = [], []
        for p in p_values:
            if draw == "randn":  # student 000
                W = np.random.randn(p, d) / np.sqrt(p)
            else:  # student 002
                W = np.random.normal(0, 1 / np.sqrt(p), size=(p, d))
            Xt, Xv, Xs = (np.maximum(X @ W.T, 0) for X in (X_train, X_val, X_test))
            A, b = Xt.T @ Xt, Xt.T @ Y_train
            th = np.linalg.solve(A + 0.01 * np.eye(p), b)
            fixed.append(np.mean((Xs @ th - Y_test) ** 2))
            val = []
            for lam in [2**i for i in range(-6, 6)]:
                th = np.linalg.solve(A + lam * np.eye(p), b)
                val.append((np.mean((Xv @ th - Y_val) ** 2), np.mean((Xs @ th - Y_test) ** 2)))
            opt.append(min(val)[1])
        return fixed, opt
    finally:
        np.random.set_state(saved)


@pytest.mark.parametrize("draw", ["randn", "normal"])
def test_legacy_mode_replays_a_student_run_of_the_starter(draw: str) -> None:
    p_values = [1, 11, 21, 31, 41]
    fixed, opt = _starter_transcription(p_values, draw)
    ref = ridge_errors_fast(make_data(0, legacy=True), p_values, seed=None)
    # randn(p,d)/sqrt(p) is bitwise our draw; normal(0, 1/sqrt(p)) differs in the last ulp.
    np.testing.assert_allclose(ref.errors_fixed_lambda, fixed, rtol=1e-9)
    np.testing.assert_allclose(ref.errors_opt_lambda, opt, rtol=1e-9)


def test_legacy_stream_needs_legacy_data() -> None:
    with pytest.raises(ValueError, match="legacy"):
        ridge_errors_fast(make_data(0), [1], seed=None)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_values": []}, "p_values"),
        ({"p_values": [0, 5]}, "p_values"),
        ({"lambdas": [0.1, -1.0]}, "lambdas"),
        ({"metric": "mae"}, "metric"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ridge_errors_fast(make_data(0), **{"p_values": [1], **kwargs})


def _check_peak(runs: list[DDResult]) -> None:
    for r in runs:
        p, f = r.num_params, r.errors_fixed_lambda
        assert 200 <= p[np.argmax(f)] <= 450
        peak = f[(p >= 200) & (p <= 450)].max()
        assert peak > 3 * np.median(f[(p >= 50) & (p <= 150)])  # ascent before the threshold
        assert peak > 3 * np.median(f[p >= 900])  # second descent after it


def _check_no_peak(runs: list[DDResult]) -> None:
    for r in runs:
        p, f, o = r.num_params, r.errors_fixed_lambda, r.errors_opt_lambda
        win = (p >= 200) & (p <= 450)
        assert o[win].max() < np.median(o[(p >= 50) & (p <= 150)])  # no rise at the threshold
        assert np.all(o[win] < f[win])
        assert np.median(o[win]) < 0.25 * np.median(f[win])
        # larger lambdas are chosen at the threshold than far from it (regularisation kicks in)
        assert np.median(r.chosen_lambdas[win]) >= LAMBDA_GRID[0] * 4


def test_fixed_lambda_curve_peaks_near_interpolation_threshold(full_runs) -> None:
    _check_peak(full_runs)


def test_tuned_curve_has_no_peak_and_beats_fixed_near_threshold(full_runs) -> None:
    _check_no_peak(full_runs)


@pytest.mark.slow
def test_phenomenon_on_more_seeds_and_the_legacy_run() -> None:
    runs = [reference_curves(s) for s in range(1, 6)] + [reference_curves(0, legacy=True)]
    _check_peak(runs)
    _check_no_peak(runs)


def test_full_grid_defaults_match_the_starter() -> None:
    np.testing.assert_array_equal(P_GRID, np.arange(1, 1501, 10))
    np.testing.assert_array_equal(LAMBDA_GRID, [2**i for i in range(-6, 6)])
