import numpy as np
import pandas as pd

from src.data.io import read_mask
from src.data.rle import rle_decode, rle_encode


def test_column_major_one_indexed():
    mask = np.zeros((3, 3), bool)
    mask[0:2, 0] = True  # pixels 1, 2 in column-major order
    mask[2, 2] = True  # pixel 9
    assert rle_encode(mask) == "1 2 9 1"
    assert np.array_equal(rle_decode("1 2 9 1", (3, 3)), mask)


def test_empty_mask_is_empty_string_and_back():
    assert rle_encode(np.zeros((101, 101), bool)) == ""
    assert not rle_decode("").any() and not rle_decode(float("nan")).any()


def test_round_trip_random_masks():
    rng = np.random.default_rng(1)
    for _ in range(20):
        mask = rng.uniform(size=(101, 101)) > rng.uniform()
        assert np.array_equal(rle_decode(rle_encode(mask)), mask)


def test_agrees_with_kaggle_strings_for_real_masks(shared_tgs):
    frame = pd.read_csv(shared_tgs / "train.csv", dtype={"id": str}).fillna("")
    for tile_id, rle in frame.sample(200, random_state=0).itertuples(index=False):
        mask = read_mask(shared_tgs / "train" / "masks" / f"{tile_id}.png")
        assert rle_encode(mask) == rle
        assert np.array_equal(rle_decode(rle), mask)
