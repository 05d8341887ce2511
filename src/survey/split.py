"""Leakage-safe validation for a survey: folds are contiguous blocks of labelled lines, never neighbouring lines
dealt at random (microsoft/seismic-deeplearning's first split of overlapping patches inflated its scores and
gave way to line ranges). A training window whose footprint, grown by a guard of `guard` lines, touches the
validation block is dropped, whichever way the window lies; the split is saved as folds.csv (line, fold) and
can be reused, and shown as a map (split.png)."""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.data.tiles import TILE
from src.utils.atomic import atomic_path
from src.utils.errors import UserError

TRAIN, GAP, VALIDATION = "train", "dropped", "validation"


@dataclass(frozen=True)
class Window:
    """A TILE x TILE window of the `line`-th inline or crossline section, its top-left at (top, left)."""
    axis: str
    line: int
    top: int
    left: int

    def span(self, axis):
        """(first, last) index the window covers along `axis` (inline or crossline) in map view."""
        if axis == self.axis:
            return self.line, self.line
        return self.left, self.left + TILE - 1


def line_blocks(lines, n_folds):
    """{line index: fold}: the sorted labelled lines dealt into `n_folds` contiguous blocks of near-equal size."""
    lines = sorted(lines)
    if len(lines) < n_folds:
        raise UserError(f"{len(lines)} labelled lines cannot make {n_folds} folds: label more lines or lower "
                        "data.n_folds")
    return {line: int(fold) for fold, block in enumerate(np.array_split(lines, n_folds)) for line in block}


def window_role(window, block, label_axis, guard):
    """VALIDATION inside the validation block, TRAIN when its footprint (grown by `guard` lines) stays clear of
    the block, else GAP (dropped). block: (first, last) line of the validation fold along `label_axis`."""
    first, last = window.span(label_axis)
    if block[0] <= first and last <= block[1]:
        return VALIDATION
    if last < block[0] - guard or first > block[1] + guard:
        return TRAIN
    return GAP


def save_folds(blocks, numbers, path):
    """folds.csv: the line number (as in the file's headers) and fold of every labelled line."""
    with atomic_path(path) as tmp:
        frame = pd.DataFrame({"line": [int(numbers[k]) for k in blocks], "fold": list(blocks.values())})
        frame.to_csv(tmp, index=False)


def load_folds(path, numbers, labelled, n_folds):
    """{line index: fold} from a folds.csv written by save_folds; every labelled line needs a fold in range."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"split file {path} not found: pass a survey run's folds.csv or drop data.split_file") from None
    index_of = {int(n): k for k, n in enumerate(numbers)}
    blocks = {index_of[int(n)]: int(f) for n, f in zip(frame["line"], frame["fold"]) if int(n) in index_of}
    missing = sorted(set(labelled) - set(blocks))
    if missing:
        raise UserError(f"split file {path} has no fold for {len(missing)} labelled lines (e.g. line "
                        f"{numbers[missing[0]]}): write it again or drop data.split_file")
    if any(not 0 <= f < n_folds for f in blocks.values()):
        raise UserError(f"split file {path} uses folds outside 0..{n_folds - 1}: set data.n_folds to match")
    return {k: blocks[k] for k in labelled}
