"""Leakage-safe validation for a survey: folds are contiguous blocks of labelled lines, never neighbouring lines
dealt at random (microsoft/seismic-deeplearning's first split of overlapping patches inflated its scores and
gave way to line ranges). A training window whose footprint, grown by a guard of `guard` lines, touches the
validation block is dropped, whichever way the window lies; the split is saved as folds.csv (line, fold) and
can be reused, and shown as a map (split.png)."""

from dataclasses import dataclass

import numpy as np

from src.data.folds import load_folds, save_folds
from src.data.tiles import TILE
from src.utils.errors import UserError

TRAIN, GAP, VALIDATION = "train", "dropped", "validation"


@dataclass(frozen=True)
class Window:
    """A TILE x TILE window of the `line`-th inline or crossline section, its top-left at (top, left)."""

    axis: str
    line: int
    top: int
    left: int

    def span(self, axis) -> tuple[int, int]:
        """(first, last) index the window covers along `axis` (inline or crossline) in map view."""
        if axis == self.axis:
            return self.line, self.line
        return self.left, self.left + TILE - 1


def line_blocks(lines, n_folds) -> dict[int, int]:
    """{line index: fold}: the sorted labelled lines dealt into `n_folds` contiguous blocks of near-equal size."""
    lines = sorted(lines)
    if len(lines) < n_folds:
        raise UserError(
            f"{len(lines)} labelled lines cannot make {n_folds} folds: label more lines or lower data.n_folds"
        )
    return {line: int(fold) for fold, block in enumerate(np.array_split(lines, n_folds)) for line in block}


def window_role(window, block, label_axis, guard) -> str:
    """VALIDATION inside the validation block, TRAIN when its footprint (grown by `guard` lines) stays clear of
    the block, else GAP (dropped). block: (first, last) line of the validation fold along `label_axis`."""
    first, last = window.span(label_axis)
    if block[0] <= first and last <= block[1]:
        return VALIDATION
    if last < block[0] - guard or first > block[1] + guard:
        return TRAIN
    return GAP


def save_line_folds(blocks, numbers, path) -> None:
    """folds.csv: the line number (as in the file's headers) and fold of every labelled line."""
    save_folds({int(numbers[k]): fold for k, fold in blocks.items()}, path, key="line")


def load_line_folds(path, numbers, labelled, n_folds) -> dict[int, int]:
    """{line index: fold} of the labelled lines from a folds.csv written by save_line_folds."""
    by_number = load_folds(path, [int(numbers[k]) for k in labelled], n_folds, key="line")
    return {k: by_number[int(numbers[k])] for k in labelled}
