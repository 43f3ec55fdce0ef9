"""Calibrate ``grader.judges.curves`` thresholds on reference runs and simulated mistakes.

Why: a threshold that was never measured against correct and wrong submissions is a guess.  Each
seed gives one independent "student" (own data and ``W`` draws, via
``reference.mfdnn.hw6.ddescent``);
from that single run we derive, at no extra fitting cost:

correct submissions
    every metric (mse, rmse, norm, sse), the starter's lambda grid ``2**(-6..5)`` and the
    statement's ``logspace(-2, 2, 9)``, the full p grid and every 2nd p;
sparse (correct, but on p grids coarser than any student was seen to use; reported separately)
    every 3rd and every 5th p (p step 30 / 50);
wrong submissions
    ``test_tuned``   lambda picked on the TEST set (row-wise min of the test-error table);
    ``not_tuned``    opt curve == fixed curve;
    ``in_loop``      the opt list appended inside the lambda loop (12x too long);
    ``empty``        both lists empty;
    ``swapped``      fixed and opt curves exchanged;
    ``reversed``     both lists in reverse p order.

Run from the repository root:
``OPENBLAS_NUM_THREADS=1 python -m bench.calibrate_curves --seeds 100``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from grader.judges.curves import CurveVerdict, judge_double_descent
from reference.mfdnn.hw6.ddescent import (
    LAMBDA_GRID,
    METRICS,
    N_TEST,
    P_GRID,
    DDResult,
    Metric,
    make_data,
    reference_curves,
    ridge_errors_fast,
)

STATEMENT_GRID = np.logspace(-2, 2, 9)
CRITERIA = (
    "lengths_ok",
    "fixed_has_peak",
    "tuned_has_no_peak",
    "tuned_below_fixed_near_threshold",
    "rank_corr_fixed_ok",
    "rank_corr_opt_ok",
    "shows_phenomenon",
)


@dataclass(frozen=True)
class Submission:
    kind: str  # "correct", "sparse" (correct on a coarse p grid) or "wrong"
    label: str  # e.g. "correct" / "test_tuned"
    metric: str
    num_params: np.ndarray
    fixed: np.ndarray | list[float]
    opt: np.ndarray | list[float]


def _to_metric(sse: np.ndarray, metric: Metric) -> np.ndarray:
    return {
        "sse": sse,
        "mse": sse / N_TEST,
        "rmse": np.sqrt(sse / N_TEST),
        "norm": np.sqrt(sse),
    }[metric]


def _in_loop_opt(val: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Student 000's slip: select-so-far and append inside the lambda loop (len(P) * len(L))."""
    out = []
    for i in range(val.shape[0]):
        for j in range(val.shape[1]):
            out.append(test[i, int(np.argmin(val[i, : j + 1]))])
    return np.asarray(out)


def simulate(seed: int) -> Iterator[Submission]:
    """All correct variants and mistakes for one independent seed (one fit on a union grid)."""
    lams = np.concatenate([LAMBDA_GRID, STATEMENT_GRID])
    run = ridge_errors_fast(make_data(seed), P_GRID, lams, seed=seed, metric="sse")
    k = LAMBDA_GRID.size
    grids = {"starter": slice(0, k), "statement": slice(k, None)}
    p, fixed_sse = run.num_params, run.errors_fixed_lambda
    rows = np.arange(p.size)
    for metric in METRICS:
        fixed = _to_metric(fixed_sse, metric)
        for gname, cols in grids.items():
            val, test = run.val_errors[:, cols], run.test_errors[:, cols]
            opt = _to_metric(test[rows, np.argmin(val, axis=1)], metric)
            yield Submission("correct", f"correct/{gname}", metric, p, fixed, opt)
            for step in (2, 3, 5):
                kind = "correct" if step == 2 else "sparse"
                sl = slice(0, None, step)
                label = f"{kind}/{gname}/every{step}"
                yield Submission(kind, label, metric, p[sl], fixed[sl], opt[sl])
            test_opt = _to_metric(test.min(axis=1), metric)
            yield Submission("wrong", f"test_tuned/{gname}", metric, p, fixed, test_opt)
        val, test = run.val_errors[:, :k], run.test_errors[:, :k]
        opt = _to_metric(test[rows, np.argmin(val, axis=1)], metric)
        yield Submission("wrong", "not_tuned", metric, p, fixed, fixed.copy())
        in_loop = _to_metric(_in_loop_opt(val, test), metric)
        yield Submission("wrong", "in_loop", metric, p, fixed, in_loop)
        yield Submission("wrong", "empty", metric, p, [], [])
        yield Submission("wrong", "swapped", metric, p, opt, fixed)
        yield Submission("wrong", "reversed", metric, p, fixed[::-1], opt[::-1])


