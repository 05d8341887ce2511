"""Leakage-safe validation for a survey: folds are contiguous blocks of labelled lines, never neighbouring lines
dealt at random (microsoft/seismic-deeplearning's first split of overlapping patches inflated its scores and
gave way to line ranges). A training window whose footprint, grown by a guard of `guard` lines, touches the
validation block is dropped, whichever way the window lies; the split is saved as folds.csv (line, fold) and
can be reused, and shown as a map (split.png)."""

import logging
from dataclasses import dataclass

import numpy as np

from src.data.folds import load_folds, save_folds
from src.data.tiles import TILE
from src.utils.errors import UserError

log = logging.getLogger(__name__)
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


def line_blocks(lines, n_folds, salty=None) -> dict[int, int]:
    """{line index: fold}: the sorted labelled lines dealt into `n_folds` contiguous blocks of near-equal size. Given
    `salty` (the labelled lines holding salt), a split with a block of no salt, whose validation score would mean
    nothing, is cut again so that each block holds an equal share of the salt lines (the cuts midway between
    them); where too few lines hold salt for that, the equal blocks stay and the log says which folds have none."""
    lines = sorted(lines)
    if len(lines) < n_folds:
        raise UserError(
            f"{len(lines)} labelled lines cannot make {n_folds} folds: label more lines or lower data.n_folds"
        )
    blocks = {line: int(fold) for fold, block in enumerate(np.array_split(lines, n_folds)) for line in block}
    if salty is None:
        return blocks
    salted = [line for line in lines if line in salty]
    saltless = sorted(set(range(n_folds)) - {blocks[line] for line in salted})
    if not saltless:
        return blocks
    if len(salted) < n_folds:
        log.warning(
            "only %d labelled line(s) hold salt, too few for %d folds: fold(s) %s validate on lines without salt, "
            "where val/map and the out-of-fold figures mean nothing; label salt on more lines or lower data.n_folds",
            len(salted),
            n_folds,
            ", ".join(map(str, saltless)),
        )
        return blocks
    groups = np.array_split(salted, n_folds)
    cuts = [(groups[i][-1] + groups[i + 1][0]) / 2 for i in range(n_folds - 1)]
    recut = {line: int(np.searchsorted(cuts, line)) for line in lines}
    log.info(
        "equal blocks of lines left fold(s) %s without salt: blocks cut again so each holds salt (%s lines)",
        ", ".join(map(str, saltless)),
        " / ".join(str(sum(f == fold for f in recut.values())) for fold in range(n_folds)),
    )
    return recut


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
