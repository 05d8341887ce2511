"""train.py and infer.py end to end, in subprocesses, as a user runs them."""
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY, run_cli
from src.data import io
from src.data.datamodule import TileDataset
from src.inference.probabilities import predict_probs
from src.models.checkpoint import load_module


def last_line(result):
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def test_train_writes_checkpoints_oof_pictures_and_folds(trained_run):
    for name in ("checkpoints/last.ckpt", "ensemble.yaml", "oof.npz", "folds.csv", "validation.png",
                 "augmentations.png", "curves.png", "logs/metrics.csv", ".hydra/config.yaml"):
        assert (trained_run / name).exists(), name

    oof = np.load(trained_run / "oof.npz")
    folds = pd.read_csv(trained_run / "folds.csv", dtype={"id": str})
    assert sorted(oof["ids"]) == sorted(folds.loc[folds.fold == 0, "id"])
    assert oof["probs"].shape == (len(oof["ids"]), 101, 101)


def test_infer_writes_a_submission_for_every_test_id(trained_run, synthetic_root, tmp_path):
    out = tmp_path / "submission.csv"
    result = run_cli("infer.py", f"ckpt={trained_run}", f"out={out}", f"hydra.run.dir={tmp_path / 'infer'}",
                     "save_probs=true")
    assert result.returncode == 0, result.stderr[-3000:]
    sub = pd.read_csv(out, dtype={"id": str}, keep_default_na=False)
    expected = pd.read_csv(synthetic_root / "sample_submission.csv", dtype={"id": str})
    assert list(sub.columns) == ["id", "rle_mask"] and sorted(sub.id) == sorted(expected.id)
    assert (tmp_path / "submission.probs.npy").exists()


def test_train_and_infer_on_real_tgs(shared_tgs, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train.py", f"data.root={shared_tgs}", "data.subset=120", *TINY, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "checkpoints" / "last.ckpt").exists() and (run_dir / "oof.npz").exists()
    # inference needs only test/images and depths.csv
    test_root = tmp_path / "test_only"
    (test_root / "test" / "images").mkdir(parents=True)
    test_ids = sorted(p.stem for p in (shared_tgs / "test" / "images").glob("*.png"))[:16]
    for tile_id in test_ids:
        shutil.copy(shared_tgs / "test" / "images" / f"{tile_id}.png", test_root / "test" / "images")
    shutil.copy(shared_tgs / "depths.csv", test_root)
    out = tmp_path / "sub.csv"
    result = run_cli("infer.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", f"data.root={test_root}",
                     f"out={out}", f"hydra.run.dir={tmp_path / 'infer'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(pd.read_csv(out, dtype={"id": str}).id) == test_ids


def test_resume_continues_on_the_second_loss_phase(trained_run, synthetic_root, tmp_path):
    run_dir = tmp_path / "resumed"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "trainer.max_epochs=2", "loss=seed",
                     "loss.switch_epoch=1", f"resume={trained_run / 'checkpoints' / 'last.ckpt'}",
                     f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = pd.read_csv(run_dir / "logs" / "metrics.csv")
    phases = metrics.dropna(subset=["train/loss_phase"])
    assert phases.epoch.tolist() == [1] and phases["train/loss_phase"].tolist() == [1.0]
    assert "loss phase 1" in (run_dir / "train.log").read_text()


@pytest.mark.parametrize("make_ckpt, message", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b"not a checkpoint"), "cannot be read"),
    (lambda p: torch.save({"state_dict": {}}, p), "not written by this project"),
])
def test_bad_checkpoint_is_one_clear_line(tmp_path, synthetic_root, make_ckpt, message):
    ckpt = tmp_path / "model.ckpt"
    make_ckpt(ckpt)
    out = tmp_path / "sub.csv"
    result = run_cli("infer.py", f"ckpt={ckpt}", f"data.root={synthetic_root}", f"out={out}",
                     f"hydra.run.dir={tmp_path / 'infer'}")
    assert result.returncode == 1 and message in last_line(result) and last_line(result).startswith("error:")
    assert not out.exists()


