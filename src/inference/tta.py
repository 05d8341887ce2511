"""Horizontal-flip test-time augmentation, the one definition every backend uses.

One precision rule: predictions are computed in float32 (no autocast), whatever precision trained the network, so
the out-of-fold probabilities that tune.py fits thresholds on are the ones infer.py and predict.py produce.
"""

from collections.abc import Callable

import torch
from torch import nn

from src.data.tiles import TILE, crop_center, mirror_padded


def tta_views(probs_of: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tta: bool) -> list[torch.Tensor]:
    """The views of padded tiles x (N, C, S, S): their probabilities (N, ..., 101, 101) and, when `tta`, those of
    their mirror image (built as training builds an hflipped tile: see mirror_padded) flipped back.

    probs_of: padded tiles -> probabilities (N, ..., S, S) float32, by whatever runs the network."""
    views = [crop_center(probs_of(x), TILE)]
    if tta:
        views.append(crop_center(probs_of(mirror_padded(x)), TILE).flip(-1))
    return views


def mean_view(views: list[torch.Tensor]) -> torch.Tensor:
    return views[0] if len(views) == 1 else 0.5 * (views[0] + views[1])


def network_probs(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sigmoid probabilities (N, S, S) of one PyTorch network on padded tiles, in float32."""
    return torch.sigmoid(module(x).float())[:, 0]
