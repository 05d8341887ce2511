"""Segmentation losses on logits, built from the `loss` config group (pieces from smp.losses)."""
import torch.nn.functional as F
from segmentation_models_pytorch.losses import DiceLoss, LovaszLoss
from torch import nn


class SymmetricLovasz(nn.Module):
    """Average of Lovasz hinge on the logits and on the negated logits against inverted targets (9th place)."""

    def __init__(self):
        super().__init__()
        self.lovasz = LovaszLoss(mode="binary", per_image=True)

    def forward(self, logits, target):
        return 0.5 * (self.lovasz(logits, target) + self.lovasz(-logits, 1.0 - target))


def make_term(name):
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name == "lovasz":
        return LovaszLoss(mode="binary", per_image=True)
    if name == "symmetric_lovasz":
        return SymmetricLovasz()
    if name == "dice":
        return DiceLoss(mode="binary", from_logits=True)
    raise ValueError(f"unknown loss term {name!r}: use bce, lovasz, symmetric_lovasz or dice")


class WeightedSum(nn.Module):
    """sum_i weight_i * term_i(logits, target), from a {name: weight} mapping."""

    def __init__(self, weights):
        super().__init__()
        self.weights = dict(weights)
        self.terms = nn.ModuleDict({name: make_term(name) for name in self.weights})

    def forward(self, logits, target):
        return sum(w * self.terms[name](logits, target) for name, w in self.weights.items())


class ScheduledLoss(nn.Module):
    """The seed's schedule: `first`, then `second` (None: `first` throughout) from epoch `switch_epoch`, or, given
    `switch_at`, once that share of the training budget is spent (src/callbacks/budget.py).

    The phase is a function of the epoch or of the budget spent alone, so a resumed run is on the right loss.
    """

    def __init__(self, first, second=None, switch_epoch=None, switch_at=None):
        super().__init__()
        self.first = WeightedSum(first)
        self.second = WeightedSum(second) if second else None
        self.switch_epoch, self.switch_at = switch_epoch, switch_at

    def phase(self, epoch, budget_spent=None):
        if self.second is None:
            return 0
        if self.switch_at is not None and budget_spent is not None:
            return int(budget_spent >= self.switch_at)
        return int(self.switch_epoch is not None and epoch >= self.switch_epoch)

    def forward(self, logits, target, phase):
        return (self.second if phase else self.first)(logits, target)


def deep_supervision_loss(aux_logits, cls_logit, target, aux_weight, cls_weight):
    """BCE of each per-scale logit map on the images that hold salt, plus BCE of the empty/non-empty logit."""
    has_salt = target.flatten(1).amax(1)
    loss = cls_weight * F.binary_cross_entropy_with_logits(cls_logit.squeeze(1), has_salt)
    salty = has_salt > 0
    if salty.any():
        loss = loss + aux_weight * sum(F.binary_cross_entropy_with_logits(a[salty], target[salty])
                                       for a in aux_logits) / len(aux_logits)
    return loss
