"""The TGS competition metric: mean over images of precision averaged over IoU thresholds 0.50..0.95.

Each tile holds at most one object (the whole salt mask), so per image the precision at threshold t is
1 when IoU(pred, truth) > t and 0 otherwise; an empty truth scores 1 only for an empty prediction.
"""
import numpy as np
import torch
from torchmetrics import Metric

IOU_THRESHOLDS = np.round(0.5 + 0.05 * np.arange(10), 2)  # exactly 0.50, 0.55, ..., 0.95


def iou_per_image(pred, truth):
    """IoU of boolean masks (N, H, W) -> (N,); images where both are empty get IoU 1."""
    pred = np.asarray(pred, dtype=bool).reshape(len(pred), -1)
    truth = np.asarray(truth, dtype=bool).reshape(len(truth), -1)
    inter = np.count_nonzero(pred & truth, axis=1)
    union = np.count_nonzero(pred | truth, axis=1)
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def score_from_iou(iou):
    """Per-image precision averaged over the IoU thresholds, (N,) -> (N,)."""
    iou = np.asarray(iou, dtype=np.float64)
    return (iou[:, None] > IOU_THRESHOLDS[None, :]).mean(axis=1)


def image_scores(pred, truth):
    """Per-image competition score for boolean masks (N, H, W)."""
    return score_from_iou(iou_per_image(pred, truth))


def kaggle_map(pred, truth):
    """Competition score of boolean masks (N, H, W): mean of the per-image scores."""
    return float(image_scores(pred, truth).mean())


class KaggleMAP(Metric):
    """torchmetrics wrapper: update with probabilities or logits-turned-probabilities (N, 1|-, H, W)."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, threshold=0.5):
        super().__init__()
        self.threshold = threshold
        self.add_state("score_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, probs, target):
        pred = (probs > self.threshold).reshape(len(probs), -1)
        truth = (target > 0.5).reshape(len(target), -1)
        inter = (pred & truth).sum(1)
        union = (pred | truth).sum(1)
        iou = torch.where(union == 0, 1.0, inter / union.clamp(min=1)).double()
        thresholds = torch.as_tensor(IOU_THRESHOLDS, device=iou.device)
        self.score_sum += (iou[:, None] > thresholds[None, :]).double().mean(1).sum()
        self.count += len(iou)

    def compute(self):
        return (self.score_sum / self.count.clamp(min=1)).float()
