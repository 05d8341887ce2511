"""Smoothing across lines, in place and a line at a time, equals scipy's weighted moving mean renormalised at the
cube's ends, along either axis; radius 0 leaves the cube alone."""

import numpy as np
import pytest
from scipy.ndimage import correlate1d

from src.sections.line_cube import LineCube
from src.sections.smoothing import line_weights, smooth_across_lines


def cube_on_disk(path, values):
    cube = LineCube(path, values.shape)
    for k, line in enumerate(values):
        cube.write("inline", k, line)
    return cube


def read_all(cube):
    return np.stack([cube.read("inline", k) for k in range(cube.shape[0])])


@pytest.mark.parametrize("axis, dim", [("inline", 0), ("crossline", 1)])
@pytest.mark.parametrize("radius", [1, 2, 5])
def test_smoothing_is_the_renormalised_weighted_mean_of_neighbouring_lines(tmp_path, axis, dim, radius):
    values = np.random.default_rng(radius).random((9, 4, 5)).astype(np.float32)
    cube = cube_on_disk(tmp_path / "c.npy", values)
    smooth_across_lines(cube, axis, radius)
    weights = line_weights(radius)
    expected = correlate1d(values, weights, axis=dim, mode="constant") / correlate1d(
        np.ones_like(values), weights, axis=dim, mode="constant"
    )
    assert np.abs(read_all(cube) - expected).max() < 1e-6
    cube.close()


def test_a_constant_cube_stays_and_radius_zero_changes_nothing(tmp_path):
    cube = cube_on_disk(tmp_path / "c.npy", np.full((5, 3, 2), 0.25, np.float32))
    smooth_across_lines(cube, "inline", 3)
    assert np.allclose(read_all(cube), 0.25)
    values = np.random.default_rng(0).random((5, 3, 2)).astype(np.float32)
    other = cube_on_disk(tmp_path / "d.npy", values)
    smooth_across_lines(other, "inline", 0)
    assert np.array_equal(read_all(other), values)
    assert line_weights(2).tolist() == pytest.approx([np.exp(-2), np.exp(-0.5), 1, np.exp(-0.5), np.exp(-2)])
