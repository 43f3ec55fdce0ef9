"""Tests for grader/curves.py, the phenomenon judge for HW6 problem 5.

Calibration (how the thresholds in grader/curves.py were chosen and what they cost)
------------------------------------------------------------------------------------
Measured by ``OPENBLAS_NUM_THREADS=1 python -m bench.calibrate_curves --seeds 100`` (seeds
1..100, each an independent "student": own data and W draws; 548 s on the shared 2-core box).
Per seed, ONE fit on the union of the starter's lambda grid 2**(-6..5) and the statement's
logspace(-2, 2, 9) yields, for each of the 4 metrics (mse, rmse, norm, sse):
  correct  2 lambda grids x {full p grid, every 2nd p}            -> 16 per seed, 1600 in all
  sparse   2 lambda grids x {every 3rd p, every 5th p} (correct)  -> 1600 in all
  wrong    test_tuned (x2 grids), not_tuned, in_loop (opt appended inside the lambda loop),
           empty, swapped (fixed <-> opt), reversed               -> 400 each (800 test_tuned)
Reference: ``reference_curves(0, legacy=True)`` (the starter's own stream), as the grader uses.

False-REJECT rate on correct submissions: 0/1600 for EVERY criterion (lengths_ok,
fixed_has_peak, tuned_has_no_peak, tuned_below_fixed_near_threshold, rank_corr_*_ok), and
0/1600 on the sparse grids too.  Margins (min/max over the 1600 correct runs):
  fixed_prominence   min 1.76 (sqrt metrics) / 3.09 (squared)   threshold >= 1.4
                     (sparse grids: min 1.66)
  tuned_prominence   max 1.07 (sqrt) / 1.16 (squared)           threshold <  1.4
                     (sparse grids: max 1.18)
  tuned_below_frac   min 1.00                                   threshold >= 0.8
  rank_corr_fixed    min 0.56                                   threshold >= 0.4
  rank_corr_opt      min 0.42 (sparse grids: 0.30)              threshold >= 0.2

False-ACCEPT rate of ``shows_phenomenon`` on wrong submissions:
  not_tuned  0/400  (tuned_prominence min 1.98 >= 1.4; tuned_below_frac 0.00)
  in_loop    0/400, empty 0/400  (lengths_ok False)
  swapped    0/400  (fixed_prominence max 0.96; tuned_prominence min 1.98)
  reversed   0/400  (fixed_prominence max 0.85; rank_corr_fixed max -0.39)
  test_tuned 800/800 = 100%: NOT detectable from the curves.  Validation targets are noiseless,
             so validation picks ~the test-optimal lambda (median val-tuned/test-tuned error
             ratio 1.00; every statistic lies inside the correct range).  Only runs that replay
             the reference stream expose it: for legacy seeds 0..49 the test-tuned curve differs
             from the validation-tuned one at >= 1 p in 50/50 seeds, and the judge's
             ``tuned_on_validation`` reports False (tested below on seed 0).

The slow test at the bottom regenerates 20 held-out seeds (1001..1020) and asserts these rates.
"""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from grader.curves import (
    PEAK_THRESHOLD,
    CurveVerdict,
    judge_double_descent,
    prominence,
    rankdata,
    spearman,
)
from reference.hw6.ddescent import N_TEST, DDResult, make_data, reference_curves, ridge_errors_fast


@pytest.fixture(scope="module")
def legacy_ref() -> DDResult:
    """The grader's reference: the starter's own random stream (seed 0)."""
    return reference_curves(0, legacy=True)


@pytest.fixture(scope="module")
def other_run() -> DDResult:
    """An independent student: own seed, RMSE, and a p grid (5, 25, ...) off the reference's."""
    return ridge_errors_fast(make_data(42), np.arange(5, 1501, 20), seed=42, metric="rmse")


