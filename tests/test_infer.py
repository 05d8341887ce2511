"""The infer task, run in this process: a submission for every test tile, the networks and post-processing
that `ckpt=` and `snapshots=` stand for, and where that post-processing came from."""

import logging
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import compose_config, run_task, train_run
from src.ensemble.spec import read_ensemble
from src.tasks.infer import infer
from src.utils.run_folder import RunFolder


def run_infer(tmp_path, *overrides):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "submission.csv"
    run_task(infer, compose_config("infer", f"out={out}", *overrides, run_dir=tmp_path / "infer"))
    return pd.read_csv(out, dtype={"id": str}, keep_default_na=False)


def test_infer_writes_a_submission_for_every_test_id(trained_run, synthetic_root, tmp_path):
    sub = run_infer(tmp_path, f"ckpt={trained_run}", "save_probs=true")
    expected = pd.read_csv(synthetic_root / "sample_submission.csv", dtype={"id": str})
    assert list(sub.columns) == ["id", "rle_mask"] and sorted(sub.id) == sorted(expected.id)
    assert (tmp_path / "submission.probs.npy").exists()


def test_infer_from_a_checkpoint_file_finds_its_run_data_root(trained_run, tmp_path):
    assert len(run_infer(tmp_path, f"ckpt={trained_run / 'checkpoints' / 'last.ckpt'}", "tta=none")) == 12


def test_the_onnx_backend_gives_pytorchs_probabilities_and_keeps_its_graph(trained_run, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    by_torch = run_infer(tmp_path / "torch", f"ckpt={run}", "backend=torch", "save_probs=true")
    by_onnx = run_infer(tmp_path / "onnx", f"ckpt={run}", "backend=auto", "save_probs=true")  # the CPU: ONNX
    assert "Onnx backend" in caplog.text and (run / "ensemble.onnx").exists()
    assert by_onnx.equals(by_torch)
    np.testing.assert_allclose(
        np.load(tmp_path / "onnx" / "submission.probs.npy"),
        np.load(tmp_path / "torch" / "submission.probs.npy"),
        atol=1e-5,
        rtol=0,
    )
    made = (run / "ensemble.onnx").stat().st_mtime_ns
    run_infer(tmp_path / "again", f"ckpt={run}", "backend=onnx")
    assert (run / "ensemble.onnx").stat().st_mtime_ns == made  # exported once, kept
    newer = (run / "ensemble.onnx").stat().st_mtime + 10
    for ckpt in (run / "checkpoints").glob("*.ckpt"):
        os.utime(ckpt, (newer, newer))  # newer files, the same networks: the graph still stands for them
    run_infer(tmp_path / "touched", f"ckpt={run}", "backend=onnx")
    assert (run / "ensemble.onnx").stat().st_mtime_ns == made
    # what changes the graph's inputs is tested in tests/test_caches.py


@pytest.fixture(scope="module")
def three_snapshot_run(tmp_path_factory, synthetic_root):
    return train_run(
        tmp_path_factory.mktemp("snapshots") / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=3",
        "ensemble.top_k=3",
        "ensemble.mode=weights",
    )


def test_a_checkpoint_file_uses_its_runs_tuned_postproc_and_says_so(three_snapshot_run, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    shutil.copytree(three_snapshot_run, run, ignore=shutil.ignore_patterns("weight_average_top*"))
    (run / "postproc.yaml").write_text(
        yaml.safe_dump({"threshold": 0.37, "min_component": 0, "min_mask": 5, "fill_holes": 0})
    )
    best = read_ensemble(RunFolder(run))[1][0][0]
    run_infer(tmp_path, f"ckpt={best}", "postproc.min_mask=9")
    assert "'threshold': 0.37" in caplog.text and "'min_mask': 9" in caplog.text
    assert (
        f"tuned on out-of-fold predictions, from {run / 'postproc.yaml'}; min_mask from the command line" in caplog.text
    )


def test_snapshots_n_averages_the_best_n_in_weights_mode_with_the_default_postproc(
    three_snapshot_run, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    shutil.copytree(three_snapshot_run, run, ignore=shutil.ignore_patterns("weight_average_top*"))
    assert len(run_infer(tmp_path, f"ckpt={run}", "snapshots=2")) == 12
    assert "ensembling 1 network (2 snapshots) from 1 run" in caplog.text
    assert "averaging the best 2 snapshots" in caplog.text
    assert "post-processing {'threshold': 0.5" in caplog.text and "the defaults (no postproc.yaml" in caplog.text


@pytest.mark.real_data
def test_infer_needs_only_test_images_and_depths(shared_tgs, trained_run, tmp_path):
    test_root = tmp_path / "test_only"
    (test_root / "test" / "images").mkdir(parents=True)
    test_ids = sorted(p.stem for p in (shared_tgs / "test" / "images").glob("*.png"))[:16]
    for tile_id in test_ids:
        shutil.copy(shared_tgs / "test" / "images" / f"{tile_id}.png", test_root / "test" / "images")
    shutil.copy(shared_tgs / "depths.csv", test_root)
    sub = run_infer(tmp_path, f"ckpt={trained_run / 'checkpoints' / 'last.ckpt'}", f"data.root={test_root}")
    assert sorted(sub.id) == test_ids
