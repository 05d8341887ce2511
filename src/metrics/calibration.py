"""How far probabilities are from frequencies, and the one-number fix: temperature scaling.

ECE (expected calibration error): pixels are put in `bins` equal bins of probability; it is the mean over pixels
of |share of salt in the bin - mean probability in the bin| (torchmetrics' binary calibration error, l1).
Temperature scaling divides every logit by one T > 0 fitted by likelihood: T > 1 softens over-confident
probabilities, and no probability crosses 0.5, so a mask at threshold 0.5 is unchanged.
"""

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torchmetrics.functional.classification import binary_auroc, binary_calibration_error

BINS = 15
EPS = 1e-6
TEMPERATURE_RANGE = (0.05, 20.0)


def expected_calibration_error(probs: np.ndarray, truth: np.ndarray, bins: int = BINS) -> float:
    """ECE of probabilities against boolean truth (any shapes, flattened alike)."""
    preds = torch.from_numpy(np.ascontiguousarray(probs, np.float32).ravel())
    target = torch.from_numpy(np.ascontiguousarray(truth).ravel().astype(np.int64))
    return float(binary_calibration_error(preds, target, n_bins=bins, norm="l1"))


def reliability(probs: np.ndarray, truth: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin of probability: (mean probability, share of salt, pixel count); empty bins give NaN shares.
    The reliability diagram plots the share against the mean probability; ECE is their count-weighted gap."""
    p = np.asarray(probs, np.float32).ravel()
    t = np.asarray(truth, bool).ravel()
    # [k/bins, (k+1)/bins) with the float32 edges torchmetrics uses, so a probability on an edge falls in the same
    # bin; p = 1 joins the last bin (torchmetrics gives it one of its own)
    edges = np.linspace(0, 1, bins + 1, dtype=np.float32)
    index = np.minimum(np.searchsorted(edges, p, side="right") - 1, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        confidence = np.bincount(index, weights=p.astype(np.float64), minlength=bins) / counts
        frequency = np.bincount(index, weights=t, minlength=bins) / counts
    return confidence, frequency, counts


def uncertainty_auroc(uncertainty: np.ndarray, wrong: np.ndarray) -> float:
    """Area under the ROC curve of the uncertainty as a detector of wrong pixels: the chance that a random wrong
    pixel is more uncertain than a random right one (ties count half); 0.5 is no better than chance."""
    if wrong.all() or not wrong.any():
        raise ValueError("the AUROC needs both wrong and right pixels")
    scores = torch.from_numpy(np.ascontiguousarray(uncertainty, np.float32).ravel())
    return float(binary_auroc(scores, torch.from_numpy(np.ascontiguousarray(wrong).ravel().astype(np.int64))))


def logit(probs: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probs, np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """sigmoid(logit(p) / T), float32; T = 1 gives p back unchanged."""
    if temperature == 1.0:
        return np.asarray(probs, np.float32)
    return (1.0 / (1.0 + np.exp(-logit(probs) / temperature))).astype(np.float32)


def fit_temperature(probs: np.ndarray, truth: np.ndarray) -> float:
    """The T in TEMPERATURE_RANGE that minimises the binary cross-entropy of sigmoid(logit(p) / T) on truth."""
    z = logit(probs).ravel()
    y = np.asarray(truth, bool).ravel()
    signed = np.where(y, -z, z)  # BCE = log(1 + exp(signed / T))

    def nll(log_t) -> float:
        return float(np.logaddexp(0.0, signed / np.exp(log_t)).mean())

    low, high = np.log(TEMPERATURE_RANGE)
    return float(np.exp(minimize_scalar(nll, bounds=(low, high), method="bounded").x))
