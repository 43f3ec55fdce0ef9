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
from collections.abc import Iterator, Sequence
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
    ``errors_opt_lambda`` (e.g. ``reference.mfdnn.hw6.ddescent.DDResult``); with ``test_errors``
    too the
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


# --- printed values (HW1 p1: the test loss a script prints) ------------------------------------
# Students print the test loss every way Python can: 'Test Loss: 0.1234', 'test_loss = 0.5',
# 'Test MSE 1.2e-02', 'Test Loss : tensor(0.12, grad_fn=<MseLossBackward0>)', 'tensor([0.12])',
# 'np.float32(0.5)' (numpy 2), '[0.5]', 'Test loss after 1000 epochs: 0.5', or the label on one
# line and the value on the next. A reader that misses one of them fails a correct student, so
# the reading is in three outcomes, never a guess: one value (all the numbers that belong to the
# label agree), a line about the test loss that cannot be read (nothing after the label, several
# different numbers, a percentage: a TA reads it), or nothing about the test loss at all.

#: Words naming a loss. A printed line that names a held-out set and one of these is about the test
#: loss even when no configured label matches it ('Test RMSE: 0.6', 'val loss 0.2'): a TA reads it
#: rather than the check failing for "nothing printed".
LOSS_WORDS = ("loss", "mse", "rmse", "mae", "error", "err", "cost", "risk")
#: Words naming the held-out set (the HW1 starter calls its test set `X_val`).
HELD_OUT_WORDS = ("test", "val", "validation", "eval", "evaluation", "holdout", "held")
#: The words of a label lie within this many characters of each other, with no digit and no field
#: separator between them ('Loss on the test set' matches 'test loss'; 'train loss 0.3, test
#: acc 0.9' does not).
MAX_LABEL_SPAN = 40
#: Suffixes a label word may carry ('testing loss', 'test losses', 'testset loss').
_SUFFIXES = ("ing", "es", "ed", "set", "s", "")
#: Words before an integer that make it a count rather than a value ('at epoch 1000').
_COPULAS = ("is", "was", "be", "equals", "of", "to")
#: A printed line longer than this is cut in what the report shows.
MAX_EXCERPT = 160
#: Brackets nested deeper than this are not read ('tensor([[0.1]])' is 3 deep).
MAX_NESTING = 16
#: A line naming the quantity more often than this is not read ('test loss 0.5 test loss 0.6' is).
MAX_LABELS_ON_A_LINE = 8

_NUMBER_RE = re.compile(
    r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)(?![A-Za-z])", re.I
)
_CALL_RE = re.compile(r"[A-Za-z_][\w.]*\(")
_KWARG_RE = re.compile(r"\s*[A-Za-z_]\w*\s*=(?!=)")
_INTEGER_RE = re.compile(r"[-+]?\d+")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_FIELD_END_RE = re.compile(r"""\s*['"]?[A-Za-z]""")
_NOT_WORDS_RE = re.compile(
    r"""[A-Za-z_][\w.]*\(|[A-Za-z_]\w*\s*=\s*(?:'[^']*'|"[^"]*"|<[^>]*>|[\w.]+)|<[^>]*>"""
)
_BLANK_TAIL_RE = re.compile(r"""[\s:=\-'"]*""")
_NO_NUMBER = "no number follows the label"


@dataclass(frozen=True)
class PrintedReading:
    """What a script printed about one quantity.

    ``value`` is set when exactly one value can be read; otherwise ``line`` (the last printed line
    about the quantity) and ``problem`` (why it cannot be read) are for a TA. ``line is None``
    means nothing about the quantity was printed at all: the only case a check may fail for.
    """

    value: float | None
    line: str | None
    problem: str = ""


@dataclass(frozen=True)
class _Number:
    value: float
    text: str
    percent: bool = False


def _excerpt(line: str) -> str:
    """The line as a report can show it: printable, one line, bounded."""
    text = "".join(c if c.isprintable() else " " for c in line).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 3] + "..."


