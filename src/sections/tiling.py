"""Sliding-window prediction over a whole section, blended with a taper so windows leave no seams.

Windows are training-sized tiles handled exactly as training tiles; the last window is snapped flush to each
edge; probabilities (never logits) are blended with a taper and divided by the summed float weights.
"""

import numpy as np

from src.data.tiles import TILE, pad_to_tile


def window_starts(length, tile, overlap) -> list[int]:
    """Start offsets of windows of `tile` covering 0..length with `overlap` pixels, the last flush to the end."""
    if length <= tile:
        return [0]
    step = max(tile - overlap, 1)
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


TAPERS = ("gaussian", "triangular", "flat")


def taper(tile, kind) -> np.ndarray:
    """(tile, tile) positive blending weights, highest in the centre."""
    centre = (tile - 1) / 2
    r = np.abs(np.arange(tile) - centre) / (centre + 1)
    if kind == "gaussian":
        w = np.exp(-0.5 * (r / 0.5) ** 2)
    elif kind == "triangular":
        w = 1.0 - r
    elif kind == "flat":
        w = np.ones(tile)
    else:
        raise ValueError(f"unknown taper {kind!r}: use gaussian, triangular or flat")
    return np.outer(w, w).astype(np.float32)


def section_probs(section, probs_fn, depth_of_row, overlap=50, kind="gaussian", batch_size=32) -> np.ndarray:
    """Probabilities (H, W) of a grey (H, W) uint8 section, or (K, H, W) for K maps per tile.

    probs_fn(tiles uint8 (N, 101, 101), depths (N,)) -> probabilities (N, 101, 101), or (N, K, 101, 101) (e.g.
    probabilities and uncertainty), each map blended alike; depth_of_row(top row) gives each window's depth.
    Sections smaller than a tile are reflect-padded, then cropped back.
    """
    height, width = section.shape
    padded = pad_to_tile(section)
    total = weight_sum = None
    weight = taper(TILE, kind)
    windows = [
        (r, c)
        for r in window_starts(padded.shape[0], TILE, overlap)
        for c in window_starts(padded.shape[1], TILE, overlap)
    ]
    for start in range(0, len(windows), batch_size):
        batch = windows[start : start + batch_size]
        tiles = np.stack([padded[r : r + TILE, c : c + TILE] for r, c in batch])
        probs = probs_fn(tiles, np.array([depth_of_row(r) for r, _ in batch], np.float32))
        if total is None:
            total = np.zeros((*probs.shape[1:-2], *padded.shape), np.float32)
            weight_sum = np.zeros(padded.shape, np.float32)
        for (r, c), p in zip(batch, probs):
            total[..., r : r + TILE, c : c + TILE] += weight * p
            weight_sum[r : r + TILE, c : c + TILE] += weight
    return (total / weight_sum)[..., :height, :width]
