"""Numbers a new user can trust and errors in one line: tune.py refuses out-of-fold data of one class, a missing
mandatory option names itself, and a depth the network cannot know is asked for before any graph is exported."""

import shutil

import numpy as np
import pytest

from conftest import compose_config, last_line, run_cli, run_task
from src.tasks.predict import predict
from src.tasks.tune import tune
from src.utils.errors import UserError


@pytest.mark.parametrize("salt", [False, True])
def test_tune_refuses_out_of_fold_predictions_of_one_class(tmp_path, salt):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    truth = np.full((3, 101, 101), salt)
    probs = np.random.default_rng(0).random((3, 101, 101)).astype(np.float32)
    np.savez(run / "oof.npz", ids=np.array(["a", "b", "c"]), probs=probs, truth=truth, fold=0)
    kind = "salt only" if salt else "no salt"
    with pytest.raises(UserError, match=rf"\(3 tiles\) hold {kind}: nothing can be tuned or calibrated on them"):
        run_task(tune, compose_config("tune", f"run={run}", run_dir=tmp_path / "tune"))
    assert not (run / "postproc.yaml").exists()


def test_a_missing_mandatory_option_is_one_line_naming_it(tmp_path, trained_run):
    result = run_cli("predict.py", f"ckpt={trained_run}", f"input={tmp_path / 'x.npy'}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1
    assert last_line(result) == "error: out is not set and has no default: pass out=... on the command line"


def test_a_depth_the_network_cannot_know_is_asked_for_before_any_graph_is_exported(tmp_path, trained_run):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("*.onnx"))
    section = tmp_path / "section.npy"
    np.save(section, np.zeros((101, 150), np.float32))
    cfg = compose_config("predict", f"ckpt={run}", f"input={section}", f"out={tmp_path / 'out'}", run_dir=tmp_path)
    with pytest.raises(UserError, match="uses the depth channel and stores no depth rule of its own"):
        run_task(predict, cfg)
    assert not list(run.glob("*.onnx"))  # refused before the ONNX export
