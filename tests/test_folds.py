import numpy as np
import pytest

from src.data.folds import coverage_class, load_folds, save_folds, stratified_folds
from src.utils.errors import UserError


def make(n=500, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"id{k:04d}" for k in range(n)]
    classes = rng.integers(0, 11, n)
    return ids, classes


def test_disjoint_complete_balanced_and_stratified():
    ids, classes = make()
    folds = stratified_folds(ids, classes, 5, seed=7)
    assert set(folds) == set(ids) and set(folds.values()) == set(range(5))
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 1
    f = np.array([folds[i] for i in ids])
    for cls in np.unique(classes):
        per_fold = np.bincount(f[classes == cls], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1


def test_deterministic_per_seed_and_independent_of_order():
    ids, classes = make()
    a = stratified_folds(ids, classes, 5, seed=7)
    b = stratified_folds(ids[::-1], classes[::-1], 5, seed=7)
    c = stratified_folds(ids, classes, 5, seed=8)
    assert a == b and a != c


def test_coverage_class():
    masks = np.zeros((3, 10, 10), bool)
    masks[1, 0, 0] = True  # 1 % -> class 1
    masks[2] = True  # 100 % -> class 10
    assert coverage_class(masks).tolist() == [0, 1, 10]


def test_split_file_round_trip_and_errors(tmp_path):
    ids, classes = make(50)
    folds = stratified_folds(ids, classes, 5, seed=0)
    save_folds(folds, tmp_path / "folds.csv")
    assert load_folds(tmp_path / "folds.csv", ids, 5) == folds
    with pytest.raises(UserError, match="no fold for 1 ids"):
        load_folds(tmp_path / "folds.csv", ids + ["new"], 5)
    with pytest.raises(UserError, match="outside 0..2"):
        load_folds(tmp_path / "folds.csv", ids, 3)
    with pytest.raises(UserError, match="not found"):
        load_folds(tmp_path / "missing.csv", ids, 5)
