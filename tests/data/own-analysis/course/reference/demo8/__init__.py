"""Reference of demo8: the line that gradient descent on the statement's data converges to."""

import numpy as np


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The statement's data: 200 points of y = 3x + 0.5 with noise, drawn as the starter does."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 200)
    y = 3 * x + 0.5 + 0.1 * rng.normal(size=200)
    return x, y


def least_squares(seed: int = 0) -> dict[str, float]:
    """The least-squares line (w, b), and the known mistake's: the best line through the origin
    (what a run that never updates the bias converges to)."""
    x, y = data(seed)
    w, b = np.linalg.lstsq(np.stack([x, np.ones_like(x)], axis=1), y, rcond=None)[0]
    return {"w": float(w), "b": float(b), "w_no_bias": float(x @ y / (x @ x))}
