"""A run killed with SIGKILL (out of memory, a pre-empted node, a closed laptop) resumes from its last.ckpt, written
atomically at every epoch end whatever filesystem $TMPDIR is on, with the budget's clock, and ends with the snapshots
and ensemble it would have had; `resume=last` finds that checkpoint in the run folder."""

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate

from conftest import PROJECT, compose_config, run_cli, train_run
from src.callbacks.atomic_checkpoint_io import AtomicCheckpointIO


def snapshot_epochs(run_dir):
    members = yaml.safe_load((run_dir / "ensemble.yaml").read_text())["members"]
    return sorted(int(m["ckpt"].split("-")[1]) for m in members)


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_from_its_last_epoch(synthetic_root, tmp_path):
    run_dir, ready = tmp_path / "run", tmp_path / "ready"
    plan = [
        "train.py",
        f"data.root={synthetic_root}",
        "debug=tiny",
        "trainer.max_epochs=4",
        "ensemble.top_k=4",
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "tests")}
    process = subprocess.Popen(
        [
            sys.executable,
            *plan,
            "+callbacks.pause._target_=conftest.PauseAtEpoch",
            "+callbacks.pause.epoch=2",
            f"+callbacks.pause.ready={ready}",
        ],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ready.exists(), "the run never reached epoch 2"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["epoch"] == 1 and saved["global_step"] == 4  # epochs 0 and 1 of 2 steps, saved at their end
    assert not list((run_dir / "checkpoints").glob(".*"))  # no half-written file left by the kill

    result = run_cli(*plan, "resume=last")  # the same command: this run folder's last.ckpt
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resume=last: continuing from {run_dir / 'checkpoints' / 'last.ckpt'}" in result.stdout + result.stderr
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 8 and state["epoch"] == 3
    assert snapshot_epochs(run_dir) == [0, 1, 2, 3]  # the two kept before the kill and the two after
    assert (run_dir / "oof.npz").exists()


def test_a_checkpoint_is_written_beside_its_target_never_through_tmpdir(tmp_path, monkeypatch):
    """Lightning's own writer stages the file in $TMPDIR and moves it, which copies over the old checkpoint when
    $TMPDIR is another filesystem: a kill then truncates it. $TMPDIR here cannot be written at all."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "not-a-folder" / "tmp"))
    (tmp_path / "not-a-folder").write_text("a file")
    target = tmp_path / "checkpoints" / "last.ckpt"
    stale = target.with_name(".last.ckpt.999999999.x1y2.ckpt")  # what a killed writer (no such pid) left
    target.parent.mkdir()
    stale.write_bytes(b"half")
    AtomicCheckpointIO().save_checkpoint({"epoch": 1, "weights": torch.ones(3)}, target)
    assert torch.load(target, weights_only=True)["epoch"] == 1 and not stale.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.ckpt"]
    with pytest.raises(RuntimeError, match="interrupted"):  # a write that dies midway keeps the old checkpoint
        monkeypatch.setattr(torch, "save", lambda obj, f: (open(f, "wb").write(b"trunc"), throw()))
        AtomicCheckpointIO().save_checkpoint({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["epoch"] == 1
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.ckpt"]
    cfg = compose_config("train", run_dir=tmp_path)
    HydraConfig.instance().set_config(cfg)
    trainer = instantiate(cfg.trainer, logger=False)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)  # what train.py's trainers write with


def throw():
    raise RuntimeError("interrupted")


def test_resume_last_starts_fresh_in_a_new_folder_and_a_rerun_without_it_says_how_to_continue(
    synthetic_root, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    run_dir = tmp_path / "run"
    train_run(run_dir, f"data.root={synthetic_root}", "resume=last")
    assert "holds no checkpoints/last.ckpt yet, so training starts from scratch" in caplog.text
    first = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert first["epoch"] == 0
    train_run(run_dir, f"data.root={synthetic_root}", "trainer.max_epochs=2", "resume=last")
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["global_step"] == (
        2 * first["global_step"]
    )
    caplog.clear()
    train_run(run_dir, f"data.root={synthetic_root}")
    assert "already holds a training checkpoint: starting over" in caplog.text and "pass resume=last" in caplog.text
