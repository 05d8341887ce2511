"""Which line to interpret next: the unlabelled lines ranked by expected benefit.

A line's benefit is its mean uncertainty (predict.py's mutual information: what the ensemble disputes, which
labels can settle) discounted near lines already labelled or already suggested,
    benefit(k) = uncertainty(k) * min(1, distance(k) / spread),
distance being in lines to the nearest labelled or suggested line along the same axis. Lines are picked one at a
time, each pick discounting its neighbours, so the suggestions spread along the survey instead of bunching where
the uncertainty peaks.
"""

from dataclasses import dataclass

import numpy as np

from src.sections.line_cube import LineCube


@dataclass(frozen=True)
class LineMeans:
    """Means of an uncertainty cube (inline, crossline, samples): per inline, per crossline, and the map (inline,
    crossline) averaged over the samples."""

    inline: np.ndarray
    crossline: np.ndarray
    map: np.ndarray


def line_means(cube: LineCube) -> LineMeans:
    """The means of a cube read an inline at a time (memory: one line and the map)."""
    inlines, crosslines, samples = cube.shape
    depth_mean = np.zeros((inlines, crosslines), np.float64)
    for k in range(inlines):
        depth_mean[k] = cube.read("inline", k).mean(axis=1, dtype=np.float64)
    return LineMeans(depth_mean.mean(axis=1), depth_mean.mean(axis=0), depth_mean.astype(np.float32))


@dataclass(frozen=True)
class Suggestion:
    index: int  # along its axis, from 0
    uncertainty: float
    distance: float  # lines to the nearest labelled line (inf: none on this axis)
    benefit: float


def rank_lines(uncertainty: np.ndarray, labelled: list[int], count: int, spread: float) -> list[Suggestion]:
    """Up to `count` unlabelled lines in order of pick (see the module's note), from per-line mean uncertainty."""
    positions = np.arange(len(uncertainty))
    to_labelled = np.full(len(uncertainty), np.inf)
    for k in labelled:
        to_labelled = np.minimum(to_labelled, np.abs(positions - k))
    to_taken = to_labelled.copy()
    picks = []
    for _ in range(min(count, len(uncertainty) - len(set(labelled)))):
        benefit = uncertainty * np.minimum(1.0, to_taken / spread)
        benefit[to_taken == 0] = -1.0  # labelled or already picked
        best = int(np.argmax(benefit))  # the first of equal benefits: the lowest index
        picks.append(Suggestion(best, float(uncertainty[best]), float(to_labelled[best]), float(benefit[best])))
        to_taken = np.minimum(to_taken, np.abs(positions - best))
    return picks
