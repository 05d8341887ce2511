"""Whole sections and volumes: tiling, blending, SEG-Y round trip, the depth refusal, ONNX parity."""
import json

import numpy as np
import pytest
import segyio

from conftest import run_cli
from src.sections.scaling import amplitude_to_grey
from src.sections.tiling import section_probs, window_starts


def pointwise(tiles, depths):
    """A stand-in network whose output at a pixel depends on that pixel alone."""
    return 1.0 / (1.0 + np.exp(-(tiles.astype(np.float32) - 128.0) / 30.0))


@pytest.mark.parametrize("length, overlap", [(101, 0), (300, 50), (1000, 30), (202, 0), (102, 90)])
def test_windows_cover_everything_and_end_flush(length, overlap):
    starts = window_starts(length, 101, overlap)
    assert starts[0] == 0 and starts[-1] == length - 101
    assert all(b - a <= 101 - overlap for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize("shape, overlap, taper", [((300, 450), 50, "gaussian"), ((203, 517), 13, "triangular"),
                                                   ((50, 70), 50, "gaussian"), ((101, 101), 0, "flat")])
def test_blending_is_seamless_for_any_size(shape, overlap, taper):
    section = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    probs = section_probs(section, pointwise, lambda r: 0.0, overlap=overlap, kind=taper)
    assert probs.shape == shape
    assert np.allclose(probs, pointwise(section, None), atol=1e-5)


def test_constant_section_gives_constant_output():
    probs = section_probs(np.full((250, 333), 140, np.uint8), pointwise, lambda r: 0.0, overlap=40)
    assert np.ptp(probs) < 1e-6


@pytest.fixture(scope="module")
def predictor(trained_run):
    from src.ensemble.members import load_members
    from src.sections.backends import TorchBackend

    return TorchBackend(load_members(trained_run, 1)[0], tta=True)


def test_tiled_prediction_equals_per_tile_prediction_where_windows_align(predictor, synthetic_root):
    from src.data.datamodule import load_unlabelled

    _, images, _ = load_unlabelled(synthetic_root)
    section = np.block([[images[0], images[1]], [images[2], images[3]]])
    depth_of_row = lambda row: 300.0 + row  # noqa: E731
    probs = section_probs(section, predictor, depth_of_row, overlap=0)
    per_tile = predictor(images[:4], np.array([300.0, 300.0, 401.0, 401.0], np.float32))
    assert np.allclose(probs, np.block([[per_tile[0], per_tile[1]], [per_tile[2], per_tile[3]]]), atol=1e-5)


def test_amplitude_scaling_uses_whole_volume_statistics():
    data = np.random.default_rng(0).normal(0, 1000, (4, 30, 40)).astype(np.float32)
    grey, meta = amplitude_to_grey(data)
    assert grey.dtype == np.uint8 and abs(int(np.median(grey)) - 128) <= 2
    assert meta["clip"] > 0 and "clip" in meta["rule"]
    assert np.array_equal(amplitude_to_grey(grey)[0], grey)


def make_segy(path, shape=(3, 4, 130)):
    rng = np.random.default_rng(0)
    cube = rng.normal(0, 100, shape).astype(np.float32)
    segyio.tools.from_array(str(path), cube)
    return cube


def predict_cli(trained_run, tmp_path, inp, *extra):
    return run_cli("predict.py", f"ckpt={trained_run}", f"input={inp}", f"out={tmp_path / 'out' / 'pred'}",
                   "snapshots=1", f"hydra.run.dir={tmp_path / 'hydra'}", *extra)


def test_segy_volume_round_trip_keeps_geometry_and_stores_float_probabilities(trained_run, tmp_path):
    src = tmp_path / "volume.sgy"
    make_segy(src)
    result = predict_cli(trained_run, tmp_path, src, "predict.depth_origin=0", "predict.depth_step=4",
                         "predict.axis=both")
    assert result.returncode == 0, result.stderr[-3000:]
    probs = np.load(tmp_path / "out" / "pred.probs.npy")
    assert probs.shape == (3, 4, 130) and 0 <= probs.min() and probs.max() <= 1
    with segyio.open(str(src)) as a, segyio.open(str(tmp_path / "out" / "pred.sgy")) as b:
        assert list(a.ilines) == list(b.ilines) and list(a.xlines) == list(b.xlines)
        assert list(a.samples) == list(b.samples) and b.bin[segyio.BinField.Format] == 5
        assert np.allclose(segyio.tools.cube(b), probs, atol=1e-6)
        assert all(a.header[i] == b.header[i] for i in range(a.tracecount))
    meta = json.loads((tmp_path / "out" / "pred.json").read_text())
    assert meta["axis"] == "both" and "clip" in meta["scaling"]["rule"]


def test_a_model_with_depth_refuses_sections_without_depth(trained_run, tmp_path):
    image = tmp_path / "section.png"
    import cv2

    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (150, 260)).astype(np.uint8))
    result = predict_cli(trained_run, tmp_path, image)
    assert result.returncode == 1 and "uses the depth channel" in result.stderr.strip().splitlines()[-1]
    result = predict_cli(trained_run, tmp_path, image, "predict.depth_origin=100", "predict.depth_step=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert np.load(tmp_path / "out" / "pred.probs.npy").shape == (150, 260)
    assert (tmp_path / "out" / "pred.overlay.png").exists()


def test_onnx_export_matches_pytorch(trained_run, predictor, tmp_path, synthetic_root):
    from src.data.datamodule import load_unlabelled
    from src.sections.backends import OnnxBackend

    onnx_path = tmp_path / "model.onnx"
    result = run_cli("export.py", f"ckpt={trained_run}", "snapshots=1", f"out={onnx_path}",
                     f"hydra.run.dir={tmp_path / 'hydra'}")
    assert result.returncode == 0, result.stderr[-3000:]
    _, images, depths = load_unlabelled(synthetic_root)
    onnx_probs = OnnxBackend(onnx_path, tta=True)(images[:6], depths[:6])
    torch_probs = predictor(images[:6], depths[:6])
    assert np.abs(onnx_probs - torch_probs).max() < 1e-3


def test_onnx_export_has_dynamic_batch_and_spatial_axes(trained_run, tmp_path):
    import torch

    from src.tasks.export import export_onnx
    from src.models.checkpoint import load_module
    from src.sections.backends import OnnxBackend

    ckpt = trained_run / "checkpoints" / "last.ckpt"
    onnx_model = OnnxBackend(export_onnx(ckpt, tmp_path / "m.onnx"), tta=False)
    module = load_module(ckpt)
    for batch, size in [(1, 128), (3, 160), (2, 224)]:
        x = torch.randn(batch, 3, size, size)
        with torch.no_grad():
            expected = torch.sigmoid(module(x)).numpy()
        assert np.abs(onnx_model.run(x.numpy()) - expected).max() < 1e-3
