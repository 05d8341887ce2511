import numpy as np
import pytest
import torch

from src.inference.tuning import grid_search
from src.metrics.kaggle_map import KaggleMAP, image_scores, kaggle_map


def square(size, n=10):
    mask = np.zeros((n, n), bool)
    mask[: size[0], : size[1]] = True
    return mask


def test_empty_truth_scores_one_only_for_empty_prediction():
    empty = np.zeros((1, 10, 10), bool)
    assert kaggle_map(empty, empty) == 1.0
    assert kaggle_map(square((1, 1))[None], empty) == 0.0


def test_missed_salt_scores_zero():
    assert kaggle_map(np.zeros((1, 10, 10), bool), square((5, 5))[None]) == 0.0


@pytest.mark.parametrize(
    "pred_cols, expected",
    [
        (10, 1.0),  # IoU 1
        (8, 0.6),  # IoU 0.8: above 0.50..0.75 (6 of 10); not above 0.80
        (6, 0.2),  # IoU 0.6 is not > 0.60: above 0.50 and 0.55 only
        (5, 0.0),  # IoU 0.5 is not > 0.50
    ],
)
def test_partial_overlap_counts_thresholds_strictly_above(pred_cols, expected):
    truth = square((10, 10))[None]
    pred = square((10, pred_cols))[None]
    assert kaggle_map(pred, truth) == pytest.approx(expected)


def test_iou_just_above_and_below_a_threshold():
    truth = np.zeros((1, 100, 100), bool)
    truth[0, :, :100] = True  # 10000 px
    just_above = truth.copy()
    just_above[0, :, 70:] = False  # IoU 0.70 -> above 0.50..0.65 = 4
    assert image_scores(just_above, truth)[0] == pytest.approx(0.4)
    just_above[0, 0, 70] = True  # IoU 0.7001 -> also above 0.70
    assert image_scores(just_above, truth)[0] == pytest.approx(0.5)


def test_mean_over_images():
    truth = np.stack([np.zeros((10, 10), bool), square((10, 10))])
    pred = np.stack([np.zeros((10, 10), bool), square((10, 8))])
    assert kaggle_map(pred, truth) == pytest.approx((1.0 + 0.6) / 2)


def tie(truth_size, pred_size):
    """A truth rectangle and a prediction rectangle inside it, both anchored top-left: IoU = pred / truth."""
    truth = np.zeros((1, 20, 20), bool)
    truth[0, : truth_size[0], : truth_size[1]] = True
    pred = np.zeros_like(truth)
    pred[0, : pred_size[0], : pred_size[1]] = True
    return pred, truth


# IoUs exactly on a threshold (not above it): float32 division rounds 4/5, 3/5, 11/20, 17/20 upwards.
EXACT_TIES = [
    ((10, 10), (10, 8), 0.6),  # IoU 4/5: above 0.50..0.75
    ((10, 10), (10, 6), 0.2),  # IoU 3/5: above 0.50, 0.55
    ((20, 10), (11, 10), 0.1),  # IoU 11/20: above 0.50 only
    ((20, 10), (17, 10), 0.7),
]  # IoU 17/20: above 0.50..0.80


@pytest.mark.parametrize("truth_size, pred_size, expected", EXACT_TIES)
def test_exact_ties_are_not_above_the_threshold_in_numpy_and_torch(truth_size, pred_size, expected):
    pred, truth = tie(truth_size, pred_size)
    assert kaggle_map(pred, truth) == expected
    metric = KaggleMAP(threshold=0.5)
    metric.update(torch.from_numpy(pred[:, None]).float(), torch.from_numpy(truth[:, None]).float())
    assert metric.compute().item() == pytest.approx(expected, abs=1e-7)


def test_tuning_scores_ties_like_the_metric():
    pred, truth = (
        np.concatenate([tie(t, p)[0] for t, p, _ in EXACT_TIES]),
        np.concatenate([tie(t, p)[1] for t, p, _ in EXACT_TIES]),
    )
    table = grid_search(pred.astype(np.float32), truth, [0.5], [0], [0])
    assert table["map"].item() == pytest.approx(np.mean([e for *_, e in EXACT_TIES]), abs=1e-12)


def test_torchmetric_matches_numpy_over_batches():
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=(12, 1, 20, 20)).astype(np.float32)
    truth = (rng.uniform(size=(12, 1, 20, 20)) > 0.4).astype(np.float32)
    truth[:3] = 0
    metric = KaggleMAP(threshold=0.5)
    metric.update(torch.from_numpy(probs[:5]), torch.from_numpy(truth[:5]))
    metric.update(torch.from_numpy(probs[5:]), torch.from_numpy(truth[5:]))
    assert metric.compute().item() == pytest.approx(kaggle_map(probs[:, 0] > 0.5, truth[:, 0] > 0.5), abs=1e-6)
