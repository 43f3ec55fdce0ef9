"""Derive HW1 p1's test-loss band and check the loss-decrease threshold on reference runs.

Why: a student's test loss depends on their random draws, so it is judged against the spread of
correct runs, never against one number. Each seed is one correct "student": the starter
configuration (reference.mfdnn.hw3.training.train_starter) with its own data and initial weights.

The band is [0, high]: a lower test loss than any reference run is not a mistake. `high` lies
halfway between the worst correct run seen and the test loss of learning nothing (the best
constant prediction, Var f(x) for x ~ N(0, 1), estimated by Monte Carlo): a run above it is
closer to not having learned than to the worst correct run. The loss-decrease threshold
(grader.judges.curves.DECREASE_MAX_RATIO) must sit well above every correct run's ratio, on whole
curves
and on curves plotted from epoch 10 (as students do to skip the first huge losses).

Run from the repository root (about 3 s a seed on one core):
``OMP_NUM_THREADS=1 python -m bench.calibrate_hw1_band --seeds 20``.
Figures of the last run: bench/RESULTS.md ("HW1 p1 test-loss band").
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from grader.judges.curves import DECREASE_MAX_RATIO, judge_training_loss
from reference.mfdnn.hw3.training import constant_predictor_loss, train_starter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    losses, ratios = [], []
    for seed in range(args.seeds):
        run = train_starter(seed)
        whole = judge_training_loss(run.losses)
        from_10 = judge_training_loss(run.losses[10:])
        losses.append(run.test_loss)
        ratios += [whole.ratio, from_10.ratio]
        print(f"seed {seed:3d}: test loss {run.test_loss:.4f}, decrease ratio "
              f"{whole.ratio:.3g} (from epoch 10: {from_10.ratio:.3g})", flush=True)  # fmt: skip
    worst = max(losses)
    nothing = constant_predictor_loss()
    print(f"test loss over {args.seeds} seeds: min {min(losses):.4f}, median "
          f"{np.median(losses):.4f}, max {worst:.4f}")  # fmt: skip
    print(f"learning nothing (best constant): {nothing:.4f}")
    print(
        f"band: [{min(losses) / 10:.3g}, {(worst + nothing) / 2:.3f}] "
        "(a tenth of the best run; halfway between the worst run and nothing)"
    )
    print(f"largest decrease ratio {max(ratios):.3g} (threshold {DECREASE_MAX_RATIO})")


if __name__ == "__main__":
    main()
