"""Loss terms of this project's own (smp.losses provides Dice and Lovasz hinge, named in conf/loss/ directly).

Every term is built with `ignore_index` (a survey's unlabelled samples): target pixels of that value contribute
nothing, no loss and no gradient."""

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import LovaszLoss
from torch import nn

__all__ = ["BCE", "SymmetricLovasz"]


class BCE(nn.Module):
    """Binary cross-entropy on logits, averaged over the pixels whose target is not `ignore_index`."""

    def __init__(self, ignore_index: int | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.ignore_index is None:
            return F.binary_cross_entropy_with_logits(logits, target)
        valid = target != self.ignore_index
        if not valid.any():
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits[valid], target[valid])


class SymmetricLovasz(nn.Module):
    """Average of Lovasz hinge on the logits and on the negated logits against inverted targets (9th place)."""

    def __init__(self, ignore_index: int | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.lovasz = LovaszLoss(mode="binary", per_image=True, ignore_index=ignore_index)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        inverted = 1.0 - target
        if self.ignore_index is not None:
            inverted = inverted.masked_fill(target == self.ignore_index, self.ignore_index)
        return 0.5 * (self.lovasz(logits, target) + self.lovasz(-logits, inverted))
