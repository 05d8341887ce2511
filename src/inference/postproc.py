"""Post-processing of probability maps into final masks (pure functions on numpy arrays)."""

import cv2
import numpy as np


def remove_small_components(mask, min_size, connectivity=8) -> np.ndarray:
    """Drop connected components of True smaller than `min_size` pixels."""
    if min_size <= 0 or not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=connectivity)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_size
    keep[0] = False  # background label
    return keep[labels]


def fill_small_holes(mask, max_size) -> np.ndarray:
    """Fill non-salt components of at most `max_size` pixels that do not touch the tile border."""
    if max_size <= 0 or mask.all():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    x, y, w, h = (stats[:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    inside = (x > 0) & (y > 0) & (x + w < mask.shape[1]) & (y + h < mask.shape[0])
    hole = inside & (stats[:, cv2.CC_STAT_AREA] <= max_size)
    hole[0] = False  # label 0 is the salt itself here
    return mask | hole[labels]


def postprocess(probs, threshold=0.5, min_component=0, min_mask=0, fill_holes=0) -> np.ndarray:
    """Probabilities (H, W) -> bool mask: threshold, drop small components, fill small holes, then empty the
    whole mask when its total salt area is below `min_mask`."""
    mask = remove_small_components(probs > threshold, min_component)
    mask = fill_small_holes(mask, fill_holes)
    if mask.sum() < min_mask:
        return np.zeros_like(mask)
    return mask


def postprocess_batch(probs, **params) -> np.ndarray:
    return np.stack([postprocess(p, **params) for p in probs])
