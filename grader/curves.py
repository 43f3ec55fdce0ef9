"""Judge HW6 problem 5 curves by the PHENOMENON, not by the digits.

Students' curves differ from the reference in their ``W`` draws, their error metric (MSE, RMSE,
``np.linalg.norm``, SSE) and sometimes their lambda grid, so digit comparison is meaningless.  What
must hold for any correct submission is the shape:

* the fixed-lambda (0.01) test error has a pronounced peak near the interpolation threshold
  ``p ~ n_train`` (double descent);
* the validation-tuned curve has no such peak;
* near the threshold the tuned curve lies below the fixed one.

All accepted metrics are ``c * SSE ** a`` with ``a`` in {1, 1/2}.  Sign and rank statistics
(``tuned_below_fraction``, Spearman) are invariant to any such transform; the peak ``prominence``
is a ratio, so free of ``c`` but not of ``a`` (a ratio ``r`` in MSE is ``sqrt(r)`` in RMSE), and
its threshold was calibrated on both powers: it sits between the smallest fixed-curve peak of a
square-rooted metric and the largest tuned-curve bump of a squared one.

Thresholds are CALIBRATED, not guessed: ``bench/calibrate_curves.py`` judges hundreds of
reference runs (correct submissions over seeds, metrics and lambda grids) and simulated mistakes;
the measured false-reject / false-accept rates are recorded in ``tests/test_curves.py`` and
``bench/RESULTS.md`` and re-checked by a test on held-out seeds.

Tuning on the TEST set instead of validation is NOT detectable from the curves alone: the
validation targets are noiseless, so validation picks (nearly) the test-optimal lambda and the two
tuned curves coincide (median ratio 1.00 over p).  It is detectable exactly when the student's run
replays the reference's random stream (starter seed, ``W`` drawn with ``np.random`` right after the
data): then ``replays_reference`` is true and ``tuned_on_validation`` compares the student's tuned
curve with the reference's validation-tuned and test-tuned curves.

Pure numpy; no torch and no grader imports, so it can be used (and tested) standalone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# --- calibrated thresholds (see module docstring and tests/test_curves.py for the numbers) ------
#: ONE threshold on ``prominence`` (peak level / max(level left, level right)) splits "peak" from
#: "no peak": the fixed curve must reach it, the tuned curve must stay below it.  One threshold
#: (not two with a gap) because both criteria separate the same two populations, correct fixed
#: curves (min 1.76, sqrt metric, every 2nd p) and correct tuned curves (max 1.16, squared
#: metric, every 2nd p); 1.4 is about their geometric mean.  Not-tuned opt curves: min 1.98.
PEAK_THRESHOLD = 1.4
#: Share of window points where tuned < fixed.
BELOW_MIN_FRACTION = 0.8
#: Spearman correlation with the reference curves (different W draws, so only loosely similar).
#: Correct runs: fixed >= 0.56, tuned >= 0.42 (>= 0.30 on p grids of step 30); a reversed list
#: gives negative values.  Informational: not part of ``shows_phenomenon``.
RANK_CORR_FIXED_MIN = 0.4
RANK_CORR_OPT_MIN = 0.2
#: Relative tolerance for "this run replays the reference's random stream".
REPLAY_RTOL = 1e-6

MIN_POINTS = 10  # a curve shorter than this cannot show anything
MIN_FINITE_FRACTION = 0.9  # tolerate a few nan/inf (e.g. one failed solve), not a broken run
MIN_REGION_POINTS = 2  # np.arange(1, 1501, 50) still has 2 points left of the threshold
#: Smooth (median of 3) only on grids dense enough that the peak spans several points; on coarse
#: grids the peak is 1-2 points wide and smoothing would erase it (measured: calibrate_curves).
MIN_WINDOW_POINTS_TO_SMOOTH = 12

# Regions, as multiples of n_train: the peak window straddles the interpolation threshold; the
# reference levels are taken well away from it on both sides.
WINDOW = (2 / 3, 3 / 2)
LEFT = (1 / 6, 1 / 2)
RIGHT_FROM = 3.0


@dataclass(frozen=True)
class CurveVerdict:
    """Per-criterion booleans, the measured statistic behind each, and a message for each."""

    lengths_ok: bool
    lengths_message: str
    fixed_has_peak: bool
    fixed_prominence: float
    fixed_peak_message: str
    tuned_has_no_peak: bool
    tuned_prominence: float
    tuned_peak_message: str
    tuned_below_fixed_near_threshold: bool
    tuned_below_fraction: float
    tuned_below_message: str
    rank_corr_fixed: float
    rank_corr_opt: float
    rank_corr_fixed_ok: bool
    rank_corr_opt_ok: bool
    rank_corr_message: str
    replays_reference: bool
    tuned_on_validation: bool | None
    replay_message: str

    @property
    def shows_phenomenon(self) -> bool:
        """The gradeable claim of the problem: double descent with fixed lambda, gone when tuned."""
        return (
            self.lengths_ok
            and self.fixed_has_peak
            and self.tuned_has_no_peak
            and self.tuned_below_fixed_near_threshold
        )

    def messages(self) -> dict[str, str]:
        """Criterion name -> human-readable message (for the report)."""
        return {k: v for k, v in asdict(self).items() if k.endswith("message")}


# --- small pure helpers -------------------------------------------------------------------------


def _as_1d(values: Any) -> np.ndarray | None:
    """Coerce a student's list to a flat float array; ``None`` if it is not numeric at all."""
    if values is None:
        return None
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr.reshape(-1)


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), 0-based; numpy-only stand-in for scipy's."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size)
    ranks[order] = np.arange(x.size, dtype=float)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation on the pairs where both are finite; nan if undefined."""
    x, y = _as_1d(a), _as_1d(b)
    if x is None or y is None or x.size != y.size:
        return float("nan")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def _median3(y: np.ndarray) -> np.ndarray:
    """Running median of 3, so a single noisy point cannot make (or hide) a peak."""
    if y.size < 3:
        return y.copy()
    padded = np.concatenate([y[:1], y, y[-1:]])
    return np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)


def prominence(p: np.ndarray, err: np.ndarray, n_train: int) -> tuple[float, str]:
    """Peak level near ``n_train`` divided by the larger of the levels left and right of it.

    Peak level: max over p in [2/3, 3/2] * n_train of the curve (median-of-3 smoothed when the
    grid is dense enough, so one noisy point can neither make nor hide a peak).  Side
    levels: medians over p in [1/6, 1/2] * n_train and p >= 3 * n_train.  A ratio > 1 means the
    window stands above BOTH sides, i.e. a peak rather than a monotone trend.  Returns ``(nan,
    why)`` when the grid does not cover the regions or the values are unusable.
    """
    ok = np.isfinite(p) & np.isfinite(err)
    p, err = p[ok], err[ok]
    if np.any(err < 0):
        return float("nan"), "negative error values: not an error metric"
    order = np.argsort(p, kind="mergesort")
    p, err = p[order], err[order]
    win = (p >= WINDOW[0] * n_train) & (p <= WINDOW[1] * n_train)
    smooth = _median3(err) if win.sum() >= MIN_WINDOW_POINTS_TO_SMOOTH else err
    left = (p >= LEFT[0] * n_train) & (p <= LEFT[1] * n_train)
    right = p >= RIGHT_FROM * n_train
    for name, mask in (("near the threshold", win), ("left of it", left), ("right of it", right)):
        if mask.sum() < MIN_REGION_POINTS:
            return float("nan"), f"p grid has < {MIN_REGION_POINTS} points {name}"
    peak = float(smooth[win].max())
    side = float(max(np.median(err[left]), np.median(err[right])))
    if side <= 0:
        return (float("inf") if peak > 0 else float("nan")), "side levels are zero"
    return peak / side, ""


# --- the judge -------------------------------------------------------------------------------


def _check_lengths(
    p: np.ndarray | None, fixed: np.ndarray | None, opt: np.ndarray | None
) -> tuple[bool, str]:
    for name, arr in (
        ("num_params", p),
        ("errors_fixed_lambda", fixed),
        ("errors_opt_lambda", opt),
    ):
        if arr is None:
            return False, f"{name} is missing or not numeric"
    assert p is not None and fixed is not None and opt is not None  # narrowed above
    if not (p.size == fixed.size == opt.size):
        return False, (
            f"lengths differ: num_params {p.size}, errors_fixed_lambda {fixed.size}, "
            f"errors_opt_lambda {opt.size} (one entry per p expected; a list appended inside "
            f"the lambda loop is len(lambdas) times too long)"
        )
    if p.size < MIN_POINTS:
        return False, f"only {p.size} points (need >= {MIN_POINTS})"
    for name, arr in (("errors_fixed_lambda", fixed), ("errors_opt_lambda", opt)):
        frac = float(np.isfinite(arr).mean())
        if frac < MIN_FINITE_FRACTION:
            return False, f"{name}: only {frac:.0%} of values are finite"
    return True, f"{p.size} points, lengths consistent"


def _reference_on(p: np.ndarray, ref_p: np.ndarray, ref_y: np.ndarray) -> np.ndarray:
    """Reference curve at the student's p (linear interpolation, nan outside its range)."""
    ok = np.isfinite(ref_p) & np.isfinite(ref_y)
    ref_p, ref_y = ref_p[ok], ref_y[ok]
    order = np.argsort(ref_p)
    out = np.interp(p, ref_p[order], ref_y[order])
    out[(p < ref_p.min()) | (p > ref_p.max())] = np.nan
    return out


