"""HW1 problem 1: the range of test losses a correct run of the starter reaches.

Derived by bench/calibrate_hw1_band.py (figures in bench/RESULTS.md) from reference runs of the
starter configuration (reference.mfdnn.hw3.training), one per seed (own data and initial weights):
the band is [best / 10, high] with `high` halfway between the worst correct run and the test loss of
learning nothing (the best constant prediction). tests/references/test_reference_hw1.py
re-derives the constant-prediction loss and (slow) re-runs seeds held out of the calibration
against the band.
"""

from __future__ import annotations

from dataclasses import dataclass

CALIBRATION_SEEDS = 20
#: Largest test loss of the starter over seeds 0..19 (seed 14; seed 0, the starter as handed out,
#: gives 1.2829; median 0.173, min 0.0217): bench/calibrate_hw1_band.py, bench/RESULTS.md.
WORST_REFERENCE_RUN = 1.5695
#: Smallest test loss over the same seeds (seed 17). A value ten times below it is not a better
#: fit but a mis-computed loss (seed 001's script, re-indented, printed 0.0004: the sum divided
#: by N inside the loop).
BEST_REFERENCE_RUN = 0.0217
#: Var f(x) for x ~ N(0, 1): the test loss of the best constant (tests: closed form).
LEARNING_NOTHING = 2.5016


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    derivation: str


TEST_LOSS_BAND = Band(
    low=BEST_REFERENCE_RUN / 10,
    high=(WORST_REFERENCE_RUN + LEARNING_NOTHING) / 2,
    derivation=(
        f"band: correct runs of the starter over {CALIBRATION_SEEDS} seeds reach test losses "
        f"{BEST_REFERENCE_RUN:.3g} to {WORST_REFERENCE_RUN:.3g}; learning nothing gives "
        f"{LEARNING_NOTHING:.3g}; the band spans a tenth of the best to halfway between the "
        "worst and nothing"
    ),
)


def test_loss_band() -> Band:
    """The band the rubric's `test_loss` aspect judges against (any run-to-run value in it)."""
    return TEST_LOSS_BAND
