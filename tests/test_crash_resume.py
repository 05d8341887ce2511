"""A run killed with SIGKILL (out of memory, a pre-empted node, a closed laptop) resumes from its last.ckpt, written
atomically at every epoch end, with the budget's clock, and ends with the snapshots and ensemble it would have had."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from conftest import PROJECT, run_cli

pytestmark = pytest.mark.slow


def snapshot_epochs(run_dir):
    members = yaml.safe_load((run_dir / "ensemble.yaml").read_text())["members"]
    return sorted(int(m["ckpt"].split("-")[1]) for m in members)


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

    result = run_cli(*plan, f"resume={run_dir / 'checkpoints' / 'last.ckpt'}")
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 8 and state["epoch"] == 3
    assert snapshot_epochs(run_dir) == [0, 1, 2, 3]  # the two kept before the kill and the two after
    assert (run_dir / "oof.npz").exists()