def _power_fit(student: np.ndarray, ref: np.ndarray) -> tuple[float, float] | None:
    """``(a, log c)`` with ``student == c * ref ** a`` to REPLAY_RTOL, else None.

    a in {1, 1/2, 2} covers every pair of accepted metrics (e.g. reference MSE, student norm).
    """
    ok = np.isfinite(student) & np.isfinite(ref) & (student > 0) & (ref > 0)
    if ok.sum() < MIN_POINTS or ok.mean() < MIN_FINITE_FRACTION:
        return None
    ls, lr = np.log(student[ok]), np.log(ref[ok])
    for a in (1.0, 0.5, 2.0):
        diff = ls - a * lr
        b = float(np.median(diff))
        if np.max(np.abs(diff - b)) < REPLAY_RTOL:
            return a, b
    return None


def _matches(student: np.ndarray, ref: np.ndarray, fit: tuple[float, float]) -> bool:
    a, b = fit
    with np.errstate(divide="ignore", invalid="ignore"):
        pred = np.exp(a * np.log(ref) + b)
    ok = np.isfinite(student) & np.isfinite(pred)
    return bool(ok.any() and np.allclose(student[ok], pred[ok], rtol=REPLAY_RTOL, atol=0))


def _replay_check(
    p: np.ndarray, fixed: np.ndarray, opt: np.ndarray, reference: Any
) -> tuple[bool, bool | None, str]:
    """Exact replay of the reference stream lets us tell validation- from test-set tuning."""
    ref_p = _as_1d(getattr(reference, "num_params", None))
    ref_f = _as_1d(getattr(reference, "errors_fixed_lambda", None))
    ref_o = _as_1d(getattr(reference, "errors_opt_lambda", None))
    if ref_p is None or ref_f is None or ref_o is None or not np.array_equal(ref_p, p):
        return False, None, "different p grid from the reference: no exact replay"
    fit = _power_fit(fixed, ref_f)
    if fit is None:
        return False, None, "fixed curve is not a replay of the reference (other W draws)"
    test_errors = getattr(reference, "test_errors", None)
    if test_errors is None:
        return True, None, "replays the reference, which has no per-lambda table"
    ref_test = np.min(np.asarray(test_errors, dtype=float), axis=1)
    on_val, on_test = _matches(opt, ref_o, fit), _matches(opt, ref_test, fit)
    if on_val and on_test:
        return True, None, "replays the reference; validation and test tuning coincide here"
    if on_val:
        return True, True, "replays the reference; tuned curve matches validation tuning"
    if on_test:
        return True, False, "replays the reference; tuned curve matches TEST-set tuning"
    return True, None, "replays the reference; tuned curve matches neither (other lambda grid?)"


