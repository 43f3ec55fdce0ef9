"""Q1: teacher-student risk for Gaussian inputs, R(w) = E||w^T x - w_t^T x||^2 = ||w - w_t||^2."""

from __future__ import annotations

import numpy as np


def teacher_student_risk(w: np.ndarray, w_teacher: np.ndarray) -> float:
    """The closed form the student proves: x ~ N(0, I) makes E[x x^T] = I."""
    diff = np.asarray(w, dtype=float) - np.asarray(w_teacher, dtype=float)
    return float(diff @ diff)


def monte_carlo_risk(w: np.ndarray, w_teacher: np.ndarray, samples: int, seed: int) -> float:
    """The risk as its definition says, averaged over `samples` draws of x ~ N(0, I)."""
    w, w_teacher = np.asarray(w, dtype=float), np.asarray(w_teacher, dtype=float)
    x = np.random.default_rng(seed).standard_normal((samples, w.size))
    return float(np.mean((x @ w - x @ w_teacher) ** 2))
