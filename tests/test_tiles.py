import numpy as np
import pytest

from src.data.preprocess import Preprocess
from src.data.tiles import crop_center, pad_amounts, reflect_pad


def test_pad_101_to_128_is_13_before_14_after():
    assert pad_amounts(101, 128) == (13, 14)
    tile = np.arange(101 * 101, dtype=np.float32).reshape(101, 101)
    padded = reflect_pad(tile[None], 128)
    assert padded.shape == (1, 128, 128)
    assert np.array_equal(padded[0, 13:114, 13:114], tile)
    assert np.array_equal(padded[0, 12, 13:114], tile[1])  # reflection, not edge copy


def test_crop_inverts_pad_for_arrays_and_batches():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(4, 3, 101, 101))
    assert np.array_equal(crop_center(reflect_pad(batch, 128)), batch)


def test_channels_image_depth_coord():
    pre = Preprocess(("image", "depth", "coord"), mean=0.5, std=0.25, zmin=100.0, zmax=300.0, input_size=128)
    tile = np.full((101, 101), 255, np.uint8)
    x = crop_center(pre(tile, 150.0))
    assert x.shape == (3, 101, 101)
    assert np.allclose(x[0], (1.0 - 0.5) / 0.25)
    assert np.allclose(x[1], 0.25)  # (150 - 100) / (300 - 100)
    assert x[2, 0].max() == 0 and np.allclose(x[2, -1], 1.0)  # image x top-to-bottom ramp
    assert np.all(np.diff(x[2, :, 50]) > 0)


def test_unknown_channel_is_refused():
    pre = Preprocess(("image", "sobel"), 0.5, 0.25, 0.0, 1.0, 128)
    with pytest.raises(ValueError, match="sobel"):
        pre(np.zeros((101, 101), np.uint8), 0.0)