def _metric(x: np.ndarray, metric: str) -> np.ndarray:
    """``x`` is MSE; convert like a student who reported another metric."""
    return {"mse": x, "sse": x * N_TEST, "rmse": np.sqrt(x), "norm": np.sqrt(x * N_TEST)}[metric]


# --- helpers -----------------------------------------------------------------------------------


def test_rankdata_averages_ties() -> None:
    np.testing.assert_array_equal(rankdata([10.0, 30.0, 20.0, 20.0]), [0.0, 3.0, 1.5, 1.5])


def test_spearman_basic_cases() -> None:
    x = np.arange(20.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -np.exp(x)) == pytest.approx(-1.0)
    y = x.copy()
    y[3] = np.nan
    assert spearman(x, y) == pytest.approx(1.0)  # nan pairs dropped
    assert math.isnan(spearman(x, np.ones(20)))  # constant: undefined
    assert math.isnan(spearman(x, x[:5]))  # length mismatch
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(500), rng.standard_normal(500)
    assert abs(spearman(a, b)) < 0.15


def test_spearman_matches_pearson_of_ranks_by_brute_force() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 5, 40).astype(float), rng.standard_normal(40)
    ra = np.array([np.mean([(a < v).sum(), (a <= v).sum() - 1]) for v in a])  # avg rank
    rb = np.argsort(np.argsort(b)).astype(float)
    assert spearman(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1])


def test_prominence_on_synthetic_curves() -> None:
    p = np.arange(1, 1501, 10).astype(float)
    bump = 1 + 9 * np.exp(-(((p - 300) / 40) ** 2))
    assert prominence(p, bump, 300)[0] == pytest.approx(10.0, rel=0.05)
    flat = np.ones_like(p)
    assert prominence(p, flat, 300)[0] == pytest.approx(1.0)
    decreasing = 1 / p
    assert prominence(p, decreasing, 300)[0] < 1  # monotone trend is not a peak
    spike = flat.copy()
    spike[np.searchsorted(p, 301)] = 100.0  # a single outlier is smoothed away
    assert prominence(p, spike, 300)[0] == pytest.approx(1.0)
    value, why = prominence(p[p < 600], bump[p < 600], 300)
    assert math.isnan(value) and "right" in why
    value, why = prominence(p, -bump, 300)
    assert math.isnan(value) and "negative" in why


# --- the judge on reference curves -----------------------------------------------------------


@pytest.mark.parametrize("metric", ["mse", "rmse", "norm", "sse"])
def test_reference_run_shows_the_phenomenon_in_every_metric(legacy_ref, metric: str) -> None:
    v = judge_double_descent(
        legacy_ref.num_params,
        _metric(legacy_ref.errors_fixed_lambda, metric),
        _metric(legacy_ref.errors_opt_lambda, metric),
        legacy_ref,
    )
    assert v.shows_phenomenon, v.messages()
    assert v.fixed_prominence >= PEAK_THRESHOLD > v.tuned_prominence
    assert v.rank_corr_fixed == pytest.approx(1.0) and v.rank_corr_opt == pytest.approx(1.0)
    assert v.replays_reference and v.tuned_on_validation is True


def test_independent_run_on_another_grid_is_accepted_but_is_no_replay(
    legacy_ref, other_run
) -> None:
    v = judge_double_descent(
        other_run.num_params, other_run.errors_fixed_lambda, other_run.errors_opt_lambda, legacy_ref
    )
    assert v.shows_phenomenon and v.rank_corr_fixed_ok and v.rank_corr_opt_ok, v.messages()
    assert not v.replays_reference and v.tuned_on_validation is None
    assert "grid" in v.replay_message


def test_test_set_tuning_is_caught_only_through_replay(legacy_ref) -> None:
    test_tuned = legacy_ref.test_errors.min(axis=1)
    v = judge_double_descent(
        legacy_ref.num_params, np.sqrt(legacy_ref.errors_fixed_lambda), np.sqrt(test_tuned),
        legacy_ref,
    )  # fmt: skip
    assert v.shows_phenomenon  # the curves alone look fine ...
    assert v.replays_reference and v.tuned_on_validation is False  # ... the replay does not
    assert "TEST" in v.replay_message


