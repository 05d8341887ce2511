"""Fold files and the tiles' split: a deterministic K-fold split stratified by salt-coverage class, and folds.csv
(read and written here for tiles and for a survey's lines alike)."""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from src.utils.atomic import atomic_path
from src.utils.errors import UserError


def coverage_class(masks) -> np.ndarray:
    """Coverage class 0..10 of boolean masks (N, H, W): 0 empty, then ceil(10 * coverage)."""
    coverage = np.asarray(masks, dtype=bool).reshape(len(masks), -1).mean(axis=1)
    return np.ceil(coverage * 10).astype(int)


def stratified_folds(ids, classes, n_folds, seed) -> dict[str, int]:
    """Assign each id a fold in 0..n_folds-1: within each class, a seeded shuffle dealt round-robin."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids)
    classes = np.asarray(classes)
    folds = np.empty(len(ids), dtype=int)
    offset = 0
    for cls in np.unique(classes):
        members = np.flatnonzero(classes == cls)
        members = members[np.argsort(ids[members], kind="stable")]  # order-independent of input order
        members = rng.permutation(members)
        folds[members] = (np.arange(len(members)) + offset) % n_folds
        offset += len(members)
    return dict(zip(ids.tolist(), folds.tolist()))


def save_folds(assignment: Mapping, path, key: str = "id") -> None:
    """folds.csv: a `key` column (a tile's id, a survey line's number) and its fold."""
    with atomic_path(path) as tmp:
        pd.DataFrame({key: list(assignment), "fold": list(assignment.values())}).to_csv(tmp, index=False)


def load_folds(path, keys: Sequence, n_folds: int, key: str = "id") -> dict:
    """{key: fold} of `keys` from a folds.csv written by save_folds; every key needs a fold in 0..n_folds-1."""
    try:
        frame = pd.read_csv(path, dtype={key: type(keys[0]) if len(keys) else str})
    except FileNotFoundError:
        raise UserError(f"split file {path} not found: pass an existing folds.csv or drop data.split_file") from None
    if key not in frame or "fold" not in frame:
        raise UserError(
            f"split file {path} has no {key},fold columns: pass a folds.csv of a run on this data or "
            "drop data.split_file"
        )
    assignment = dict(zip(frame[key], frame["fold"].astype(int)))
    missing = [k for k in keys if k not in assignment]
    if missing:
        raise UserError(
            f"split file {path} has no fold for {len(missing)} {key}s (e.g. {key} {missing[0]}): "
            "regenerate it or drop data.split_file"
        )
    bad = sorted({assignment[k] for k in keys if not 0 <= assignment[k] < n_folds})
    if bad:
        raise UserError(f"split file {path} uses folds {bad} outside 0..{n_folds - 1}: set data.n_folds to match")
    return {k: assignment[k] for k in keys}
