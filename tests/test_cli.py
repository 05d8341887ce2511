"""The command-line contract, in subprocesses as a user runs it: bad input ends as one `error:` line and exit
code 1 with nothing written; DDP's processes are started by re-running the command."""

import json

import numpy as np
import pytest
import torch

from conftest import last_line, run_cli, validated_epochs
from src.models.checkpoint import load_module


@pytest.mark.parametrize(
    "make_ckpt, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b"not a checkpoint"), "cannot be read"),
        (lambda p: torch.save({"state_dict": {}}, p), "not written by this project"),
        (lambda p: torch.save({"state_dict": {}, "hyper_parameters": {"saltseg": 1}}, p), "format 1 of this project"),
    ],
)
def test_bad_checkpoint_is_one_clear_line(tmp_path, synthetic_root, make_ckpt, message):
    ckpt = tmp_path / "model.ckpt"
    make_ckpt(ckpt)
    out = tmp_path / "sub.csv"
    result = run_cli(
        "infer.py", f"ckpt={ckpt}", f"data.root={synthetic_root}", f"out={out}", f"hydra.run.dir={tmp_path / 'infer'}"
    )
    assert result.returncode == 1 and message in last_line(result) and last_line(result).startswith("error:")
    assert not out.exists()


def test_missing_data_folder_is_one_clear_line(tmp_path):
    result = run_cli("train.py", f"data.root={tmp_path / 'nowhere'}", "debug=tiny", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 1
    assert last_line(result).startswith("error: data folder") and "nowhere" in last_line(result)


def test_fold_out_of_range_is_one_clear_line(tmp_path, synthetic_root):
    result = run_cli("train.py", f"data.root={synthetic_root}", "fold=7", "debug=tiny", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1 and "fold=7 is out of range" in last_line(result)


@pytest.mark.parametrize("budget", ["30min", "30", "00:30:00:00:00"])
def test_malformed_time_budget_is_one_clear_line(tmp_path, synthetic_root, budget):
    result = run_cli(
        "train.py",
        f"data.root={synthetic_root}",
        f"trainer.max_time={budget}",
        "debug=tiny",
        f"hydra.run.dir={tmp_path}",
    )
    assert result.returncode == 1
    line = last_line(result)
    assert line.startswith(f"error: trainer.max_time={budget} is not") and "DD:HH:MM:SS" in line


@pytest.mark.parametrize("every, shown", [("0", "0"), ("1.5", "1.5"), ("true", "True")])
def test_a_validation_interval_under_one_epoch_is_one_clear_line(tmp_path, synthetic_root, every, shown):
    result = run_cli(
        "train.py",
        f"data.root={synthetic_root}",
        "debug=tiny",
        f"callbacks.early_validation.every={every}",
        f"hydra.run.dir={tmp_path}",
    )
    assert result.returncode == 1 and not list(tmp_path.rglob("*.ckpt"))
    assert last_line(result).startswith(f"error: callbacks.early_validation.every={shown}: use a whole")


def test_a_model_with_depth_refuses_a_section_without_depth(trained_run, tmp_path):
    section = tmp_path / "section.npy"
    np.save(section, np.random.default_rng(0).normal(size=(150, 260)).astype(np.float32))
    result = run_cli(
        "predict.py",
        f"ckpt={trained_run}",
        f"input={section}",
        f"out={tmp_path / 'out' / 'pred'}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    )
    assert result.returncode == 1 and "uses the depth channel" in last_line(result)
    assert not (tmp_path / "out").exists()


def test_semi_supervised_training_on_a_survey_is_one_clear_line(tmp_path):
    result = run_cli(
        "train.py",
        "data=survey_synthetic",
        "ssl=mean_teacher",
        "debug=tiny",
        f"data.survey.seismic={tmp_path / 's' / 'seismic.sgy'}",
        f"data.survey.labels={tmp_path / 's' / 'labels.npy'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert not (tmp_path / "s").exists()  # refused before generating anything
    assert result.returncode == 1 and last_line(result) == (
        "error: ssl=mean_teacher works on Kaggle-layout tiles, not on SurveyDataModule's: train it with ssl=none"
    )


def test_ddp_inside_a_local_sweep_is_one_clear_line(synthetic_root, tmp_path):
    result = run_cli(
        "train.py",
        "-m",
        "fold=0",
        f"data.root={synthetic_root}",
        "debug=tiny",
        "trainer=ddp_cpu",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert result.returncode == 1
    assert last_line(result).startswith("error: trainer.strategy=ddp cannot run inside a -m sweep here")
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.slow
def test_ddp_ranks_whose_clocks_disagree_stop_and_schedule_together(synthetic_root, tmp_path):
    run_dir = tmp_path / "ddp"
    # ranks that disagree and decide alone hang in their next collective: the timeout ends such a run
    result = run_cli(
        "train.py",
        f"data.root={synthetic_root}",
        "debug=tiny",
        "trainer=ddp_cpu",
        "trainer.max_epochs=50",
        "trainer.limit_train_batches=1.0",
        "scheduler=budget",
        "optimizer.lr=1e-3",
        "ensemble.stretch=0.5",
        "callbacks.early_validation.every=2",
        "+callbacks.clock._target_=conftest.VirtualClock",
        "+callbacks.clock.seconds=30",
        "+callbacks.clock.other_rank_step_seconds=3",
        "+callbacks.lrs._target_=conftest.RecordLearningRate",
        f"hydra.run.dir={run_dir}",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 10  # rank 1's clock (3 s a step) ends the 30 s budget for both; rank 0's would at 30
    lrs = (run_dir / "lrs.json").read_text()
    assert lrs == (run_dir / "lrs-rank1.json").read_text() and len(json.loads(lrs)) == 10
    assert (run_dir / "ensemble.yaml").exists() and (run_dir / "oof.npz").exists()


@pytest.mark.slow
def test_ddp_on_cpu_trains_in_two_processes_and_evaluates_once_on_rank_zero(synthetic_root, tmp_path):
    run_dir = tmp_path / "ddp"
    result = run_cli(
        "train.py",
        f"data.root={synthetic_root}",
        "debug=tiny",
        "trainer=ddp_cpu",
        "trainer.max_epochs=3",
        "trainer.limit_train_batches=1.0",
        "ensemble.mode=weights",
        "ensemble.stretch=0.5",
        "callbacks.early_validation.every=2",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["global_step"] == 3 * 4  # 32 training tiles over 2 processes of batch 4: 4 steps an epoch
    assert validated_epochs(run_dir) == [1, 2]  # both ranks skipped epoch 0's validation together
    assert len(list(tmp_path.rglob("ensemble.yaml"))) == 1 and len(list(tmp_path.rglob("oof.npz"))) == 1
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt"):
        load_module(ckpt)
    rank0, rank1 = (run_dir / "train.log").read_text(), (run_dir / "train_ddp_process_1.log").read_text()
    for line in ("averaged 2 snapshots", "out-of-fold val/map"):
        assert rank0.count(line) == 1 and line not in rank1