def test_replay_is_recognised_whatever_the_two_metrics(legacy_ref) -> None:
    """Reference in RMSE, student in MSE (power 2) and in norm (power 1, other scale)."""
    rmse_ref = replace(
        legacy_ref,
        errors_fixed_lambda=np.sqrt(legacy_ref.errors_fixed_lambda),
        errors_opt_lambda=np.sqrt(legacy_ref.errors_opt_lambda),
        test_errors=np.sqrt(legacy_ref.test_errors),
        metric="rmse",
    )
    for metric in ("mse", "norm"):
        v = judge_double_descent(
            legacy_ref.num_params,
            _metric(legacy_ref.errors_fixed_lambda, metric),
            _metric(legacy_ref.errors_opt_lambda, metric),
            rmse_ref,
        )
        assert v.replays_reference and v.tuned_on_validation is True, (metric, v.replay_message)
    noisy = legacy_ref.errors_fixed_lambda * (1 + 1e-4 * np.sin(np.arange(150)))
    v = judge_double_descent(legacy_ref.num_params, noisy, legacy_ref.errors_opt_lambda, rmse_ref)
    assert not v.replays_reference and v.tuned_on_validation is None


def test_untuned_curve_keeps_its_peak(legacy_ref) -> None:
    f = legacy_ref.errors_fixed_lambda
    v = judge_double_descent(legacy_ref.num_params, f, f.copy(), legacy_ref)
    assert v.fixed_has_peak and not v.tuned_has_no_peak
    assert not v.tuned_below_fixed_near_threshold and not v.shows_phenomenon
    assert "still has a peak" in v.tuned_peak_message


def test_num_params_none_means_reference_grid(legacy_ref) -> None:
    v = judge_double_descent(
        None, legacy_ref.errors_fixed_lambda, legacy_ref.errors_opt_lambda, legacy_ref
    )
    assert v.shows_phenomenon


def test_verdict_is_frozen(legacy_ref) -> None:
    v = judge_double_descent(
        legacy_ref.num_params, legacy_ref.errors_fixed_lambda, legacy_ref.errors_opt_lambda
    )
    assert isinstance(v, CurveVerdict)
    with pytest.raises(FrozenInstanceError):
        v.lengths_ok = False  # type: ignore[misc]
    assert math.isnan(v.rank_corr_fixed) and v.rank_corr_message == "no reference given"
    assert set(v.messages()) >= {"lengths_message", "fixed_peak_message", "replay_message"}


# --- malformed input: report, never crash ------------------------------------------------------


@pytest.mark.parametrize(
    ("fixed", "opt", "fragment"),
    [
        ([], [], "lengths differ"),
        (None, None, "missing"),
        ("abc", "def", "missing or not numeric"),
        ([[1.0, 2.0], [3.0]], [1.0], "missing or not numeric"),  # ragged
        ("same_len", "x12", "lambda loop"),  # opt appended inside the lambda loop
        ("short", "short", "only"),
    ],
)
def test_malformed_lists_are_reported(legacy_ref, fixed, opt, fragment: str) -> None:
    p, f = legacy_ref.num_params, legacy_ref.errors_fixed_lambda
    if isinstance(fixed, str) and fixed == "same_len":
        fixed, opt = f, np.repeat(legacy_ref.errors_opt_lambda, 12)
    elif isinstance(fixed, str) and fixed == "short":
        p, fixed, opt = p[:5], f[:5], f[:5]
    v = judge_double_descent(p, fixed, opt, legacy_ref)
    assert not v.lengths_ok and not v.shows_phenomenon
    assert fragment in v.lengths_message
    assert v.fixed_peak_message.startswith("not judged")


