"""The train task, run in this process under debug=tiny: what a run folder holds, resume, time budgets,
repeatability, the weight-averaged ensemble."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
import yaml

from conftest import train_run, validated_epochs
from src.data import io
from src.ensemble.members import resolve_members
from src.ensemble.spec import read_ensemble
from src.inference.backends import predict_tiles
from src.models.checkpoint import load_module
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder


def test_train_writes_checkpoints_oof_pictures_and_folds(trained_run):
    for name in (
        "checkpoints/last.ckpt",
        "ensemble.yaml",
        "oof.npz",
        "folds.csv",
        "validation.png",
        "augmentations.png",
        "curves.png",
        "logs/metrics.csv",
    ):
        assert (trained_run / name).exists(), name
    oof = np.load(trained_run / "oof.npz")
    folds = pd.read_csv(trained_run / "folds.csv", dtype={"id": str})
    assert sorted(oof["ids"]) == sorted(folds.loc[folds.fold == 0, "id"])
    assert oof["probs"].shape == (len(oof["ids"]), 101, 101)


def test_resume_continues_on_the_second_loss_phase(trained_run, synthetic_root, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run_dir = train_run(
        tmp_path / "resumed",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=2",
        "loss=seed",
        "loss.switch_epoch=1",
        f"resume={trained_run / 'checkpoints' / 'last.ckpt'}",
    )
    metrics = pd.read_csv(run_dir / "logs" / "metrics.csv")
    phases = metrics.dropna(subset=["train/loss_phase"])
    assert phases.epoch.tolist() == [1] and phases["train/loss_phase"].tolist() == [1.0]
    assert "epoch 1, step 2: loss phase 1" in caplog.text


def clock(seconds, step=1.0, validation=0.0):
    """Overrides for a time budget of `seconds` on a clock the test drives (conftest.VirtualClock)."""
    return [
        "+callbacks.clock._target_=conftest.VirtualClock",
        f"+callbacks.clock.seconds={seconds}",
        f"+callbacks.clock.step_seconds={step}",
        f"+callbacks.clock.validation_seconds={validation}",
    ]


def test_a_time_budget_stops_training_inside_the_first_epoch_and_keeps_a_snapshot(synthetic_root, tmp_path):
    run_dir = train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=50",
        "batch_size=1",
        "trainer.limit_train_batches=1.0",
        *clock(10),
    )
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 10  # 10 one-second steps of an epoch of 32 (32 training tiles, batch 1)
    assert list((run_dir / "checkpoints").glob("snapshot-*.ckpt")) and (run_dir / "ensemble.yaml").exists()


def test_the_time_budget_keeps_back_the_work_after_training(synthetic_root, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run_dir = train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=1000",
        "trainer.precision=32-true",
        *clock(100, step=1, validation=4),
    )
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    # Epochs of 2 one-second steps and a 4-second validation of 8 tiles (0.5 s a tile). Kept back: 1.5 epoch ends
    # (6 s) and the 48 tiles predicted after training (32 for BatchNorm, 8 by the best snapshot and 8 by the
    # ensemble) at 1.25 validation tiles each in fp32: 30 s. Training stops at the first step past 100 - 36 = 64 s:
    # step 23, at 67 s; its last validation ends at 71 s.
    assert state["global_step"] == 23
    assert "the time budget ended training at 71 s of the time budget; 30 s kept back for 48 tiles" in caplog.text
    summary = caplog.text.strip().splitlines()[-1]  # the task's last line says what was trained, how well, where
    assert "train task: fold 0, " in summary and "out-of-fold mAP 0." in summary and str(run_dir) in summary
    assert "is too small for this run" not in caplog.text


def test_the_log_names_the_limit_that_ended_training_and_says_each_epoch_in_a_line(
    synthetic_root, tmp_path, caplog, recwarn
):
    caplog.set_level(logging.INFO)
    train_run(tmp_path / "run", f"data.root={synthetic_root}", "trainer.max_epochs=2", *clock(1000))
    assert "trainer.max_epochs=2 ended training at " in caplog.text and "time budget ended" not in caplog.text
    epochs = [r.getMessage() for r in caplog.records if r.name == "src.callbacks.epoch_lines"]  # not a terminal
    assert [m.split(":")[0] for m in epochs] == ["epoch 1/2", "epoch 2/2"] and all("val/map" in m for m in epochs)
    # an epoch of 2 batches logs within itself, so Lightning has no logging interval to warn of
    assert not [w for w in recwarn if "log_every_n_steps" in str(w.message)]


def test_a_budget_too_small_for_the_work_after_training_is_said_at_the_first_validation(
    synthetic_root, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=1000",
        "trainer.precision=32-true",
        *clock(50, step=1, validation=4),
    )  # the same 30 s after training as above, of a 50 s budget
    assert (
        "trainer.max_time (50 s) is too small for this run: the work after training (48 tiles, about 30 s here "
        "at 500.0 ms a validation tile) takes 60% of it; trainer.max_time of at least 60 s leaves training half"
    ) in caplog.text
    assert caplog.text.count("is too small for this run") == 1  # said once, at the first validation


@pytest.mark.parametrize("stop", [["+trainer.max_steps=6"], clock(6)])
def test_a_run_stopped_between_sparse_validations_still_validates_and_keeps_a_snapshot(synthetic_root, tmp_path, stop):
    run_dir = train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.limit_train_batches=4",
        "trainer.max_epochs=10",
        "ensemble.stretch=0.3",
        "callbacks.early_validation.every=3",
        *stop,
    )
    # 6 steps of epochs of 4: epoch 0 ends before the stretch (4/6 spent) and skips validation; the run stops at
    # step 6, in the middle of epoch 1, which the every-3rd-epoch rule would skip too
    assert validated_epochs(run_dir) == [1]
    assert (run_dir / "ensemble.yaml").exists() and (run_dir / "oof.npz").exists()


def test_a_budget_with_no_end_is_one_clear_error(synthetic_root, tmp_path):
    with pytest.raises(
        UserError,
        match="trainer.max_epochs=-1 .* gives the training budget no end, which "
        "scheduler=budget, loss.switch_at, ensemble.stretch<1 follow",
    ):
        train_run(
            tmp_path / "run",
            f"data.root={synthetic_root}",
            "experiment=cpu_fast",
            "trainer.max_epochs=-1",
            "trainer.max_time=null",
        )
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_resume_into_a_new_run_folder_keeps_the_earlier_snapshots(synthetic_root, tmp_path):
    plan = [f"data.root={synthetic_root}", "trainer.max_epochs=4", "ensemble.top_k=4"]
    first = train_run(
        tmp_path / "first", *plan, "+callbacks.stop._target_=conftest.StopAfterEpoch", "+callbacks.stop.epoch=1"
    )
    rest = train_run(tmp_path / "rest", *plan, f"resume={first / 'checkpoints' / 'last.ckpt'}")
    _, members = read_ensemble(RunFolder(rest))
    assert sorted(p.name[:12] for p, _ in members) == [f"snapshot-00{e}" for e in range(4)]
    assert all(p.parent == rest / "checkpoints" and p.is_file() for p, _ in members)


def trained_weights(synthetic_root, run_dir, *overrides):
    train_run(
        run_dir,
        f"data.root={synthetic_root}",
        "trainer.limit_train_batches=3",
        "trainer.deterministic=true",
        "aug=seed",
        *overrides,
    )
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.parametrize("workers", [0, 2])
def test_the_same_seed_trains_the_same_weights_and_another_seed_other_ones(synthetic_root, tmp_path, workers):
    first = trained_weights(synthetic_root, tmp_path / "a", f"data.num_workers={workers}")
    again = trained_weights(synthetic_root, tmp_path / "b", f"data.num_workers={workers}")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert (tmp_path / "a" / "folds.csv").read_text() == (tmp_path / "b" / "folds.csv").read_text()
    other = trained_weights(synthetic_root, tmp_path / "c", f"data.num_workers={workers}", "seed=43")
    assert any(not torch.equal(first[k], other[k]) for k in first if first[k].is_floating_point())


def test_the_out_of_fold_predictions_are_those_of_the_network_the_run_uses(synthetic_root, tmp_path):
    run_dir = train_run(
        tmp_path / "run", f"data.root={synthetic_root}", "trainer.max_epochs=2", "ensemble.mode=weights"
    )
    oof = np.load(run_dir / "oof.npz")
    assert int(oof["n_networks"]) == 1  # weights mode: the snapshots are one averaged network
    assert int(oof["n_snapshots"]) == len(read_ensemble(RunFolder(run_dir))[1])  # counted as snapshots still
    ((used, _),) = resolve_members(run_dir)[0]  # the weight average, or the best snapshot where that scored better
    expected = (
        "weight_average.ckpt" if str(oof["used"]) == "ensemble" else read_ensemble(RunFolder(run_dir))[1][0][0].name
    )
    assert used.name == expected
    ids = list(oof["ids"])  # the out-of-fold predictions are the network infer.py will use
    images = io.read_images(synthetic_root / "train" / "images", ids)
    depths = io.depths_for(ids, io.read_depths(synthetic_root), synthetic_root)
    probs = predict_tiles([(load_module(used), 1.0)], images, depths, tta=False)
    assert oof["probs"].dtype == np.float32  # what inference produces, not float16 (0.5002 would become 0.5)
    np.testing.assert_allclose(oof["probs"], probs, atol=1e-6, rtol=0)


@pytest.mark.real_data
def test_train_on_real_tgs(shared_tgs, tmp_path):
    run_dir = train_run(tmp_path / "run", f"data.root={shared_tgs}", "data.max_tiles=120")
    assert (run_dir / "checkpoints" / "last.ckpt").exists() and (run_dir / "oof.npz").exists()
    assert len(np.load(run_dir / "oof.npz")["ids"]) == 24  # fold 0 of 120 tiles


def test_tensorboard_logs_the_scalars_and_pictures_beside_the_csv_log(synthetic_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = train_run(tmp_path / "run", f"data.root={synthetic_root}", "logger=tensorboard")
    assert (run_dir / "logs" / "metrics.csv").exists() and (run_dir / "curves.png").exists()
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    assert {"val/map", "train/loss_epoch"} <= set(events.Tags()["scalars"])
    assert {"augmentations", "curves", "validation"} <= set(events.Tags()["images"])


@pytest.mark.parametrize(
    "logger, target",
    [("csv", ["CSVLogger"]), ("mlflow", ["CSVLogger", "MLFlowLogger"]), ("wandb", ["CSVLogger", "WandbLogger"])],
)
def test_every_logger_option_is_a_lightning_logger_in_the_run_folder(logger, target):
    from hydra.core.hydra_config import HydraConfig

    from conftest import compose_config

    cfg = compose_config("train", f"logger={logger}", run_dir="/runs/x")
    HydraConfig.instance().set_config(cfg)  # ${hydra:runtime.output_dir} is the run folder
    assert [c._target_.rsplit(".", 1)[1] for c in cfg.logger.values()] == target
    assert all(
        "/runs/x" in str(v) for c in cfg.logger.values() for k, v in c.items() if k in ("save_dir", "tracking_uri")
    )


BUDGET = ["scheduler=budget", "optimizer.lr=1e-3", "+callbacks.lrs._target_=conftest.RecordLearningRate"]


def learning_rates(run_dir):
    return {int(step): lr for step, lr in json.loads((run_dir / "lrs.json").read_text()).items()}


def test_the_lr_reaches_its_floor_when_the_time_budget_ends(synthetic_root, tmp_path):
    run_dir = train_run(
        tmp_path / "run", f"data.root={synthetic_root}", *BUDGET, "trainer.max_epochs=1000", *clock(60, step=2.5)
    )
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["epoch"] < 999  # the time budget, not the epochs, ended it
    assert state["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(1e-5, rel=1e-3)  # 0.01 x 1e-3
    lrs = list(learning_rates(run_dir).values())
    peak = lrs.index(max(lrs))
    assert len(lrs) > 15 and max(lrs) > 0.9e-3 and peak < len(lrs) / 4  # warmed up early, then
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :]))  # decayed all the way


def test_the_loss_switches_at_the_planned_share_of_a_step_budget(synthetic_root, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        *BUDGET,
        "trainer.max_epochs=4",
        "loss=seed",
        "+loss.switch_at=0.5",
    )
    assert "epoch 2, step 4: loss phase 1" in caplog.text  # 4 epochs x 2 steps: half spent at step 4


def test_a_resumed_run_continues_the_same_schedule(synthetic_root, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    plan = [f"data.root={synthetic_root}", *BUDGET, "trainer.max_epochs=4", "loss=seed", "+loss.switch_at=0.5"]
    whole = learning_rates(train_run(tmp_path / "whole", *plan))
    first = train_run(
        tmp_path / "first", *plan, "+callbacks.stop._target_=conftest.StopAfterEpoch", "+callbacks.stop.epoch=1"
    )
    rest = learning_rates(train_run(tmp_path / "rest", *plan, f"resume={first / 'checkpoints' / 'last.ckpt'}"))
    assert sorted(rest) == [4, 5, 6, 7] and all(rest[s] == pytest.approx(whole[s], rel=1e-9) for s in rest)
    assert caplog.text.count("step 4: loss phase 1") == 2  # the whole run's and the resumed run's


def test_snapshots_come_from_the_last_stretch_of_the_budget(synthetic_root, tmp_path):
    run_dir = train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=4",
        "ensemble.top_k=4",
        "ensemble.stretch=0.4",
    )
    members = yaml.safe_load((run_dir / "ensemble.yaml").read_text())["members"]
    assert sorted(m["ckpt"][:12] for m in members) == ["snapshot-002", "snapshot-003"]  # spent 0.75 and 1.0


def test_early_stopping_waits_for_the_last_stretch_so_a_stopped_run_keeps_a_snapshot(synthetic_root, tmp_path):
    never_better = ["callbacks.early_stopping.patience=2", "+callbacks.early_stopping.min_delta=1.0"]
    run_dir = train_run(
        tmp_path / "run", f"data.root={synthetic_root}", "trainer.max_epochs=6", "ensemble.stretch=0.3", *never_better
    )
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 10  # patience ran out in the stretch (spent 10/12 at epoch 4), not at epoch 2
    members = yaml.safe_load((run_dir / "ensemble.yaml").read_text())["members"]
    assert [m["ckpt"][:12] for m in members] == ["snapshot-004"]


def test_validation_before_the_last_stretch_runs_every_nth_epoch_and_after_every_epoch_in_it(synthetic_root, tmp_path):
    plan = [f"data.root={synthetic_root}", "trainer.max_epochs=6", "ensemble.stretch=0.3"]
    assert validated_epochs(train_run(tmp_path / "every", *plan)) == [0, 1, 2, 3, 4, 5]
    run_dir = train_run(tmp_path / "sparse", *plan, "callbacks.early_validation.every=2")
    assert validated_epochs(run_dir) == [1, 3, 4, 5]  # the stretch starts at 8.4 of 12 steps: epochs 4 and 5
    members = yaml.safe_load((run_dir / "ensemble.yaml").read_text())["members"]
    assert {m["ckpt"][:12] for m in members} <= {"snapshot-004", "snapshot-005"}


class SpoilSecondSnapshot(pl.Callback):
    """At fit end, makes the run's second-best snapshot call every pixel salt (its head's bias +50), so that the
    ensemble of the two scores below the best snapshot alone (tests add it by _target_)."""

    def on_fit_end(self, trainer, pl_module):
        ranked = sorted(trainer.checkpoint_callback.best_k_models.items(), key=lambda kv: -float(kv[1]))
        path = ranked[1][0]
        saved = torch.load(path, map_location="cpu", weights_only=True)
        saved["state_dict"]["net.fuse.bias"] += 50.0
        torch.save(saved, path)


def test_an_ensemble_worse_than_its_best_snapshot_gives_way_to_it(synthetic_root, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    run_dir = train_run(
        tmp_path / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=2",
        "ensemble.top_k=2",
        "ensemble.mode=predictions",
        "+callbacks.spoil._target_=test_train.SpoilSecondSnapshot",
    )
    spec = yaml.safe_load((run_dir / "ensemble.yaml").read_text())
    oof = np.load(run_dir / "oof.npz")
    assert float(oof["map_ensemble"]) < float(oof["map_best"]) and str(oof["used"]) == "best snapshot"
    assert spec["use"] == "best" and "below its best snapshot's" in spec["why"]
    assert "the best snapshot is used" in caplog.text
    best = RunFolder(run_dir).checkpoints / spec["members"][0]["ckpt"]
    assert resolve_members(run_dir)[0] == [(best, 1.0)]  # what infer.py, predict.py and export.py use
    assert [p for p, _ in resolve_members(run_dir, 2)[0]] == [best, best.with_name(spec["members"][1]["ckpt"])]
    assert "training fold 0 of " in caplog.text and "run folder " + str(run_dir) in caplog.text  # the plan, first
    assert "the 1 epoch(s) left of trainer.max_epochs=2 take about" in caplog.text


def test_resuming_past_max_epochs_is_one_clear_line(synthetic_root, tmp_path):
    run_dir = train_run(tmp_path / "run", f"data.root={synthetic_root}", "trainer.max_epochs=2")
    with pytest.raises(
        UserError, match=r"has trained 2 epochs, more than trainer.max_epochs=1: pass trainer.max_epochs=3"
    ):
        train_run(
            tmp_path / "again",
            f"data.root={synthetic_root}",
            "trainer.max_epochs=1",
            f"resume={run_dir / 'checkpoints' / 'last.ckpt'}",
        )