def _records(stdout: str) -> list[str]:
    """Printed lines, a line whose brackets are still open joined with the indented lines that
    continue it (multi-line tensor and array reprs), at most 20 lines to a record."""
    records: list[str] = []
    pending: list[str] = []
    depth = 0
    for line in stdout.splitlines():
        if pending and not line[:1].isspace() and line[:1] not in "[]()":
            records.append(" ".join(pending))  # not a continuation: 'Training (lr 0.1' stays
            pending, depth = [], 0
        pending.append(line)
        depth = max(0, depth + sum(line.count(o) - line.count(c) for o, c in _OPENERS.items()))
        if depth == 0 or len(pending) >= 20:
            records.append(" ".join(pending))
            pending, depth = [], 0
    if pending:
        records.append(" ".join(pending))
    return records


def _word_spans(text: str, word: str, glue: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``word`` stands as a word of its own (any case; 'test_loss', 'TestLoss', 'testloss',
    'testing'), not inside another ('latest', 'glossy', 'RMSE' for 'mse'). ``glue`` are the
    label's other words, which may be written against this one."""
    # Lower-cased character by character, so indices stay those of ``text`` ('İ'.lower() is two).
    low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    spans = []
    for m in re.finditer(re.escape(word), low):
        s, e = m.start(), m.end()
        starts = (
            s == 0
            or not text[s - 1].isalpha()
            or (text[s - 1].islower() and text[s].isupper())
            or any(low.endswith(g, 0, s) for g in glue)
        )
        if not starts:
            continue
        for suffix in _SUFFIXES:
            k = e + len(suffix)
            if not low.startswith(suffix, e):
                continue
            if (
                k == len(text)
                or not text[k].isalpha()
                or (text[k - 1].islower() and text[k].isupper())
                or any(low.startswith(g, k) for g in glue)
            ):
                spans.append((s, k))
                break
    return spans


def _label_ends(line: str, words: Sequence[str]) -> list[int]:
    """Where each occurrence of the label (all its words, close together) ends in ``line``."""
    spans = {w: _word_spans(line, w, [x for x in words if x != w]) for w in words}
    if not words or any(not found for found in spans.values()):
        return []
    ends = set()
    for s0, e0 in spans[words[0]]:
        chosen = [(s0, e0)] + [min(spans[w], key=lambda sp: abs(sp[0] - s0)) for w in words[1:]]
        lo, hi = min(s for s, _ in chosen), max(e for _, e in chosen)
        between = line[lo:hi]
        if hi - lo <= MAX_LABEL_SPAN and not re.search(r"[\d,;|\t]", between):
            ends.add(hi)
    return sorted(ends)


def _closing(text: str, i: int) -> int:
    """Index of the bracket closing ``text[i]`` (the end of the text when it never closes)."""
    if text[i] == "<":
        j = text.find(">", i)
        return j if j >= 0 else len(text)
    depth = 0
    for j in range(i, len(text)):
        if text[j] in _OPENERS:
            depth += 1
        elif text[j] in _OPENERS.values():
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at the ``sep`` characters outside brackets."""
    parts, depth, start = [], 0, 0
    for j, c in enumerate(text):
        if c in _OPENERS:
            depth += 1
        elif c in _OPENERS.values():
            depth = max(0, depth - 1)
        elif c == sep and depth == 0:
            parts.append(text[start:j])
            start = j + 1
    parts.append(text[start:])
    return parts


def _has_words(text: str) -> bool:
    """Does ``text`` say something in words, besides calls, keyword arguments and numbers?
    ('epoch 1000' does; 'tensor(0.5, grad_fn=<MseLossBackward0>)' does not.)"""
    rest = _NUMBER_RE.sub("0", _NOT_WORDS_RE.sub("(", text))
    return re.search(r"[A-Za-z]", rest) is not None


def _numbers(text: str, top: bool, level: int = 0) -> list[_Number]:
    """The values written in ``text``: bare numbers, the positional arguments of a call
    ('tensor(0.5, grad_fn=...)', 'np.float32(0.5)'), the items of a list.

    At the top level (``top``), counts and qualifiers are not values: an integer next to a word
    ('after 1000 epochs', 'at epoch 1000'), a number with a unit ('12.3s') and a bracket that
    says something in words ('(epoch 1000)', '(N=102)'). Brackets nested deeper than
    ``MAX_NESTING`` are not read (printed text is the student's: it must not exhaust the stack).
    """
    found: list[_Number] = []
    if level > MAX_NESTING:
        return found
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        prev = text[i - 1] if i else " "
        word_start = (c.isalpha() or c == "_") and not (prev.isalnum() or prev in "_.")
        call = _CALL_RE.match(text, i) if word_start else None
        if call:
            close = _closing(text, call.end() - 1)
            for arg in _split_top(text[call.end() : close], ","):
                if not _KWARG_RE.match(arg):
                    found.extend(_numbers(arg, top=False, level=level + 1))
            i = close + 1
            continue
        if c in _OPENERS or (c == "<" and i + 1 < n and text[i + 1].isalpha()):
            close = _closing(text, i)
            inner = text[i + 1 : close]
            if c != "<" and not (top and _has_words(inner)):
                found.extend(_numbers(inner, top=False, level=level + 1))
            i = close + 1
            continue
        number = _NUMBER_RE.match(text, i) if not (prev.isalnum() or prev in "_.") else None
        if number is None:
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_.") and (c.isalnum() or c == "_"):
                j += 1  # a whole word (with its digits: 'DivBackward0', 'float32') at once
            i = j
            continue
        k = number.end()
        after = text[k] if k < n else " "
        i = k
        if after.isalpha():
            continue  # a unit: '12.3s', '5x'
        written = number.group()
        if top and _INTEGER_RE.fullmatch(written):
            before = re.search(
                r"([A-Za-z]+)\s*#?$", text[max(0, number.start() - 40) : number.start()]
            )
            if re.match(r"\s+[A-Za-z]", text[k:]) or (
                before is not None and before.group(1).lower() not in _COPULAS
            ):
                continue  # a count: 'after 1000 epochs', 'at epoch 1000'
        found.append(_Number(float(written), written, percent=after == "%"))
    return found


def _top_level(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of each character of ``text`` outside any brackets."""
    depth = 0
    for j, c in enumerate(text):
        if c in _OPENERS:
            depth += 1
        elif c in _OPENERS.values():
            depth = max(0, depth - 1)
        elif depth == 0:
            yield j, c


def _field(tail: str) -> str:
    """``tail`` up to the next field of the line (', Accuracy : 0.52', ' | train loss 0.3')."""
    for j, c in _top_level(tail):
        if c in ",;|\t" and _FIELD_END_RE.match(tail, j + 1):
            return tail[:j]
    return tail


def _separator(field: str) -> int | None:
    """The first ':' or '=' outside brackets (not '==', '<=', '>=', '!=')."""
    for j, c in _top_level(field):
        if c in ":=":
            pair = field[max(0, j - 1) : j + 2]
            if not any(op in pair for op in ("==", "<=", ">=", "!=")):
                return j
    return None


def _after_label(field: str, next_line: str | None) -> tuple[list[_Number], bool]:
    """The numbers that belong to a label: after its ':' or '=' (else between the label and the
    separator, else right after the label), or on the next line when the label ends its line
    ('Test loss:' then 'tensor(0.12)'); the flag says the next line was read."""
    sep = _separator(field)
    rest = field if sep is None else field[sep + 1 :]
    found = _numbers(rest, top=True)
    if not found and sep is not None:
        found = _numbers(field[:sep], top=True)
    blank = _BLANK_TAIL_RE.fullmatch(rest) is not None
    if not found and blank and next_line is not None and not _has_words(next_line):
        return _numbers(next_line, top=True), True
    return found, False


def _agree(a: _Number, b: _Number) -> bool:
    """Do two printed numbers say the same value, to the precision of the coarser?"""
    if np.isnan(a.value) or np.isnan(b.value):
        return bool(np.isnan(a.value) and np.isnan(b.value))
    if not (np.isfinite(a.value) and np.isfinite(b.value)):
        return a.value == b.value
    coarse = max(_quantum(a.text), _quantum(b.text))
    return abs(a.value - b.value) <= 0.5 * coarse + 1e-12 * max(abs(a.value), abs(b.value))


def _quantum(written: str) -> float:
    """The last digit's place value: 0.01 for '0.12', 0.001 for '1.2e-02', 1 for '3'."""
    mantissa, _, exponent = written.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _read_line(
    line: str, ends: Sequence[int], next_line: str | None
) -> tuple[_Number | None, str, str]:
    """The one value the label(s) on ``line`` give, or why there is none; and the text read."""
    if len(ends) > MAX_LABELS_ON_A_LINE:
        return None, f"it names the quantity {len(ends)} times", line
    found: list[_Number] = []
    for end in ends:
        numbers, continued = _after_label(_field(line[end:]), next_line)
        found.extend(numbers)
        if continued:
            line = f"{line} {next_line}"
    if not found and _NUMBER_RE.search(line, min(ends)):
        # A number was written but not read ('Test loss: 3 after training'): going back to an
        # earlier line would read another value than the one this line reports.
        why = "its numbers read as counts or units ('1000 epochs', '3.2s'), not as a value"
        return None, why, line
    if not found:
        return None, _NO_NUMBER, line
    if any(num.percent for num in found):
        return None, "it is a percentage", line
    distinct: list[_Number] = []
    for num in found:
        if not any(_agree(num, seen) for seen in distinct):
            distinct.append(num)
            if len(distinct) > 5:
                break
    if len(distinct) > 1:
        shown = ", ".join(num.text for num in distinct[:5])
        return None, f"it holds several different numbers ({shown})", line
    return min(found, key=lambda num: _quantum(num.text)), "", line


def read_printed_value(stdout: str, labels: Sequence[str]) -> PrintedReading:
    """The value a script printed last under any of ``labels`` ('test loss', 'test mse').

    The last printed line that names a label is read; lines that name it with no number at all
    ('Computing the test loss...', 'Test loss plotted') are passed over. When that line cannot be
    read (several different numbers, a percentage, only counts), or no line under a label has a
    number, or only a line about a held-out loss no label names was printed ('Test RMSE: 0.6'),
    the reading carries that line for a TA and no value: a line that names the quantity is never
    read as "nothing printed".
    """
    records = _records(stdout[-100_000:])
    label_words = [w for w in (label.lower().split() for label in labels) if w]
    unread: PrintedReading | None = None
    for index in range(len(records) - 1, -1, -1):
        line = records[index]
        ends = sorted({end for words in label_words for end in _label_ends(line, words)})
        if not ends:
            continue
        following = records[index + 1] if index + 1 < len(records) else None
        number, problem, read = _read_line(line, ends, following)
        if number is not None:
            return PrintedReading(number.value, _excerpt(read))
        if problem != _NO_NUMBER:
            return PrintedReading(None, _excerpt(read), problem)
        unread = unread or PrintedReading(None, _excerpt(read), problem)
    if unread is not None:
        return unread
    for line in reversed(records):
        if _mentions_held_out_loss(line):
            read = ", ".join(f"'{label}'" for label in labels) or "none"
            why = f"it names a held-out set and a loss, but under no label that is read ({read})"
            return PrintedReading(None, _excerpt(line), why)
    return PrintedReading(None, None)


def _mentions_held_out_loss(line: str) -> bool:
    """Does ``line`` name a held-out set and a loss anywhere ('epoch 9 | loss 0.3 | test 0.4')?
    Loose on purpose: it only decides between "for a TA" and "nothing printed"."""
    glue = (*HELD_OUT_WORDS, *LOSS_WORDS)
    return any(_word_spans(line, w, glue) for w in HELD_OUT_WORDS) and any(
        _word_spans(line, w, glue) for w in LOSS_WORDS
    )


def last_printed_value(stdout: str, label: str) -> float | None:
    """The value printed last under ``label`` (None when unreadable: see `read_printed_value`)."""
    return read_printed_value(stdout, [label]).value
