"""Loss terms of this project's own (smp.losses provides Dice and Lovasz hinge, named in conf/loss/ directly), and
the two terms of the 28th-place team's second phase as their code computes them (conf/loss/seed.yaml).

Every term is built with `ignore_index` (a survey's unlabelled samples): target pixels of that value contribute
nothing, no loss and no gradient."""

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.losses import LovaszLoss
from torch import nn

__all__ = ["BCE", "BCEWithLogitsOfProbabilities", "LovaszHingeELU", "SymmetricLovasz"]


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


def valid_pixels(logits, target, ignore_index) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets flattened, less the pixels whose target is `ignore_index`."""
    logits, target = logits.reshape(-1), target.reshape(-1)
    if ignore_index is None:
        return logits, target
    keep = target != ignore_index
    return logits[keep], target[keep]


class LovaszHingeELU(nn.Module):
    """The Lovasz hinge as the 28th-place team computed it: over every pixel of the batch at once (not per image)
    and with ELU, not ReLU, on the sorted hinge errors (Berman's reference uses ReLU; ELU(e) is e above 0 and
    exp(e) - 1 below, so correctly classified pixels still pull, slightly). `per_image=True` averages it over
    the images instead."""

    def __init__(self, per_image: bool = False, ignore_index: int | None = None) -> None:
        super().__init__()
        self.per_image, self.ignore_index = per_image, ignore_index

    def flat(self, logits, target) -> torch.Tensor:
        logits, target = valid_pixels(logits, target, self.ignore_index)
        if not len(target):
            return logits.sum() * 0.0
        errors = 1.0 - logits * (2.0 * target - 1.0)
        errors, order = torch.sort(errors, descending=True)
        truth = target[order]
        salt = truth.sum()
        intersection = salt - truth.cumsum(0)
        union = salt + (1.0 - truth).cumsum(0)
        jaccard = 1.0 - intersection / union  # 1 - IoU when the k most wrong pixels are called salt
        steps = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        return torch.dot(F.elu(errors), steps)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.per_image:
            return torch.stack([self.flat(x, y) for x, y in zip(logits, target)]).mean()
        return self.flat(logits, target)


class BCEWithLogitsOfProbabilities(nn.Module):
    """The 28th-place team's second-phase BCE term: `BCEWithLogitsLoss()(sigmoid(logits), target)`, probabilities
    fed to a loss that applies a sigmoid itself, so the term is a BCE of sigmoid(sigmoid(logits)). Kept as
    published (loss=seed); loss=seed_corrected uses a true BCE."""

    def __init__(self, ignore_index: int | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits, target = valid_pixels(logits, target, self.ignore_index)
        if not len(target):
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(torch.sigmoid(logits), target)
