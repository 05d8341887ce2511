"""The training loss from the `loss` config group: phases of weighted terms, each term a class named by
`_target_` (conf/loss/*.yaml), and the seed's switch from the first phase to the second."""

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn

from src.utils.errors import UserError

__all__ = ["ScheduledLoss", "WeightedSum", "deep_supervision_loss"]


class WeightedSum(nn.Module):
    """sum_i weight_i * term_i(logits, target) over {name: {_target_: a loss class, weight: w, **its arguments}};
    every term is built with `ignore_index`."""

    def __init__(self, terms: Mapping[str, Mapping], ignore_index: int | None = None) -> None:
        super().__init__()
        for name, spec in terms.items():
            if not isinstance(spec, Mapping) or "_target_" not in spec or "weight" not in spec:
                raise UserError(
                    f"loss term {name}={spec} needs a class and a weight, e.g. {name}: "
                    "{_target_: src.losses.terms.BCE, weight: 1.0} (conf/loss/*.yaml)"
                )
        self.weights = {name: float(spec["weight"]) for name, spec in terms.items()}
        self.terms = nn.ModuleDict(
            {
                name: instantiate({k: v for k, v in spec.items() if k != "weight"}, ignore_index=ignore_index)
                for name, spec in terms.items()
            }
        )

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * self.terms[name](logits, target) for name, w in self.weights.items())


class ScheduledLoss(nn.Module):
    """The seed's schedule: `first`, then `second` (None: `first` throughout) from epoch `switch_epoch`, or, given
    `switch_at`, once that share of the training budget is spent (src/callbacks/budget.py).

    The phase is a function of the epoch or of the budget spent alone, so a resumed run is on the right loss.
    """

    def __init__(
        self,
        first: Mapping[str, Mapping],
        second: Mapping[str, Mapping] | None = None,
        switch_epoch: int | None = None,
        switch_at: float | None = None,
        ignore_index: int | None = None,
    ) -> None:
        super().__init__()
        self.first = WeightedSum(first, ignore_index)
        self.second = WeightedSum(second, ignore_index) if second else None
        self.switch_epoch, self.switch_at = switch_epoch, switch_at

    def phase(self, epoch: int, budget_spent: float | None = None) -> int:
        if self.second is None:
            return 0
        if self.switch_at is not None and budget_spent is not None:
            return int(budget_spent >= self.switch_at)
        return int(self.switch_epoch is not None and epoch >= self.switch_epoch)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, phase: int) -> torch.Tensor:
        return (self.second if phase else self.first)(logits, target)


def deep_supervision_loss(aux_logits, cls_logit, target, aux_weight, cls_weight) -> torch.Tensor:
    """BCE of each per-scale logit map on the images that hold salt, plus BCE of the empty/non-empty logit."""
    has_salt = target.flatten(1).amax(1)
    loss = cls_weight * F.binary_cross_entropy_with_logits(cls_logit.squeeze(1), has_salt)
    salty = has_salt > 0
    if salty.any():
        loss = loss + aux_weight * sum(
            F.binary_cross_entropy_with_logits(a[salty], target[salty]) for a in aux_logits
        ) / len(aux_logits)
    return loss
