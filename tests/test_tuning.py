import numpy as np
import pytest

from src.inference.postproc import postprocess_batch
from src.inference.tuning import grid_search
from src.metrics.kaggle_map import kaggle_map


def planted(seed=0, n=300):
    """Truth squares; probabilities that are right only when cut at 0.62, plus specks and noise."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((n, 101, 101), bool)
    probs = np.full((n, 101, 101), 0.1, np.float32)
    for k in range(n):
        if k % 3:
            s = rng.integers(20, 60)
            truth[k, 10 : 10 + s, 20 : 20 + s] = True
            probs[k][truth[k]] = 0.7
            probs[k, 10 : 10 + s, 20 + s : 30 + s] = 0.55  # a rim that thresholds below 0.55 wrongly add
        probs[k, 90:94, 90:94] = 0.9  # a 16-px speck on every tile
    return probs, truth


def test_grid_search_finds_the_planted_best_and_matches_the_slow_path():
    probs, truth = planted()
    table = grid_search(probs, truth, [0.3, 0.5, 0.6, 0.65, 0.8], [0, 5, 20], [0, 10, 30])
    perfect = table[table["map"] > 1 - 1e-9]
    assert len(perfect) and set(perfect.threshold) <= {0.6, 0.65}
    assert ((perfect.min_component == 20) | (perfect.min_mask == 30)).all()  # the speck must go
    assert table.iloc[0]["map"] == pytest.approx(1.0)
    for row in table.sample(8, random_state=0).itertuples():
        masks = postprocess_batch(
            probs, threshold=row.threshold, min_component=row.min_component, min_mask=row.min_mask
        )
        assert row.map == pytest.approx(kaggle_map(masks, truth))
