"""What `ckpt=` and `snapshots=N` stand for, in both ensemble modes, and which post-processing infer.py uses."""
import shutil

import pytest
import torch
import yaml

from conftest import TINY, run_cli
from src.ensemble.members import resolve_members
from src.ensemble.run_folder import RunFolder
from src.ensemble.spec import read_ensemble
from src.utils.errors import UserError


@pytest.fixture(scope="module")
def three_snapshot_run(tmp_path_factory, synthetic_root):
    run_dir = tmp_path_factory.mktemp("members") / "run"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, "trainer.max_epochs=3", "ensemble.top_k=3",
                     "ensemble.mode=weights", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def differs(a, b):
    return any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())


def test_snapshots_n_in_weights_mode_averages_the_best_n(three_snapshot_run):
    run = three_snapshot_run
    mode, snapshots = read_ensemble(RunFolder(run))
    assert mode == "weights" and len(snapshots) == 3
    assert resolve_members(run)[0] == [(run / "checkpoints" / "weight_average.ckpt", 1.0)]
    assert resolve_members(run, 3)[0] == [(run / "checkpoints" / "weight_average.ckpt", 1.0)]
    assert resolve_members(run, 1)[0] == [(snapshots[0][0], 1.0)]  # the best snapshot as it is
    (top2, weight), = resolve_members(run, 2)[0]
    assert top2 == run / "checkpoints" / "weight_average_top2.ckpt" and weight == 1.0
    assert differs(state(top2), state(run / "checkpoints" / "weight_average.ckpt"))
    assert differs(state(top2), state(snapshots[0][0]))
    made = top2.stat().st_mtime_ns
    assert resolve_members(run, 2)[0][0][0] == top2 and top2.stat().st_mtime_ns == made  # made once, kept


def test_snapshots_n_in_predictions_mode_takes_the_best_n(three_snapshot_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(three_snapshot_run, run)
    spec = yaml.safe_load((run / "ensemble.yaml").read_text())
    (run / "ensemble.yaml").write_text(yaml.safe_dump({**spec, "mode": "predictions"}))
    members, _ = resolve_members(run, 2)
    assert [p.name for p, _ in members] == [m["ckpt"] for m in spec["members"][:2]]
    assert sum(w for _, w in members) == pytest.approx(1.0) and members[0][1] > members[1][1]
    assert len(resolve_members(run)[0]) == 3


def test_averaging_the_best_n_without_the_training_tiles_is_one_clear_error(three_snapshot_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(three_snapshot_run, run, ignore=shutil.ignore_patterns("weight_average_top*"))
    config = (run / ".hydra" / "config.yaml").read_text()
    root = yaml.safe_load(config)["data"]["root"]
    (run / ".hydra" / "config.yaml").write_text(config.replace(root, str(tmp_path / "moved")))
    with pytest.raises(UserError, match="snapshots=2 averages the best 2 snapshots .* needs its training tiles: "
                                        "data folder .*moved not found"):
        resolve_members(run, 2)


def test_infer_honours_snapshots_and_a_checkpoint_file_finds_its_runs_postproc(three_snapshot_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(three_snapshot_run, run, ignore=shutil.ignore_patterns("weight_average_top*"))
    (run / "postproc.yaml").write_text(yaml.safe_dump({"threshold": 0.37, "min_component": 0, "min_mask": 5,
                                                      "fill_holes": 0}))
    best = read_ensemble(RunFolder(run))[1][0][0]
    result = run_cli("infer.py", f"ckpt={best}", f"out={tmp_path / 'a.csv'}", "postproc.min_mask=9",
                     f"hydra.run.dir={tmp_path / 'infer_a'}")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "'threshold': 0.37" in log and "'min_mask': 9" in log
    assert f"tuned on out-of-fold predictions, from {run / 'postproc.yaml'}; min_mask from the command line" in log
    (run / "postproc.yaml").unlink()
    result = run_cli("infer.py", f"ckpt={run}", "snapshots=2", f"out={tmp_path / 'b.csv'}",
                     f"hydra.run.dir={tmp_path / 'infer_b'}")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "ensembling 1 networks" in log and "averaging the best 2 snapshots" in log
    assert "post-processing {'threshold': 0.5" in log and "the defaults (no postproc.yaml" in log