def test_missing_data_folder_is_one_clear_line(tmp_path):
    result = run_cli("train.py", f"data.root={tmp_path / 'nowhere'}", *TINY, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert last_line(result).startswith("error: data folder") and "nowhere" in last_line(result)


def test_fold_out_of_range_is_one_clear_line(tmp_path, synthetic_root):
    result = run_cli("train.py", f"data.root={synthetic_root}", "fold=7", *TINY, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1 and "fold=7 is out of range" in last_line(result)


@pytest.mark.parametrize("budget", ["30min", "30", "00:30:00:00:00"])
def test_malformed_time_budget_is_one_clear_line(tmp_path, synthetic_root, budget):
    result = run_cli("train.py", f"data.root={synthetic_root}", f"trainer.max_time={budget}", *TINY,
                     f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1
    assert last_line(result).startswith(f"error: trainer.max_time={budget} is not") and "DD:HH:MM:SS" in last_line(result)


def test_weight_averaged_ensemble_is_trained_evaluated_and_used_by_infer(synthetic_root, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "trainer.max_epochs=2",
                     "ensemble.mode=weights", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    averaged = load_module(run_dir / "checkpoints" / "weight_average.ckpt")
    oof = np.load(run_dir / "oof.npz")
    assert int(oof["n_snapshots"]) == 1  # one averaged network
    ids = list(oof["ids"])  # the out-of-fold predictions are the averaged network's, not the best snapshot's
    images = io.read_images(synthetic_root / "train" / "images", ids)
    depths = io.depths_for(ids, io.read_depths(synthetic_root), synthetic_root)
    probs = predict_probs([(averaged, 1.0)], TileDataset(images, depths, averaged.preprocess), tta=False)
    assert oof["probs"].dtype == np.float32  # what inference produces, not float16 (0.5002 would become 0.5)
    np.testing.assert_allclose(oof["probs"], probs, atol=1e-6, rtol=0)
    out = tmp_path / "sub.csv"
    result = run_cli("infer.py", f"ckpt={run_dir}", f"out={out}", f"hydra.run.dir={tmp_path / 'infer'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ensembling 1 networks" in result.stdout + result.stderr and out.exists()


def test_infer_from_a_checkpoint_file_finds_its_run_data_root(trained_run, synthetic_root, tmp_path):
    out = tmp_path / "sub.csv"
    result = run_cli("infer.py", f"ckpt={trained_run / 'checkpoints' / 'last.ckpt'}", f"out={out}", "tta=none",
                     f"hydra.run.dir={tmp_path / 'infer'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(pd.read_csv(out)) == 12


def test_a_time_budget_stops_training_inside_the_first_epoch_and_keeps_a_snapshot(synthetic_root, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "trainer.max_epochs=50", "batch_size=1",
                     "++trainer.limit_train_batches=1.0", "trainer.max_time=00:00:00:01", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert 0 < state["global_step"] < 32  # inside the first epoch: 32 training tiles / batch 1 (~14 steps a second)
    assert list((run_dir / "checkpoints").glob("snapshot-*.ckpt")) and (run_dir / "ensemble.yaml").exists()


def trained_weights(synthetic_root, run_dir, *overrides):
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "++trainer.limit_train_batches=3",
                     "trainer.deterministic=true", "aug=seed", *overrides, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.parametrize("workers", [0, 2])
def test_the_same_seed_trains_the_same_weights_and_another_seed_other_ones(synthetic_root, tmp_path, workers):
    first = trained_weights(synthetic_root, tmp_path / "a", f"data.num_workers={workers}")
    again = trained_weights(synthetic_root, tmp_path / "b", f"data.num_workers={workers}")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert (tmp_path / "a" / "folds.csv").read_text() == (tmp_path / "b" / "folds.csv").read_text()
    other = trained_weights(synthetic_root, tmp_path / "c", f"data.num_workers={workers}", "seed=43")
    assert any(not torch.equal(first[k], other[k]) for k in first if first[k].is_floating_point())


def test_ddp_on_cpu_trains_in_two_processes_and_evaluates_once_on_rank_zero(synthetic_root, tmp_path):
    run_dir = tmp_path / "ddp"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "trainer=ddp_cpu", "trainer.max_epochs=2",
                     "++trainer.limit_train_batches=1.0", "ensemble.mode=weights", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 2 * 4  # 32 training tiles over 2 processes of batch 4: 4 steps an epoch
    assert len(list(tmp_path.rglob("ensemble.yaml"))) == 1 and len(list(tmp_path.rglob("oof.npz"))) == 1
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt"):
        load_module(ckpt)
    rank0, rank1 = (run_dir / "train.log").read_text(), (run_dir / "train_ddp_process_1.log").read_text()
    for line in ("averaged 2 snapshots", "out-of-fold val/map"):
        assert rank0.count(line) == 1 and line not in rank1


def test_ddp_inside_a_local_sweep_is_one_clear_line(synthetic_root, tmp_path):
    result = run_cli("train.py", "-m", "fold=0", f"data.root={synthetic_root}", *TINY, "trainer=ddp_cpu",
                     f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 1
    assert last_line(result).startswith("error: trainer.strategy=ddp cannot run inside a -m sweep here")
    assert not list(tmp_path.rglob("*.ckpt"))
