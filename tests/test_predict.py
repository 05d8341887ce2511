"""The predict task, run in this process: SEG-Y volumes keep their geometry and headers, sections get their
pictures; a model with the depth channel needs the section's depths (its refusal is in test_cli)."""

import json
import logging

import cv2
import numpy as np
import onnx
import pytest
import segyio
from omegaconf import OmegaConf

from conftest import compose_config, run_task
from src.ensemble.members import plan_ensemble
from src.inference.backends import OnnxBackend
from src.inference.calibration import run_temperature
from src.inference.onnx import MEMBER_WEIGHTS_KEY, export_onnx
from src.tasks.predict import choose_temperatures, predict
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder, tuned_postproc


def make_segy(path, shape=(3, 4, 130)):
    rng = np.random.default_rng(0)
    cube = rng.normal(0, 100, shape).astype(np.float32)
    segyio.tools.from_array(str(path), cube)
    return cube


def run_predict(trained_run, tmp_path, inp, *extra):
    cfg = compose_config(
        "predict",
        f"ckpt={trained_run}",
        f"input={inp}",
        f"out={tmp_path / 'out' / 'pred'}",
        "snapshots=1",
        *extra,
        run_dir=tmp_path / "hydra",
    )
    return run_task(predict, cfg)


def test_segy_volume_round_trip_keeps_geometry_and_stores_float_probabilities(trained_run, tmp_path):
    src = tmp_path / "volume.sgy"
    make_segy(src)
    run_predict(trained_run, tmp_path, src, "predict.depth_origin=0", "predict.depth_step=4", "predict.axis=both")
    probs = np.load(tmp_path / "out" / "pred.probs.npy")
    assert probs.shape == (3, 4, 130) and 0 <= probs.min() and probs.max() <= 1
    with segyio.open(str(src)) as a, segyio.open(str(tmp_path / "out" / "pred.sgy")) as b:
        assert list(a.ilines) == list(b.ilines) and list(a.xlines) == list(b.xlines)
        assert list(a.samples) == list(b.samples) and b.bin[segyio.BinField.Format] == 5
        assert np.allclose(segyio.tools.cube(b), probs, atol=1e-6)
        assert all(a.header[i] == b.header[i] for i in range(a.tracecount))
    meta = json.loads((tmp_path / "out" / "pred.json").read_text())
    assert meta["axis"] == "both" and "clip" in meta["scaling"]["rule"]


def test_a_section_image_gets_probabilities_and_pictures(trained_run, tmp_path):
    image = tmp_path / "section.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (150, 260)).astype(np.uint8))
    run_predict(trained_run, tmp_path, image, "predict.depth_origin=100", "predict.depth_step=2")
    assert np.load(tmp_path / "out" / "pred.probs.npy").shape == (150, 260)
    assert (tmp_path / "out" / "pred.overlay.png").exists() and (tmp_path / "out" / "pred.probs.png").exists()


def test_a_volume_gets_its_uncertainty_beside_the_probabilities_and_a_temperature_only_softens(
    trained_run, tmp_path, caplog
):
    src = tmp_path / "volume.sgy"
    make_segy(src, shape=(2, 3, 130))
    depth = ["predict.depth_origin=0", "predict.depth_step=4"]
    caplog.set_level(logging.WARNING)
    run_predict(trained_run, tmp_path, src, *depth)
    assert "is one network: its uncertainty is only what its 2 TTA view(s) disagree on;" in caplog.text
    out = tmp_path / "out"
    probs, mask = np.load(out / "pred.probs.npy"), np.load(out / "pred.mask.npy")
    uncertainty = np.load(out / "pred.uncertainty.npy")
    assert uncertainty.shape == probs.shape and 0 <= uncertainty.min() and 0 < uncertainty.max() <= 1
    assert (out / "pred.preview.png").stat().st_size > 0  # the inline with the most salt, with its uncertainty
    with segyio.open(str(out / "pred.uncertainty.sgy")) as written:
        assert np.allclose(segyio.tools.cube(written), uncertainty, atol=1e-6)
    meta = json.loads((out / "pred.json").read_text())
    assert meta["temperature"] == 1.0 and "none tuned" in meta["temperatures"][0]["from"]
    assert meta["uncertainty_of"] == "the views' probabilities as trained (before calibration)"
    assert meta["uncertainty"] == "mutual information, bits, of 1 network(s) x 2 TTA view(s)"
    run_predict(trained_run, tmp_path, src, *depth, "predict.temperature=3", "predict.uncertainty=false")
    softened = np.load(out / "pred.probs.npy")
    assert np.array_equal(np.load(out / "pred.mask.npy"), mask)  # no probability crosses 0.5
    assert (np.abs(softened - 0.5) <= np.abs(probs - 0.5) + 1e-6).all() and not np.allclose(softened, probs)
    assert json.loads((out / "pred.json").read_text())["uncertainty"] is None
    assert np.array_equal(np.load(out / "pred.uncertainty.npy"), uncertainty)  # not written again


def test_smoothing_across_lines_averages_the_predicted_inlines(trained_run, tmp_path):
    src = tmp_path / "volume.sgy"
    make_segy(src, shape=(4, 3, 130))
    depth = ["predict.depth_origin=0", "predict.depth_step=4", "predict.uncertainty=false"]
    run_predict(trained_run, tmp_path, src, *depth)
    raw = np.load(tmp_path / "out" / "pred.probs.npy")
    run_predict(trained_run, tmp_path, src, *depth, "predict.smooth_lines=1")
    smoothed = np.load(tmp_path / "out" / "pred.probs.npy")
    w = np.exp(-2.0)  # the weight of a neighbour at radius 1 (sigma 0.5)
    assert np.allclose(smoothed[1], (w * raw[0] + raw[1] + w * raw[2]) / (1 + 2 * w), atol=1e-5)
    assert np.allclose(smoothed[0], (raw[0] + w * raw[1]) / (1 + w), atol=1e-5)
    assert np.array_equal(np.load(tmp_path / "out" / "pred.mask.npy"), smoothed > 0.5)


