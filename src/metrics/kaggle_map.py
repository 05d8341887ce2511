"""The TGS competition metric: mean over images of precision averaged over IoU thresholds 0.50..0.95.

Each tile holds at most one object (the whole salt mask), so per image the precision at threshold t is
1 when IoU(pred, truth) > t and 0 otherwise; an empty truth scores 1 only for an empty prediction.

IoU = intersection / union is compared with t = k / 100 in integers (100 * intersection > k * union), never
as a float division: IoUs such as 4/5 or 11/20 sit exactly on a threshold, and float32 rounding would count
them as above it. The numpy and torch paths share this one rule.
"""

import numpy as np
import torch
from torchmetrics import Metric

THRESHOLD_PERCENTS = np.arange(50, 100, 5)  # IoU thresholds 0.50, 0.55, ..., 0.95 as whole percents


def overlap_counts(pred, truth, valid=None) -> tuple[np.ndarray, np.ndarray]:
    """(intersection, union) pixel counts of boolean masks (N, H, W) -> two int64 arrays (N,), over the `valid`
    pixels only when given (a survey's interpreted samples)."""
    pred = np.asarray(pred, dtype=bool).reshape(len(pred), -1)
    truth = np.asarray(truth, dtype=bool).reshape(len(truth), -1)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool).reshape(len(valid), -1)
        pred, truth = pred & valid, truth & valid
    return np.count_nonzero(pred & truth, axis=1), np.count_nonzero(pred | truth, axis=1)


def scores_from_counts(inter, union) -> np.ndarray:
    """Per-image precision averaged over the thresholds from integer counts (numpy or torch, (N,) -> (N,));
    an image whose prediction and truth are both empty (union 0) scores 1."""
    if torch.is_tensor(inter):
        percents = torch.as_tensor(THRESHOLD_PERCENTS, device=inter.device)
        hits = (100 * inter.long())[:, None] > percents[None, :] * union.long()[:, None]
        return torch.where(union == 0, 1.0, hits.double().mean(1))
    inter, union = np.asarray(inter, dtype=np.int64), np.asarray(union, dtype=np.int64)
    hits = (100 * inter)[:, None] > THRESHOLD_PERCENTS[None, :] * union[:, None]
    return np.where(union == 0, 1.0, hits.mean(axis=1))


def image_scores(pred, truth, valid=None) -> np.ndarray:
    """Per-image competition score for boolean masks (N, H, W), on the `valid` pixels when given."""
    return scores_from_counts(*overlap_counts(pred, truth, valid))


def kaggle_map(pred, truth, valid=None) -> float:
    """Competition score of boolean masks (N, H, W): mean of the per-image scores; with `valid`, images without a
    valid pixel do not count."""
    scores = image_scores(pred, truth, valid)
    if valid is not None:
        scores = scores[np.asarray(valid, dtype=bool).reshape(len(valid), -1).any(axis=1)]
    return float(scores.mean()) if len(scores) else float("nan")


class KaggleMAP(Metric):
    """torchmetrics wrapper: update with probabilities (N, 1|-, H, W) and targets; the same integer rule. Target
    pixels equal to `ignore_value` are left out, and images with none left do not count."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, threshold=0.5, ignore_value=None) -> None:
        super().__init__()
        self.threshold, self.ignore_value = threshold, ignore_value
        self.add_state("score_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, probs, target) -> None:
        pred = (probs > self.threshold).reshape(len(probs), -1)
        target = target.reshape(len(target), -1)
        truth = target > 0.5
        if self.ignore_value is not None:
            valid = target != self.ignore_value
            keep = valid.any(1)
            pred, truth = (pred & valid)[keep], (truth & valid)[keep]
        scores = scores_from_counts((pred & truth).sum(1), (pred | truth).sum(1))
        self.score_sum += scores.sum()
        self.count += len(scores)

    def compute(self) -> torch.Tensor:
        return (self.score_sum / self.count.clamp(min=1)).float()
