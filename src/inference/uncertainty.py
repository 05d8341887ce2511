"""How unsure an ensemble is, from the disagreement of its views: each network (a fold, or a snapshot in
ensemble.mode=predictions) under each TTA view.

The one measure: mutual information between the prediction and the choice of view, in bits,
    MI = H(sum_v w_v p_v) - sum_v w_v H(p_v),    H(p) = -p log2 p - (1 - p) log2 (1 - p),
the entropy of the ensemble's probability less the mean entropy of its views (BALD's score for a binary label).
It is 0 where every view says the same, whatever it says, and at most 1 where confident views contradict each
other: it measures what more labels could teach the networks (a pixel where all views say 0.5 is noisy, not
disputed, and scores 0). Its range, [0, 1], does not depend on the number of views.
"""

import numpy as np

EPS = 1e-6


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of Bernoulli(p), elementwise (0 at p = 0 or 1)."""
    p = np.clip(p, EPS, 1 - EPS)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def mutual_information(views: np.ndarray, weights: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """MI in bits (N, H, W) of probability views (V, N, H, W) with weights (V,) that sum to 1; `mean`: their
    weighted mean when already computed (the backend's own, bit for bit what the probability output holds)."""
    weights = np.asarray(weights, np.float32).reshape(-1, *([1] * (views.ndim - 1)))
    if mean is None:
        mean = (weights * views).sum(0)
    return np.clip(binary_entropy(mean) - (weights * binary_entropy(views)).sum(0), 0.0, 1.0).astype(np.float32)