def test_nan_and_inf_values(legacy_ref) -> None:
    p, f, o = (
        legacy_ref.num_params,
        legacy_ref.errors_fixed_lambda.copy(),
        legacy_ref.errors_opt_lambda,
    )
    f[[5, 40, 100]] = [np.nan, np.inf, -np.inf]  # a few failed solves: still judged
    v = judge_double_descent(p, f, o, legacy_ref)
    assert v.lengths_ok and v.shows_phenomenon, v.messages()
    v = judge_double_descent(p, np.full(p.size, np.nan), o, legacy_ref)
    assert not v.lengths_ok and "finite" in v.lengths_message
    v = judge_double_descent(p, -f, o, legacy_ref)
    assert not v.fixed_has_peak and "negative" in v.fixed_peak_message


def test_grid_that_misses_the_threshold_cannot_show_a_peak(legacy_ref) -> None:
    p = legacy_ref.num_params
    keep = p < 200
    v = judge_double_descent(
        p[keep], legacy_ref.errors_fixed_lambda[keep], legacy_ref.errors_opt_lambda[keep]
    )
    assert v.lengths_ok and not v.fixed_has_peak and "grid" in v.fixed_peak_message


# --- calibration: regenerate on held-out seeds and assert the recorded rates ------------------


@pytest.mark.slow
def test_calibration_rates_on_held_out_seeds() -> None:
    """Re-measures CALIBRATION_FIGURES (docstring) on 2 held-out seeds (32 correct runs each).

    The 100-seed calibration itself is bench/calibrate_curves.py.
    """
    from bench.calibrate_curves import calibrate

    counts = calibrate(range(1001, 1003))["counts"]
    correct = [k for k in counts if k.startswith("correct:")]
    assert sum(counts[k]["n"] for k in correct) == 2 * 16
    sparse = [k for k in counts if k.startswith("sparse:")]
    assert sum(counts[k]["n"] for k in sparse) == 2 * 16
    for k in correct + sparse:  # false-reject rate 0 for every criterion
        for crit in (
            "lengths_ok",
            "fixed_has_peak",
            "tuned_has_no_peak",
            "tuned_below_fixed_near_threshold",
            "rank_corr_fixed_ok",
            "rank_corr_opt_ok",
        ):
            assert counts[k][crit] == counts[k]["n"], (k, crit)
    for wrong in ("not_tuned", "in_loop", "empty", "swapped", "reversed"):
        assert counts[f"wrong:{wrong}"]["shows_phenomenon"] == 0, wrong  # false-accept 0
    assert counts["wrong:in_loop"]["lengths_ok"] == 0
    assert counts["wrong:not_tuned"]["tuned_has_no_peak"] == 0
    # Known limitation, asserted so a change is noticed: test-set tuning passes on curves alone.
    for grid in ("starter", "statement"):
        c = counts[f"wrong:test_tuned/{grid}"]
        assert c["shows_phenomenon"] == c["n"]


# --- training_run (HW1 p1): does the loss go down? ------------------------------------------
def _decaying(n: int = 100) -> list[float]:
    return [2.5 * 0.97**i + 0.05 for i in range(n)]


@pytest.mark.parametrize(
    ("curve", "decreases"),
    [
        (_decaying(), True),
        (_decaying(40), True),
        ([0.5] * 100, False),  # flat: learned nothing
        ([2.5 * 1.05**i for i in range(100)], False),  # grows
        (_decaying()[:90] + [float("nan")] * 10, False),  # ends in NaN: diverged
        ([float("nan")] * 10 + [0.5] * 90, False),  # no finite start: nothing to compare with
        ([float("inf")] * 10 + [0.5] * 90, False),
        ([1.0] * 50 + [-1.0] * 50, False),  # a negative "loss"
        ([0.0] * 100, False),
        ([3.0], False),
    ],
)
def test_training_loss_decreases_only_for_a_finite_falling_curve(
    curve: list[float], decreases: bool
) -> None:
    from grader.curves import judge_training_loss

    assert judge_training_loss(curve).decreases is decreases
