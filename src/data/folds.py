"""Deterministic K-fold split stratified by salt-coverage class."""
import numpy as np
import pandas as pd

from src.utils.atomic import atomic_path
from src.utils.errors import UserError


def coverage_class(masks):
    """Coverage class 0..10 of boolean masks (N, H, W): 0 empty, then ceil(10 * coverage)."""
    coverage = np.asarray(masks, dtype=bool).reshape(len(masks), -1).mean(axis=1)
    return np.ceil(coverage * 10).astype(int)


def stratified_folds(ids, classes, n_folds, seed):
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


def save_folds(assignment, path):
    with atomic_path(path) as tmp:
        pd.DataFrame({"id": list(assignment), "fold": list(assignment.values())}).to_csv(tmp, index=False)


def load_folds(path, ids, n_folds):
    """Read an id,fold CSV and check that it covers `ids` with folds in range."""
    try:
        frame = pd.read_csv(path, dtype={"id": str})
    except FileNotFoundError:
        raise UserError(f"split file {path} not found: pass an existing folds.csv or drop data.split_file") from None
    assignment = dict(zip(frame["id"], frame["fold"].astype(int)))
    missing = set(ids) - set(assignment)
    if missing:
        raise UserError(f"split file {path} has no fold for {len(missing)} ids (e.g. {sorted(missing)[0]}): "
                        "regenerate it or drop data.split_file")
    bad = {f for f in assignment.values() if not 0 <= f < n_folds}
    if bad:
        raise UserError(f"split file {path} uses folds {sorted(bad)} outside 0..{n_folds - 1}: set data.n_folds to match")
    return {i: assignment[i] for i in ids}
