"""Segmentation losses on logits, built from the `loss` config group (pieces from smp.losses).

With `ignore_index` (a survey's unlabelled samples), target pixels of that value contribute nothing to any term:
no loss and no gradient."""
import torch.nn.functional as F
from segmentation_models_pytorch.losses import DiceLoss, LovaszLoss
from torch import nn


class MaskedBCE(nn.Module):
    """Binary cross-entropy averaged over the pixels whose target is not `ignore_index`."""

    def __init__(self, ignore_index):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        valid = target != self.ignore_index
        if not valid.any():
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits[valid], target[valid])


class SymmetricLovasz(nn.Module):
    """Average of Lovasz hinge on the logits and on the negated logits against inverted targets (9th place)."""

    def __init__(self, ignore_index=None):
        super().__init__()
        self.ignore_index = ignore_index
        self.lovasz = LovaszLoss(mode="binary", per_image=True, ignore_index=ignore_index)

    def forward(self, logits, target):
        inverted = 1.0 - target
        if self.ignore_index is not None:
            inverted = inverted.masked_fill(target == self.ignore_index, self.ignore_index)
        return 0.5 * (self.lovasz(logits, target) + self.lovasz(-logits, inverted))


def make_term(name, ignore_index=None):
    if name == "bce":
        return nn.BCEWithLogitsLoss() if ignore_index is None else MaskedBCE(ignore_index)
    if name == "lovasz":
        return LovaszLoss(mode="binary", per_image=True, ignore_index=ignore_index)
    if name == "symmetric_lovasz":
        return SymmetricLovasz(ignore_index)
    if name == "dice":
        return DiceLoss(mode="binary", from_logits=True, ignore_index=ignore_index)
    raise ValueError(f"unknown loss term {name!r}: use bce, lovasz, symmetric_lovasz or dice")


class WeightedSum(nn.Module):
    """sum_i weight_i * term_i(logits, target), from a {name: weight} mapping."""

    def __init__(self, weights, ignore_index=None):
        super().__init__()
        self.weights = dict(weights)
        self.terms = nn.ModuleDict({name: make_term(name, ignore_index) for name in self.weights})

    def forward(self, logits, target):
        return sum(w * self.terms[name](logits, target) for name, w in self.weights.items())


class ScheduledLoss(nn.Module):
    """The seed's schedule: `first`, then `second` (None: `first` throughout) from epoch `switch_epoch`, or, given
    `switch_at`, once that share of the training budget is spent (src/callbacks/budget.py).

    The phase is a function of the epoch or of the budget spent alone, so a resumed run is on the right loss.
    """

    def __init__(self, first, second=None, switch_epoch=None, switch_at=None, ignore_index=None):
        super().__init__()
        self.first = WeightedSum(first, ignore_index)
        self.second = WeightedSum(second, ignore_index) if second else None
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
