"""The HW2 reference answers, verified rather than asserted: Monte Carlo for Q1's closed form,
the reconstructed Q2 network against the student's forward values and an independent hand
chain rule, and Q4's He scale against simulation."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from grader.ingest.exprs import parse_expression
from grader.rubric import ValuesCheck, load_rubric
from reference.dl.hw2 import (
    INITIAL,
    LEARNING_RATE,
    activation_variances,
    monte_carlo_risk,
    q2_values,
    q4_sigma,
    relu_second_moment,
    teacher_student_risk,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seed", [0, 1])
def test_q1_closed_form_matches_monte_carlo(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    w, w_t = rng.standard_normal(5), rng.standard_normal(5)
    exact = teacher_student_risk(w, w_t)
    estimate = monte_carlo_risk(w, w_t, samples=400_000, seed=seed)
    assert estimate == pytest.approx(exact, rel=0.02)


def test_q2_reconstruction_reproduces_the_students_forward_values() -> None:
    """Seed 004 wrote h1 = 0.986613, h2 = 0.995033, o1 = 0.889550, o2 = 0.800399 and
    MSE = 0.593244: the reconstructed weights give these to the 6 decimals written (truncated)."""
    values = q2_values()
    written = {"h1": "0.986613", "h2": "0.995033", "o1": "0.889550", "o2": "0.800399"}
    written["loss"] = "0.593244"
    for name, text in written.items():
        assert abs(values[name] - float(text)) < 1e-6, name


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_q2_autograd_matches_the_chain_rule_by_hand() -> None:
    """Independent of torch: the chain rule written out, with b1 and b2 summed over both units."""
    p = INITIAL
    x1, x2, x3 = 1.0, 4.0, 5.0
    h1 = _sigmoid(x1 * p["w1"] + x2 * p["w3"] + x3 * p["w5"] + p["b1"])
    h2 = _sigmoid(x1 * p["w2"] + x2 * p["w4"] + x3 * p["w6"] + p["b1"])
    o1 = _sigmoid(p["w7"] * h1 + p["w9"] * h2 + p["b2"])
    o2 = _sigmoid(p["w8"] * h1 + p["w10"] * h2 + p["b2"])
    d1, d2 = (o1 - 0.1) * o1 * (1 - o1), (o2 - 0.05) * o2 * (1 - o2)
    e1 = (d1 * p["w7"] + d2 * p["w8"]) * h1 * (1 - h1)
    e2 = (d1 * p["w9"] + d2 * p["w10"]) * h2 * (1 - h2)
    by_hand = {
        "dL_dw1": e1 * x1, "dL_dw3": e1 * x2, "dL_dw5": e1 * x3,
        "dL_dw2": e2 * x1, "dL_dw4": e2 * x2, "dL_dw6": e2 * x3,
        "dL_dw7": d1 * h1, "dL_dw9": d1 * h2, "dL_dw8": d2 * h1, "dL_dw10": d2 * h2,
        "dL_db1": e1 + e2, "dL_db2": d1 + d2,
    }  # fmt: skip
    values = q2_values()
    for name, value in by_hand.items():
        assert values[name] == pytest.approx(value, rel=1e-12), name
    for name in INITIAL:
        assert values[f"{name}_new"] == pytest.approx(
            INITIAL[name] - LEARNING_RATE * by_hand[f"dL_d{name}"], rel=1e-12
        )


def test_q2_rubric_carried_expressions_give_the_reference_updates() -> None:
    """The rubric's error-carried-forward expressions, fed the true gradients, give the true
    updated weights: their constants (initial weights, learning rate) are the reference's."""
    rubric = load_rubric(ROOT / "rubrics" / "dl" / "hw2.yaml")
    values = q2_values()
    checks = [c for c in rubric.problem("q2").checks if isinstance(c, ValuesCheck)]
    carried = [(n, q.carried) for c in checks for n, q in c.quantities.items() if q.carried]
    assert len(carried) == 12
    for name, text in carried:
        assert text is not None
        expression = parse_expression(text, list(values))
        inputs = {k: values[k] for k in expression.free_names}
        assert expression.evaluate(**inputs) == pytest.approx(values[name], abs=1e-15), name


def test_q2_every_graded_quantity_has_a_reference_value() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "dl" / "hw2.yaml")
    names = {
        n for c in rubric.problem("q2").checks if isinstance(c, ValuesCheck) for n in c.quantities
    }
    assert names <= set(q2_values())
    assert len(names) == 29


def test_q2_seed_values_differ_from_the_truth_where_a_ta_marks_them_wrong() -> None:
    """The hand verdicts in test_hw2.py rest on these: dL/db2 = 0.12 misses the path through
    o1 (it equals the o2 path alone), dL/dw9 = 0.074 is not 0.0772 at 3 decimals."""
    values = q2_values()
    d2 = values["o2"] - 0.05
    only_o2 = d2 * values["o2"] * (1 - values["o2"])
    assert round(only_o2, 2) == 0.12
    assert Decimal(values["dL_dw9"]).quantize(Decimal("0.001")) == Decimal("0.077")
    assert Decimal(values["dL_db2"]).quantize(Decimal("0.01")) == Decimal("0.20")


def test_q4_relu_second_moment_is_one_half() -> None:
    assert relu_second_moment(1_000_000, seed=0) == pytest.approx(0.5, abs=0.005)


def test_q4_he_scale_preserves_the_variance_through_30_relu_layers() -> None:
    for d in (16, 256, 1000):
        assert q4_sigma(d) == pytest.approx(math.sqrt(2) * math.sqrt(1 / d))
    he = activation_variances(depth=30, width=512, gain=math.sqrt(2), batch=256, seed=0)
    assert 0.3 < he[-1] < 3.0, he[-1]
    small = activation_variances(depth=30, width=512, gain=1.0, batch=256, seed=0)
    large = activation_variances(depth=30, width=512, gain=2.0, batch=256, seed=0)
    assert small[-1] < 1e-3 * he[-1]  # sigma sqrt(1/d): halves per layer, 2^-30
    assert large[-1] > 1e3 * he[-1]  # sigma 2 sqrt(1/d): doubles per layer
