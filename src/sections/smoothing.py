"""Smoothing a cube across the lines that were predicted one by one, so neighbouring lines agree.

Each line becomes the weighted mean of the lines within `radius` of it along the axis (Gaussian weights, sigma =
radius / 2, renormalised where the cube ends). It runs in place, a line at a time: a ring of 2 * radius + 1
original lines is held, so memory is that many lines whatever the cube's size.
"""

from collections import deque

import numpy as np

from src.sections.line_cube import LineCube


def line_weights(radius: int) -> np.ndarray:
    """Weights of the offsets -radius..radius."""
    offsets = np.arange(-radius, radius + 1)
    return np.exp(-0.5 * (offsets / (radius / 2)) ** 2).astype(np.float32)


def weighted_mean(lines, weights) -> np.ndarray:
    """sum(w * line) / sum(w) over the lines in order, in float32: the one arithmetic of a smoothed line, so a
    cube smoothed in blocks (src/inference/line_blocks.py) equals one smoothed here, bit for bit."""
    total = np.zeros_like(lines[0], dtype=np.float32)
    weight_sum = 0.0
    for line, weight in zip(lines, weights, strict=True):
        total += weight * line
        weight_sum += weight
    return total / weight_sum


def smooth_across_lines(cube: LineCube, axis: str, radius: int) -> None:
    """Replace every line of `cube` along `axis` by the weighted mean of its neighbours within `radius` lines."""
    if radius < 1:
        return
    count = cube.shape[0] if axis == "inline" else cube.shape[1]
    weights = line_weights(radius)
    ring = deque(cube.read(axis, k).copy() for k in range(min(radius + 1, count)))  # originals k - radius..k + radius
    first = 0  # the index of ring[0]
    for k in range(count):
        smoothed = weighted_mean(ring, weights[first - k + radius : first - k + radius + len(ring)])
        ahead = k + radius + 1
        if ahead < count:
            ring.append(cube.read(axis, ahead).copy())
        if k - first == radius:
            ring.popleft()
            first += 1
        cube.write(axis, k, smoothed)  # the originals it overwrites are in the ring while needed
