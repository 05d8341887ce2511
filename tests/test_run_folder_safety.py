"""A run folder is data from whoever sent it: its saved config makes nothing run (only this project's DataModules
and albumentations' transforms are built from it), a kept ONNX graph or weight average edited after it was made
is noticed and made again, and a checkpoint never makes the program download."""

import logging
import shutil

import numpy as np
import onnx
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from conftest import compose_config, last_line, run_cli, run_task, train_run, use_the_ensemble
from src.data.saved_config import check_saved_config
from src.ensemble.members import plan_ensemble, resolve_members
from src.inference.onnx import cached_graph
from src.models.checkpoint import load_module
from src.models.module import SaltModule
from src.tasks.export import export
from src.tasks.infer import infer
from src.tasks.predict import predict
from src.tasks.train import train
from src.utils.errors import UserError

REFUSED = "refused, and nothing it names was imported or called"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synthetic_root):
    """A run of two snapshots averaged in weights mode: a weight average to make again when it is missing."""
    return use_the_ensemble(
        train_run(
            tmp_path_factory.mktemp("safety") / "run",
            f"data.root={synthetic_root}",
            "trainer.max_epochs=2",
            "ensemble.top_k=2",
            "ensemble.mode=weights",
        )
    )


@pytest.fixture
def hostile_run(trained, tmp_path):
    """The run as a stranger might send it: no weight average (so one must be made from its config), and a
    config whose data.root would write `marker` through numpy.save if it were built."""
    run = tmp_path / "stranger"
    shutil.copytree(trained, run)
    (run / "checkpoints" / "weight_average.ckpt").unlink()
    for graph in run.glob("*.onnx"):
        graph.unlink()
    marker = tmp_path / "written.npy"
    config = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    config["data"]["root"] = {"_target_": "numpy.save", "file": str(marker), "arr": [1, 2, 3]}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    return run, marker


def entry_point(name, run, tmp_path, synthetic_root):
    """A task's config pointing at the hostile run the way a user would pass it."""
    out = tmp_path / "out"
    section = tmp_path / "section.npy"
    if name == "predict":
        np.save(section, np.zeros((101, 120), np.float32))
        return predict, compose_config("predict", f"ckpt={run}", f"input={section}", f"out={out}", run_dir=out)
    if name == "infer":
        return infer, compose_config(
            "infer", f"ckpt={run}", f"data.root={synthetic_root}", f"out={out}.csv", run_dir=out
        )
    if name == "export":
        return export, compose_config("export", f"ckpt={run}", f"out={out}.onnx", run_dir=out)
    overrides = [f"init={run}"] if name == "init" else ["ssl=pseudo", f"ssl.teacher={run}", f"ssl.cache_dir={tmp_path}"]
    return train, compose_config("train", "debug=tiny", f"data.root={synthetic_root}", *overrides, run_dir=out)


@pytest.mark.parametrize("name", ["predict", "infer", "export", "init", "teacher"])
def test_a_hostile_run_config_calls_nothing_through_any_entry_point(hostile_run, tmp_path, synthetic_root, name):
    run, marker = hostile_run
    task, cfg = entry_point(name, run, tmp_path, synthetic_root)
    with pytest.raises(UserError, match=rf"config.yaml names 'numpy.save' to build at data.root, .*{REFUSED}"):
        run_task(task, cfg)
    assert not marker.exists()


@pytest.mark.slow
def test_a_hostile_run_config_is_one_line_from_the_command_line(hostile_run, tmp_path):
    run, marker = hostile_run
    result = run_cli("export.py", f"ckpt={run}", f"out={tmp_path / 'model.onnx'}", f"hydra.run.dir={tmp_path / 'h'}")
    assert result.returncode == 1 and REFUSED in last_line(result) and not marker.exists()


@pytest.mark.parametrize(
    "section, node",
    [
        ("aug", {"_target_": "albumentations.Compose", "transforms": [{"_target_": "os.system", "command": "true"}]}),
        (
            "aug",
            {
                "_target_": "albumentations.Compose",
                "transforms": [{"_target_": "albumentations.core.serialization.load", "filepath": "x"}],
            },
        ),
        ("data", {"_target_": "src.tasks.train.train", "cfg": None}),  # the project's own, but no DataModule
        (
            "data",
            {
                "_target_": "src.data.datamodule.TGSDataModule",
                "root": {"_target_": "src.data.datamodule.TGSDataModule"},
            },
        ),
        ("data", {"_target_": "src.data.datamodule.TGSDataModule", "root": "${evil}"}),  # brought in by interpolation
    ],
)
def test_only_datamodules_and_transforms_are_built_from_a_saved_config(section, node, tmp_path):
    saved = OmegaConf.create({"data": {"_target_": "src.data.datamodule.TGSDataModule"}, "aug": None})
    saved[section] = node
    saved.evil = {"_target_": "numpy.save", "file": "x", "arr": [1]}
    with pytest.raises(UserError, match=REFUSED):
        check_saved_config(saved, tmp_path / "config.yaml")


