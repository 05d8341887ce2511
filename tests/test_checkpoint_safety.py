"""A checkpoint is data: one from a stranger never runs code when any entry point loads it (infer, predict,
export, train init= and resume=, pseudo-label teachers all read it through one loader), and the network class it
names must be one of this project's or smp's."""

import os

import pytest
import torch

from conftest import last_line, run_cli, train_run
from src.models.checkpoint import load_module
from src.utils.errors import UserError


class Hostile:
    """Pickles to a call of os.system: loading it the unsafe way creates `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def hostile_ckpt(tmp_path, trained_run):
    """A real checkpoint of ours with a payload added: everything else about it is right."""
    state = torch.load(trained_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    marker = tmp_path / "ran"
    path = tmp_path / "model.ckpt"
    torch.save({**state, "payload": Hostile(marker)}, path)
    return path, marker


def test_a_hostile_pickle_is_refused_and_never_runs(hostile_ckpt):
    path, marker = hostile_ckpt
    with pytest.raises(UserError, match="holds Python objects beyond tensors .* refused, and nothing in it was run"):
        load_module(path)
    assert not marker.exists()
    torch.load(path, map_location="cpu", weights_only=False)  # the payload is live: the unsafe way runs it
    assert marker.exists()


@pytest.mark.slow
def test_a_hostile_checkpoint_is_one_clear_line_from_infer(hostile_ckpt, synthetic_root, tmp_path):
    path, marker = hostile_ckpt
    result = run_cli(
        "infer.py",
        f"ckpt={path}",
        f"data.root={synthetic_root}",
        f"out={tmp_path / 'sub.csv'}",
        f"hydra.run.dir={tmp_path / 'infer'}",
    )
    assert result.returncode == 1 and "refused, and nothing in it was run" in last_line(result)
    assert not marker.exists() and not (tmp_path / "sub.csv").exists()


@pytest.mark.parametrize("start", ["init", "resume"])
def test_training_from_a_hostile_checkpoint_is_refused(hostile_ckpt, synthetic_root, tmp_path, start):
    path, marker = hostile_ckpt
    with pytest.raises(UserError, match="refused, and nothing in it was run"):
        train_run(tmp_path / "run", f"data.root={synthetic_root}", f"{start}={path}")
    assert not marker.exists() and not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("target", ["subprocess.Popen", "src.models.module.torch.nn.Linear", "os.system", None])
def test_a_checkpoint_naming_another_class_as_its_network_is_refused(trained_run, tmp_path, target):
    state = torch.load(trained_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    state["hyper_parameters"]["model"]["_target_"] = target
    torch.save(state, tmp_path / "model.ckpt")
    with pytest.raises(UserError, match="names the network .* which is not a network class of this project's"):
        load_module(tmp_path / "model.ckpt")


def test_resume_from_a_snapshot_or_a_missing_file_is_one_clear_error(trained_run, synthetic_root, tmp_path):
    snapshot = next((trained_run / "checkpoints").glob("snapshot-*.ckpt"))
    with pytest.raises(UserError, match="is not a full training checkpoint"):
        train_run(tmp_path / "a", f"data.root={synthetic_root}", f"resume={snapshot}")
    with pytest.raises(UserError, match="not found"):
        train_run(tmp_path / "b", f"data.root={synthetic_root}", f"resume={tmp_path / 'gone.ckpt'}")


@pytest.fixture(scope="module")
def hyper_run(tmp_path_factory, synthetic_root):
    """A run of the project's own network (model=hyper_unet), which formats 2 and 3 called SeedUnet."""
    return train_run(tmp_path_factory.mktemp("hyper") / "run", f"data.root={synthetic_root}", "model=hyper_unet")


@pytest.mark.parametrize("old_format", [2, 3])
def test_checkpoints_of_formats_2_and_3_load_as_the_hyper_unet_and_a_format_1_one_is_refused(
    hyper_run, tmp_path, old_format
):
    state = torch.load(hyper_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    hparams = state["hyper_parameters"]
    assert hparams["saltseg"] == 4 and hparams["model"]["_target_"] == "src.models.hyper_unet.HyperUnet"
    old = {**hparams, "saltseg": 3, "model": {**hparams["model"], "_target_": "src.models.seed_unet.SeedUnet"}}
    if old_format == 2:
        old = {
            "lr_scheduler" if k == "scheduler" else "ignore_index" if k == "ignore_value" else k: v
            for k, v in old.items()
        } | {"saltseg": 2, "loss": {"first": {"bce": 1.0}}}  # format 2 named loss terms; prediction never builds it
    torch.save({**state, "hyper_parameters": old}, tmp_path / "old.ckpt")
    module = load_module(tmp_path / "old.ckpt")
    reference = load_module(hyper_run / "checkpoints" / "last.ckpt")
    assert type(module.net).__name__ == "HyperUnet" and module.hparams.scheduler == hparams["scheduler"]
    x = torch.randn(2, 3, 128, 128)
    assert torch.equal(module(x), reference(x))
    torch.save({**state, "hyper_parameters": {**old, "saltseg": 1}}, tmp_path / "format1.ckpt")
    with pytest.raises(UserError, match="is in format 1 of this project's train.py, this version reads format 4"):
        load_module(tmp_path / "format1.ckpt")