def judge_double_descent(
    num_params: Sequence[float] | np.ndarray | None,
    errors_fixed: Sequence[float] | np.ndarray | None,
    errors_opt: Sequence[float] | np.ndarray | None,
    reference: Any = None,
    n_train: int = 300,
) -> CurveVerdict:
    """Judge a student's two curves; never raises on malformed input, reports it instead.

    ``reference`` is anything with ``num_params``, ``errors_fixed_lambda`` and
    ``errors_opt_lambda`` (e.g. ``reference.hw6.ddescent.DDResult``); with ``test_errors`` too the
    replay check can also tell test-set tuning.  ``num_params=None`` means the reference's grid.
    """
    p = _as_1d(num_params)
    if p is None and reference is not None:
        p = _as_1d(getattr(reference, "num_params", None))
    fixed, opt = _as_1d(errors_fixed), _as_1d(errors_opt)
    lengths_ok, lengths_msg = _check_lengths(p, fixed, opt)
    if not lengths_ok:
        why = "not judged: " + lengths_msg
        nan = float("nan")
        return CurveVerdict(
            False, lengths_msg, False, nan, why, False, nan, why, False, nan, why,
            nan, nan, False, False, why, False, None, why,
        )  # fmt: skip
    assert p is not None and fixed is not None and opt is not None  # lengths_ok narrows

    prom_f, why_f = prominence(p, fixed, n_train)
    has_peak = bool(prom_f >= PEAK_THRESHOLD)
    peak_msg = why_f or (
        f"fixed-lambda curve peaks at {prom_f:.2f}x its level away from p~{n_train} "
        f"({'>=' if has_peak else '<'} {PEAK_THRESHOLD}): "
        + ("double descent visible" if has_peak else "no pronounced peak")
    )
    prom_o, why_o = prominence(p, opt, n_train)
    no_peak = bool(prom_o < PEAK_THRESHOLD)  # nan compares False: not shown
    nopeak_msg = why_o or (
        f"tuned curve near p~{n_train} is {prom_o:.2f}x its level away from it "
        f"({'<' if no_peak else '>='} {PEAK_THRESHOLD}): "
        + ("peak gone" if no_peak else "still has a peak (was lambda really tuned per p?)")
    )

    win = (p >= WINDOW[0] * n_train) & (p <= WINDOW[1] * n_train)
    both = win & np.isfinite(fixed) & np.isfinite(opt)
    below_frac = float(np.mean(opt[both] < fixed[both])) if both.sum() else float("nan")
    below = bool(below_frac >= BELOW_MIN_FRACTION)
    below_msg = (
        f"tuned < fixed at {below_frac:.0%} of {int(both.sum())} points near p~{n_train} "
        f"(need >= {BELOW_MIN_FRACTION:.0%})"
    )

    rc_f = rc_o = float("nan")
    rc_msg = "no reference given"
    replay, on_val, replay_msg = False, None, "no reference given"
    if reference is not None:
        ref_p = _as_1d(getattr(reference, "num_params", None))
        ref_f = _as_1d(getattr(reference, "errors_fixed_lambda", None))
        ref_o = _as_1d(getattr(reference, "errors_opt_lambda", None))
        if ref_p is not None and ref_f is not None and ref_o is not None:
            rc_f = spearman(fixed, _reference_on(p, ref_p, ref_f))
            rc_o = spearman(opt, _reference_on(p, ref_p, ref_o))
            rc_msg = f"Spearman vs reference: fixed {rc_f:.2f}, tuned {rc_o:.2f}"
        replay, on_val, replay_msg = _replay_check(p, fixed, opt, reference)
    return CurveVerdict(
        lengths_ok=True,
        lengths_message=lengths_msg,
        fixed_has_peak=has_peak,
        fixed_prominence=float(prom_f),
        fixed_peak_message=peak_msg,
        tuned_has_no_peak=no_peak,
        tuned_prominence=float(prom_o),
        tuned_peak_message=nopeak_msg,
        tuned_below_fixed_near_threshold=below,
        tuned_below_fraction=below_frac,
        tuned_below_message=below_msg,
        rank_corr_fixed=rc_f,
        rank_corr_opt=rc_o,
        rank_corr_fixed_ok=bool(rc_f >= RANK_CORR_FIXED_MIN),
        rank_corr_opt_ok=bool(rc_o >= RANK_CORR_OPT_MIN),
        rank_corr_message=rc_msg,
        replays_reference=replay,
        tuned_on_validation=on_val,
        replay_message=replay_msg,
    )


