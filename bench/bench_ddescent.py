"""Benchmark: fast (one eigendecomposition per p) vs naive (one solve per lambda) ridge curves.

Full starter grid: p = 1, 11, ..., 1491 (150 values) x 12 lambdas + the fixed lambda.  Both paths
use the same data and the same ``W`` draws; the table also reports the largest relative
difference of their outputs so a speed-up can never hide a wrong answer.

Run from the repository root:
``OPENBLAS_NUM_THREADS=1 python -m bench.bench_ddescent [--repeats 5]``.
BLAS threads matter a lot on a shared 2-core box (oversubscribed OpenBLAS threads spin), so the
header prints ``OPENBLAS_NUM_THREADS``; see bench/RESULTS.md for the recorded runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from reference.mfdnn.hw6.ddescent import (
    LAMBDA_GRID,
    P_GRID,
    DDResult,
    make_data,
    ridge_errors_fast,
    ridge_errors_naive,
)


def _time(fn: Callable[[], DDResult], repeats: int) -> tuple[list[float], list[float], DDResult]:
    """Wall and process-CPU seconds per run.

    CPU time is reported too because the 2-core box is shared: with one BLAS thread, CPU time is
    what the computation costs, wall time adds whatever the neighbours take.
    """
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert out is not None
    return walls, cpus, out


def _max_rel_diff(a: DDResult, b: DDResult) -> float:
    pairs = [
        (a.errors_fixed_lambda, b.errors_fixed_lambda),
        (a.errors_opt_lambda, b.errors_opt_lambda),
        (a.test_errors, b.test_errors),
        (a.val_errors, b.val_errors),
    ]
    return max(float(np.max(np.abs(x - y) / np.abs(y))) for x, y in pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description="fast vs naive ridge double-descent curves")
    ap.add_argument("--repeats", type=int, default=3, help="fast-path repetitions")
    ap.add_argument("--naive-repeats", type=int, default=1)
    args = ap.parse_args()

    data = make_data(0)
    ridge_errors_fast(data, P_GRID[:3])  # warm-up: imports, BLAS init
    load_before = os.getloadavg()[0]
    t_fast, c_fast, fast = _time(lambda: ridge_errors_fast(data), args.repeats)
    t_naive, c_naive, naive = _time(lambda: ridge_errors_naive(data), args.naive_repeats)
    same_choice = float(np.mean(fast.chosen_lambdas == naive.chosen_lambdas))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, numpy {np.__version__}")
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}")
    print(f"grid: {P_GRID.size} p values (1..{P_GRID[-1]}), {LAMBDA_GRID.size} lambdas + fixed")
    print(f"1-min load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    print("| method | runs | wall median s | wall min s | CPU median s |")
    print("|---|---|---|---|---|")
    rows = (
        ("naive (np.linalg.solve per lambda)", t_naive, c_naive),
        ("fast (eigh per p)", t_fast, c_fast),
    )
    for name, ts, cs in rows:
        med, lo, cpu = statistics.median(ts), min(ts), statistics.median(cs)
        print(f"| {name} | {len(ts)} | {med:.2f} | {lo:.2f} | {cpu:.2f} |")
    wall = statistics.median(t_naive) / statistics.median(t_fast)
    cpu = statistics.median(c_naive) / statistics.median(c_fast)
    print(f"\nspeed-up (median/median): wall {wall:.1f}x, CPU {cpu:.1f}x")
    print(f"max relative difference fast vs naive: {_max_rel_diff(fast, naive):.1e}")
    print(f"same lambda chosen at {same_choice:.0%} of p")


if __name__ == "__main__":
    main()
