"""Post-processing search on out-of-fold predictions, vectorised over images and mask-size cut-offs."""

import numpy as np
import pandas as pd

from src.inference.postproc import fill_small_holes, remove_small_components
from src.metrics.kaggle_map import scores_from_counts
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder, runs_under


def runs_with_oof(run) -> list[RunFolder]:
    """The runs under a run or multirun dir that wrote their out-of-fold predictions (one clear line if none)."""
    runs = [r for r in runs_under(run) if r.oof.exists()]
    if not runs:
        raise UserError(f"no oof.npz under {run}: pass a run or multirun dir whose training finished")
    return runs


def gather_oof(run) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray | None]:
    """(ids, probs, truth, valid) of every fold's oof.npz under a run or multirun dir, each id exactly once; valid
    (the interpreted pixels of a survey's windows) is None for fully labelled tiles."""
    parts = [np.load(r.oof) for r in runs_with_oof(run)]
    ids = np.concatenate([p["ids"] for p in parts])
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise UserError(
            f"tile {unique[counts > 1][0]} is in the out-of-fold predictions of two runs under "
            f"{run}: tune one fold split at a time (one multirun over fold=...)"
        )
    probs = np.concatenate([p["probs"] for p in parts]).astype(np.float32)
    truth = np.concatenate([p["truth"] for p in parts]).astype(bool)
    valid = np.concatenate([p["valid"] for p in parts]) if all("valid" in p for p in parts) else None
    return ids, probs, truth, valid


def _overlaps(masks, truth, valid=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if valid is not None:
        masks, truth = masks & valid, truth & valid
    flat_m, flat_t = masks.reshape(len(masks), -1), truth.reshape(len(truth), -1)
    return (
        np.count_nonzero(flat_m & flat_t, axis=1),
        np.count_nonzero(flat_m, axis=1),
        np.count_nonzero(flat_t, axis=1),
    )


def scores_for_min_masks(inter, pred_area, truth_area, min_masks, counted=None) -> np.ndarray:
    """Mean competition score for each min_mask cut-off, given per-image overlaps of the un-cut masks, over the
    `counted` images (all when None)."""
    out = []
    for min_mask in min_masks:
        kept = pred_area >= min_mask
        i, p = np.where(kept, inter, 0), np.where(kept, pred_area, 0)
        scores = scores_from_counts(i, p + truth_area - i)
        out.append(scores.mean() if counted is None else scores[counted].mean())
    return out


def grid_search(probs, truth, thresholds, min_components, min_masks, fill_holes=0, valid=None) -> pd.DataFrame:
    """A DataFrame with one row per (threshold, min_component, min_mask) and its mean score, best first; scored
    on the `valid` pixels only when given (images without one do not count)."""
    counted = None if valid is None else valid.reshape(len(valid), -1).any(axis=1)
    rows = []
    for threshold in thresholds:
        binary = probs > threshold
        for min_component in min_components:
            masks = np.stack([fill_small_holes(remove_small_components(m, min_component), fill_holes) for m in binary])
            scores = scores_for_min_masks(*_overlaps(masks, truth, valid), min_masks, counted)
            rows += [(float(threshold), int(min_component), int(m), float(s)) for m, s in zip(min_masks, scores)]
    frame = pd.DataFrame(rows, columns=["threshold", "min_component", "min_mask", "map"])
    return frame.sort_values("map", ascending=False, kind="stable").reset_index(drop=True)