# --- training runs (HW1 p1: `analysis: training_run`) -------------------------------------------
#: A training loss "decreases" when the median of its last tenth is at most this share of the
#: median of its first tenth. Calibrated by bench/calibrate_hw1_band.py on reference runs of the
#: HW1 starter (20 seeds; whole curves and curves plotted from epoch 10): correct runs reach
#: ratios up to 0.387 (the heavy tail of the starter's sigmoid MLP: some runs stay on a plateau
#: for hundreds of epochs), a run that stalls stays near 1 and one that diverges goes above it;
#: 0.7 is about halfway between 0.387 and 1.
DECREASE_MAX_RATIO = 0.7


@dataclass(frozen=True)
class TrainingLossVerdict:
    decreases: bool
    diverged: bool
    ratio: float
    message: str


def judge_training_loss(values: Sequence[float] | np.ndarray) -> TrainingLossVerdict:
    """Did the per-epoch training loss go down, and not blow up? Never raises on bad input."""
    curve = _as_1d(values)
    if curve is None or curve.size < 2:
        return TrainingLossVerdict(False, False, float("nan"), "fewer than 2 loss values")
    tenth = max(1, curve.size // 10)
    first, last = curve[:tenth], curve[-tenth:]
    if not np.all(np.isfinite(last)):
        return TrainingLossVerdict(
            False, True, float("nan"), f"the loss ends as {last[~np.isfinite(last)][0]}: diverged"
        )
    finite_first = first[np.isfinite(first)]
    if finite_first.size == 0:  # nothing to compare the end with: not evidence of learning
        return TrainingLossVerdict(
            False, True, float("nan"), f"the loss starts as {first[0]}: no finite starting value"
        )
    start = float(np.median(finite_first))
    end = float(np.median(last))
    if start <= 0 or end < 0:  # a loss below zero is not a loss this judge can read
        return TrainingLossVerdict(
            False,
            False,
            float("nan"),
            f"the loss goes from {start:.4g} to {end:.4g}: a mean squared error is positive",
        )
    ratio = end / start if start > 0 else float("nan")
    decreases = bool(ratio <= DECREASE_MAX_RATIO)
    diverged = bool(not decreases and (ratio > 1 or not np.isfinite(ratio)))
    what = (
        "decreases" if decreases else ("grows: training diverged" if diverged else "barely moves")
    )
    message = (
        f"the training loss {what} ({start:.4g} at the start, {end:.4g} at the end of "
        f"{curve.size} epochs; ratio {ratio:.2g}, a correct run needs <= {DECREASE_MAX_RATIO})"
    )
    return TrainingLossVerdict(decreases, diverged, float(ratio), message)


_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf)"


def last_printed_value(stdout: str, label: str) -> float | None:
    """The number after the last `label` in printed text ('Test Loss : tensor(0.12...)')."""
    pattern = re.compile(
        rf"{re.escape(label)}\s*(?:\([^)]{{0,10}}\))?\s*[:=]?\s*(?:tensor\(\s*)?{_NUMBER}", re.I
    )
    found = pattern.findall(stdout[-100_000:])
    return float(found[-1]) if found else None
