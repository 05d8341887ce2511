"""Whole sections: windows, taper blending, amplitude scaling, and the PyTorch backend on tiled sections."""

import numpy as np
import pytest

from src.sections.scaling import AmplitudeScaling
from src.sections.tiling import section_probs, window_starts


def pointwise(tiles, depths):
    """A stand-in network whose output at a pixel depends on that pixel alone."""
    return 1.0 / (1.0 + np.exp(-(tiles.astype(np.float32) - 128.0) / 30.0))


@pytest.mark.parametrize("length, overlap", [(101, 0), (300, 50), (1000, 30), (202, 0), (102, 90)])
def test_windows_cover_everything_and_end_flush(length, overlap):
    starts = window_starts(length, 101, overlap)
    assert starts[0] == 0 and starts[-1] == length - 101
    assert all(b - a <= 101 - overlap for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize(
    "shape, overlap, taper",
    [((300, 450), 50, "gaussian"), ((203, 517), 13, "triangular"), ((50, 70), 50, "gaussian"), ((101, 101), 0, "flat")],
)
def test_blending_is_seamless_for_any_size(shape, overlap, taper):
    section = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    probs = section_probs(section, pointwise, lambda r: 0.0, overlap=overlap, kind=taper)
    assert probs.shape == shape
    assert np.allclose(probs, pointwise(section, None), atol=1e-5)


def test_constant_section_gives_constant_output():
    probs = section_probs(np.full((250, 333), 140, np.uint8), pointwise, lambda r: 0.0, overlap=40)
    assert np.ptp(probs) < 1e-6


@pytest.fixture(scope="module")
def backend(trained_run):
    from src.ensemble.members import load_members
    from src.inference.backends import TorchBackend

    return TorchBackend(load_members(trained_run, 1)[0], tta=True)


def test_tiled_prediction_equals_per_tile_prediction_where_windows_align(backend, synthetic_root):
    from src.data.datamodule import load_unlabelled

    _, images, _ = load_unlabelled(synthetic_root)
    section = np.block([[images[0], images[1]], [images[2], images[3]]])
    probs = section_probs(section, backend, lambda row: 300.0 + row, overlap=0)
    per_tile = backend(images[:4], np.array([300.0, 300.0, 401.0, 401.0], np.float32))
    assert np.allclose(probs, np.block([[per_tile[0], per_tile[1]], [per_tile[2], per_tile[3]]]), atol=1e-5)


def test_amplitude_scaling_uses_whole_volume_statistics():
    data = np.random.default_rng(0).normal(0, 1000, (4, 30, 40)).astype(np.float32)
    scaling = AmplitudeScaling.percentile(data, 1.0, 99.0)
    grey = scaling.apply(data)
    assert grey.dtype == np.uint8 and abs(int(np.median(grey)) - 128) <= 2
    assert scaling.gain > 0 and "clip" in scaling.rule
    bound = np.abs(np.percentile(data, [1.0, 99.0])).max()  # symmetric clip points: the ends of the grey scale
    assert scaling.apply(np.array([-bound, 0.0, bound])).tolist() == [0, 128, 255]