def test_a_graph_exported_before_member_outputs_still_predicts_without_uncertainty(trained_run, tmp_path, caplog):
    graph = onnx.load(str(export_onnx(plan_ensemble(trained_run / "checkpoints" / "last.ckpt"), tmp_path / "new.onnx")))
    kept = [o for o in graph.graph.output if o.name == "probs"]
    del graph.graph.output[:]
    graph.graph.output.extend(kept)  # as export.py wrote it before member_probs
    props = [p for p in graph.metadata_props if p.key != MEMBER_WEIGHTS_KEY]
    del graph.metadata_props[:]
    graph.metadata_props.extend(props)
    old = tmp_path / "old.onnx"
    onnx.save(graph, str(old))
    backend = OnnxBackend(old)
    assert not backend.has_views
    with pytest.raises(UserError, match="export it again with export.py"):
        backend.views(np.zeros((1, 101, 101), np.uint8), np.zeros(1, np.float32))
    image = tmp_path / "section.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (110, 130)).astype(np.uint8))
    caplog.set_level(logging.WARNING)
    cfg = compose_config(
        "predict",
        f"ckpt={old}",
        f"input={image}",
        f"out={tmp_path / 'out' / 'pred'}",
        "predict.depth_origin=100",
        "predict.depth_step=2",
        run_dir=tmp_path / "hydra",
    )
    run_task(predict, cfg)
    assert "no uncertainty written" in caplog.text
    assert (tmp_path / "out" / "pred.probs.npy").exists() and not (tmp_path / "out" / "pred.uncertainty.npy").exists()


def test_each_runs_temperature_comes_from_the_tuned_postproc_yaml_and_a_bad_one_is_one_clear_error(tmp_path):
    sweep = tmp_path / "multirun"
    runs = [RunFolder(sweep / name) for name in ("fold0_0", "fold1_1")]
    for run in runs:
        run.path.mkdir(parents=True)
    tuned, file = tuned_postproc(sweep)
    assert tuned is None and run_temperature(runs[0], tuned, file) == (1.0, "none tuned (tune.py fits one)")
    (runs[1].path / "postproc.yaml").write_text("threshold: 0.5\ntemperature: 0.25\n")  # fold 1 tuned alone
    assert run_temperature(runs[1], tuned, file) == (0.25, str(runs[1].path / "postproc.yaml"))
    (sweep / "postproc.yaml").write_text("temperatures: {fold0_0: 2.0, fold1_1: 0.5}\n")  # the multirun tuned
    tuned, file = tuned_postproc(sweep)
    assert [run_temperature(run, tuned, file) for run in runs] == [(2.0, str(file)), (0.5, str(file))]
    (sweep / "postproc.yaml").write_text("temperatures: {fold0_0: warm}\n")
    with pytest.raises(UserError, match=r"postproc.yaml holds temperature='warm', not a number above 0"):
        run_temperature(runs[0], *tuned_postproc(sweep))
    cfg = OmegaConf.create({"ckpt": str(sweep), "predict": {"temperature": 2}})
    assert choose_temperatures(cfg, 2) == [{"run": None, "temperature": 2.0, "from": "predict.temperature"}] * 2
    cfg.predict.temperature = True
    with pytest.raises(UserError, match="predict.temperature=True: use auto or a number above 0"):
        choose_temperatures(cfg, 2)


def test_the_mask_does_not_depend_on_the_temperature_even_with_smoothing(trained_run, tmp_path):
    """Calibration is applied to what is written, never to what the mask is decided on: smoothing calibrated
    lines (0.99 / 0.45 / 0.99 -> 0.565 at T=1, 0.480 at T=0.3) used to move the mask. The threshold sits at the
    median probability, so the tiny network's mask holds salt and no-salt alike."""
    src = tmp_path / "volume.sgy"
    make_segy(src, shape=(5, 3, 130))
    settings = ["predict.depth_origin=0", "predict.depth_step=4", "predict.uncertainty=false", "predict.smooth_lines=1"]
    run_predict(trained_run, tmp_path, src, *settings)
    threshold = float(np.median(np.load(tmp_path / "out" / "pred.probs.npy")))
    masks, probs = [], []
    for temperature in (0.3, 1, 3):
        run_predict(
            trained_run, tmp_path, src, *settings, f"threshold={threshold}", f"predict.temperature={temperature}"
        )
        masks.append(np.load(tmp_path / "out" / "pred.mask.npy"))
        probs.append(np.load(tmp_path / "out" / "pred.probs.npy"))
        meta = json.loads((tmp_path / "out" / "pred.json").read_text())
        assert meta["temperature"] == temperature
        assert ("mask is decided on the probabilities as trained" in meta["calibration"]) == (temperature != 1)
    assert 0.3 < masks[1].mean() < 0.7 and all(np.array_equal(mask, masks[1]) for mask in masks)
    assert np.array_equal(masks[1], probs[1] > threshold)  # uncalibrated: the written probabilities at the threshold
    assert not np.allclose(probs[0], probs[1]) and not np.allclose(probs[2], probs[1])