def _passes(v: CurveVerdict, criterion: str) -> bool:
    return bool(getattr(v, criterion))


def calibrate(seeds: range | list[int], reference: DDResult | None = None) -> dict:
    """Judge every simulated submission; return pass counts and statistic samples per label."""
    if reference is None:
        reference = reference_curves(0, legacy=True)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for seed in seeds:
        for sub in simulate(seed):
            v = judge_double_descent(sub.num_params, sub.fixed, sub.opt, reference)
            key = f"{sub.kind}:{sub.label}"
            counts[key]["n"] += 1
            for c in CRITERIA:
                counts[key][c] += _passes(v, c)
            power = "sq" if sub.metric in ("mse", "sse") else "sqrt"
            for name in ("fixed_prominence", "tuned_prominence", "tuned_below_fraction"):
                stats[f"{key}:{power}"][name].append(getattr(v, name))
            for name in ("rank_corr_fixed", "rank_corr_opt"):
                stats[f"{key}:{power}"][name].append(getattr(v, name))
    return {"counts": counts, "stats": stats}


def tuning_source_detectability(seeds: range | list[int]) -> dict[str, float]:
    """How often could a REPLAYING student's test-set tuning be told from validation tuning?

    For legacy seed s the student's run equals ``reference_curves(s, legacy=True)``; test tuning
    is exposed iff the test-tuned curve differs from the validation-tuned one at some p.  Also
    the median ratio (val-tuned / test-tuned error) shows why it is invisible without replay.
    """
    exposed, ratios = 0, []
    for s in seeds:
        ref = reference_curves(s, legacy=True)
        test_opt = ref.test_errors.min(axis=1)
        exposed += bool(np.any(~np.isclose(ref.errors_opt_lambda, test_opt, rtol=1e-6)))
        ratios.append(float(np.median(ref.errors_opt_lambda / test_opt)))
    return {"exposed_fraction": exposed / len(seeds), "median_ratio": float(np.median(ratios))}


def format_report(result: dict) -> str:
    """Markdown: pass rate of every criterion per submission label (correct should be 100%)."""
    counts = result["counts"]
    head = "| submission | n | " + " | ".join(CRITERIA) + " |"
    lines = [head, "|" + "---|" * (len(CRITERIA) + 2)]
    for key in sorted(counts):
        c = counts[key]
        cells = [f"{c[k] / c['n']:.1%}" for k in CRITERIA]
        lines.append(f"| {key} | {c['n']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| correct runs, metric power | statistic | min | 1% | 50% | 99% | max |")
    lines.append("|---|---|---|---|---|---|---|")
    for key in sorted(result["stats"]):
        if key.startswith(("wrong:empty", "wrong:in_loop")):
            continue  # not judged: every statistic is nan
        for name, vals in result["stats"][key].items():
            q = np.nanpercentile(np.asarray(vals, dtype=float), [0, 1, 50, 99, 100])
            lines.append(f"| {key} | {name} | " + " | ".join(f"{x:.3g}" for x in q) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--start", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = calibrate(range(args.start, args.start + args.seeds))
    print(format_report(result))
    det = tuning_source_detectability(range(args.seeds // 2))
    print(f"\nreplay detectability of test-set tuning (legacy seeds): {det}")
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
