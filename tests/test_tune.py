"""The tune task on a two-fold multirun trained in parallel processes by Hydra's joblib launcher: the grid
search saves postproc.yaml, which infer.py then uses; a Hydra sweep returns each setting and a summary."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import compose_config, run_cli, run_task
from src.inference.calibration import oof_pixels
from src.inference.postproc import postprocess_batch
from src.inference.tuning import gather_oof
from src.metrics.calibration import apply_temperature, expected_calibration_error
from src.metrics.kaggle_map import kaggle_map
from src.tasks.infer import infer
from src.tasks.predict import predict
from src.tasks.tune import tune
from src.utils.run_folder import RunFolder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_fold_multirun(tmp_path_factory, synthetic_root):
    """Two folds trained in parallel processes by Hydra's joblib launcher."""
    sweep = tmp_path_factory.mktemp("multirun")
    result = run_cli(
        "train.py",
        "-m",
        "fold=0,1",
        "data.n_folds=2",
        f"data.root={synthetic_root}",
        "debug=tiny",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2,backend=loky,prefer=processes" in result.stdout + result.stderr
    assert sorted(p.name for p in sweep.glob("fold*")) == ["fold0_0", "fold1_1"]
    summary = pd.read_csv(sweep / "runs_summary.csv")  # the multirun ends with each fold's out-of-fold score
    assert summary.fold.tolist() == [0, 1] and summary.tiles.sum() == 40
    assert f"2 run(s) in {sweep}: mean out-of-fold val/map {summary['map'].mean():.4f}" in result.stdout
    return sweep


def test_tune_then_infer_on_a_two_fold_multirun(two_fold_multirun, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run_task(tune, compose_config("tune", f"run={two_fold_multirun}", run_dir=tmp_path / "tune"))
    tuned = yaml.safe_load((two_fold_multirun / "postproc.yaml").read_text())
    assert tuned["n_tiles"] == 40 and (two_fold_multirun / "tuning.png").exists()
    assert (two_fold_multirun / "calibration.png").exists() and "temperature" not in tuned  # one per fold instead
    assert sorted(tuned["temperatures"]) == ["fold0_0", "fold1_1"] and min(tuned["temperatures"].values()) > 0
    for name, temperature in tuned["temperatures"].items():  # kept only where it lowers that fold's own ECE
        p, t = oof_pixels(RunFolder(two_fold_multirun / name))
        if temperature != 1.0:
            assert expected_calibration_error(apply_temperature(p, temperature), t) < expected_calibration_error(p, t)
    out = tmp_path / "sub.csv"
    run_task(
        infer,
        compose_config(
            "infer", f"ckpt={two_fold_multirun}", f"out={out}", "postproc.min_mask=7", run_dir=tmp_path / "infer"
        ),
    )
    assert "from 2 runs" in caplog.text and f"'threshold': {tuned['threshold']}" in caplog.text
    assert "'min_mask': 7" in caplog.text and len(pd.read_csv(out)) == 12
    ids, probs, truth, valid = gather_oof(two_fold_multirun)  # the estimate is of the setting used, min_mask 7
    used = {k: tuned[k] for k in ("threshold", "min_component", "fill_holes")} | {"min_mask": 7}
    estimate = kaggle_map(postprocess_batch(probs, **used), truth, valid)
    assert f"out-of-fold estimate of the score with this post-processing: {estimate:.4f} over 40 tiles" in caplog.text


def test_tune_sweep_returns_each_setting_and_summarises(two_fold_multirun, tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "tune.py", "-m", f"run={two_fold_multirun}", "postproc.threshold=0.4,0.6", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(summary.threshold) == [0.4, 0.6] and summary["map"].between(0, 1).all()


def test_predict_calibrates_each_fold_by_its_own_temperature(two_fold_multirun, tmp_path):
    (two_fold_multirun / "postproc.yaml").write_text("temperatures: {fold0_0: 2.0, fold1_1: 0.5}\n")
    section = tmp_path / "section.npy"
    np.save(section, np.random.default_rng(0).normal(0, 1, (130, 150)).astype(np.float32))
    out = tmp_path / "out" / "pred"

    def predicted(temperature):
        overrides = ["predict.depth_origin=0", "predict.depth_step=4", f"predict.temperature={temperature}"]
        cfg = compose_config(
            "predict", f"ckpt={two_fold_multirun}", f"input={section}", f"out={out}", *overrides, run_dir=tmp_path
        )
        run_task(predict, cfg)
        meta = json.loads((out.parent / "pred.json").read_text())
        return np.load(out.parent / "pred.probs.npy"), np.load(out.parent / "pred.mask.npy"), meta

    raw, raw_mask, _ = predicted(1)
    calibrated, mask, meta = predicted("auto")
    assert meta["temperature"] is None  # the members' temperatures differ
    assert [(t["run"], t["temperature"]) for t in meta["temperatures"]] == [("fold0_0", 2.0), ("fold1_1", 0.5)]
    assert np.array_equal(mask, raw_mask) and not np.allclose(calibrated, raw)
