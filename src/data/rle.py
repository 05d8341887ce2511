"""Kaggle run-length encoding: column-major (top to bottom, then left to right), 1-indexed start/length pairs."""

import numpy as np


def rle_encode(mask) -> str:
    """Boolean (H, W) mask -> 'start length ...' string; '' for an empty mask."""
    pixels = np.asarray(mask, dtype=bool).flatten(order="F")
    padded = np.concatenate([[False], pixels, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1]) + 1
    starts, ends = changes[0::2], changes[1::2]
    return " ".join(f"{s} {e - s}" for s, e in zip(starts, ends))


def rle_decode(rle, shape=(101, 101)) -> np.ndarray:
    """'start length ...' string (or '', NaN, None) -> boolean (H, W) mask."""
    flat = np.zeros(shape[0] * shape[1], dtype=bool)
    if isinstance(rle, str) and rle.strip():
        numbers = np.asarray(rle.split(), dtype=np.int64)
        for start, length in zip(numbers[0::2], numbers[1::2]):
            flat[start - 1 : start - 1 + length] = True
    return flat.reshape(shape, order="F")