def test_what_train_py_saves_passes_the_check(trained):
    check_saved_config(OmegaConf.load(trained / ".hydra" / "config.yaml"), trained / ".hydra" / "config.yaml")
    seed = compose_config("train", "aug=seed", "data=survey_synthetic")
    check_saved_config(OmegaConf.masked_copy(seed, [k for k in seed if k != "hydra"]), trained / "config.yaml")


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def test_a_graph_edited_in_place_with_its_metadata_kept_is_exported_again(run, caplog):
    caplog.set_level(logging.INFO)
    graph = cached_graph(plan_ensemble(run))
    model = onnx.load(str(graph))
    weight = next(t for t in reversed(model.graph.initializer) if t.dims == [1])  # the last bias
    array = onnx.numpy_helper.to_array(weight) + 8.0
    weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
    onnx.save(model, str(graph))  # as onnx.load/save, simplifiers and quantisers do: the metadata stays
    assert cached_graph(plan_ensemble(run)) == graph and "was changed after it was exported" in caplog.text
    again = onnx.load(str(graph))
    bias = next(t for t in again.graph.initializer if t.name == weight.name)
    assert np.allclose(onnx.numpy_helper.to_array(bias), array - 8.0, atol=1e-5)  # the bias as exported, not +8
    caplog.clear()
    cached_graph(plan_ensemble(run))
    assert "matches its networks" in caplog.text  # the graph made again vouches for itself


def test_a_replacement_graph_carrying_the_original_metadata_is_exported_again(run, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    graph = cached_graph(plan_ensemble(run))
    original = onnx.load(str(graph))
    other = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["probs"])],
            "every tile salt",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
            [onnx.helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT, None)],
        )
    )
    other.metadata_props.extend(original.metadata_props)
    onnx.save(other, str(graph))
    cached_graph(plan_ensemble(run))
    assert "was changed after it was exported" in caplog.text
    assert len(onnx.load(str(graph)).graph.node) == len(original.graph.node)


def test_a_weight_average_edited_in_place_is_made_again(run, caplog):
    caplog.set_level(logging.INFO)
    ((average, _),) = resolve_members(run)[0]
    saved = torch.load(average, map_location="cpu", weights_only=True)
    name = next(k for k, v in saved["state_dict"].items() if v.is_floating_point())
    made = saved["state_dict"][name].clone()
    saved["state_dict"][name] += 1.0  # its key and digest kept: only the tensors changed
    torch.save(saved, average)
    assert resolve_members(run)[0] == [(average, 1.0)]
    assert "was changed after it was made" in caplog.text
    assert torch.allclose(torch.load(average, map_location="cpu", weights_only=True)["state_dict"][name], made)


def test_a_checkpoint_without_encoder_weights_never_downloads(trained, tmp_path, monkeypatch):
    """smp's Unet defaults to encoder_weights='imagenet': a checkpoint that leaves the key out must not make it
    fetch weights its author chose."""
    import segmentation_models_pytorch.decoders.unet.model as unet

    asked = []
    real = unet.get_encoder

    def recording(*args, **kwargs):  # what smp would fetch; built without weights either way
        asked.append(kwargs.get("weights"))
        return real(*args, **{**kwargs, "weights": None})

    monkeypatch.setattr(unet, "get_encoder", recording)
    checkpoint = torch.load(trained / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    smp = {"_target_": "segmentation_models_pytorch.Unet", "encoder_name": "resnet18", "classes": 1}
    network = SaltModule(**{**checkpoint["hyper_parameters"], "model": {**smp, "encoder_weights": None}})
    checkpoint["hyper_parameters"]["model"] = smp  # no encoder_weights key at all
    checkpoint["state_dict"] = network.state_dict()
    torch.save(checkpoint, tmp_path / "smp.ckpt")
    asked.clear()
    loaded = load_module(tmp_path / "smp.ckpt")
    assert asked == [None]
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), network.state_dict().values()))
