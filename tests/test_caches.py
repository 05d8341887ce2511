"""What is made from a run's checkpoints and kept — the ONNX graph, weight averages, pseudo-labels — is used only
while it was made from what the run holds now: each input is changed in turn, with the file times a copy by
`cp -p`, `rsync -a` or `tar x` would leave (older than the cache)."""

import logging
import os
import shutil

import numpy as np
import onnx
import pytest
import torch
import yaml

from conftest import train_run, use_the_ensemble
from src.ensemble.cache_key import members_key
from src.ensemble.members import plan_ensemble, resolve_members
from src.ensemble.spec import read_ensemble
from src.inference.onnx import ONNX_CACHE_KEY, cached_graph
from src.ssl.pseudo import teacher_identity
from src.utils.run_folder import RunFolder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synthetic_root):
    return train_run(
        tmp_path_factory.mktemp("caches") / "run",
        f"data.root={synthetic_root}",
        "trainer.max_epochs=3",
        "ensemble.top_k=3",
        "ensemble.mode=weights",
    )


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return use_the_ensemble(copy)


def old_times(path):
    """Give `path` the time of a file made long ago (what a copy that keeps times gives a changed file)."""
    os.utime(path, (1_000_000_000, 1_000_000_000))


def replace_content(target, source):
    """Overwrite `target` with `source`'s bytes and give it an old time."""
    shutil.copyfile(source, target)
    old_times(target)


def edit_ensemble(run, **changes):
    path = run / "ensemble.yaml"
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, **changes}))
    old_times(path)


def members_in(graph):
    props = {p.key: p.value for p in onnx.load(str(graph)).metadata_props}
    return int(props["members"]), props.get(ONNX_CACHE_KEY)


def params(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_a_kept_graph_is_used_while_its_networks_are_the_same(run, caplog):
    caplog.set_level(logging.INFO)
    graph = cached_graph(plan_ensemble(run))
    made = graph.stat().st_mtime_ns
    for ckpt in (run / "checkpoints").glob("*.ckpt"):
        old_times(ckpt)
    assert cached_graph(plan_ensemble(run)) == graph and graph.stat().st_mtime_ns == made
    assert "matches its networks" in caplog.text


def test_a_graph_is_made_again_when_a_snapshot_changes_under_an_old_time(run, caplog):
    caplog.set_level(logging.INFO)
    graph = cached_graph(plan_ensemble(run, 2))
    _, key = members_in(graph)
    _, snapshots = read_ensemble(RunFolder(run))
    replace_content(snapshots[1][0], snapshots[2][0])  # the second best now holds the third's weights
    assert members_in(cached_graph(plan_ensemble(run, 2)))[1] != key
    assert "was not made from these networks" in caplog.text


def test_a_graph_is_made_again_when_the_ensemble_mode_changes(run):
    assert members_in(cached_graph(plan_ensemble(run)))[0] == 1  # weights mode: one averaged network
    edit_ensemble(run, mode="predictions")
    assert members_in(cached_graph(plan_ensemble(run)))[0] == 3


def test_a_graph_is_made_again_when_a_fold_leaves_a_multirun(run, tmp_path):
    multirun = tmp_path / "multirun"
    for fold in ("0", "1"):
        shutil.copytree(run, multirun / fold)
    assert members_in(cached_graph(plan_ensemble(multirun)))[0] == 2
    shutil.rmtree(multirun / "1")
    assert members_in(cached_graph(plan_ensemble(multirun)))[0] == 1


def test_a_replaced_graph_is_not_used(run, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    graph = cached_graph(plan_ensemble(run))
    _, key = members_in(graph)
    tampered = onnx.load(str(graph))
    del tampered.metadata_props[:]  # another graph: no key of ours
    onnx.save(tampered, str(graph))
    old_times(graph)
    assert members_in(cached_graph(plan_ensemble(run)))[1] == key
    assert "no key in it" in caplog.text


def test_a_weight_average_is_made_again_when_its_snapshots_or_weights_change(run, caplog):
    caplog.set_level(logging.INFO)
    average = run / "checkpoints" / "weight_average.ckpt"
    _, snapshots = read_ensemble(RunFolder(run))
    ((top2, _),) = resolve_members(run, 2)[0]
    before, before_all = params(top2), params(average)

    replace_content(snapshots[0][0], snapshots[2][0])  # the best snapshot now holds the third's weights
    ((again, _),) = resolve_members(run, 2)[0]
    assert again == top2 and not torch.equal(params(top2)["net.fuse.weight"], before["net.fuse.weight"])
    assert resolve_members(run)[0] == [(average, 1.0)]
    assert not torch.equal(params(average)["net.fuse.weight"], before_all["net.fuse.weight"])
    assert caplog.text.count("was made from other snapshots or weights") == 2

    made = params(top2)["net.fuse.weight"]
    edit_ensemble(
        run,
        members=[
            {**m, "weight": w}
            for m, w in zip(yaml.safe_load((run / "ensemble.yaml").read_text())["members"], (0.1, 0.6, 0.3))
        ],
    )
    resolve_members(run, 2)
    assert not torch.equal(params(top2)["net.fuse.weight"], made)


def test_pseudo_labels_are_keyed_by_the_teachers_content_not_its_time(tmp_path):
    teacher = tmp_path / "teacher.ckpt"
    teacher.write_bytes(b"one network")
    old_times(teacher)
    images, depths = np.zeros((2, 101, 101), np.uint8), np.array([100.0, 200.0])
    rule = {"low": 0.2, "high": 0.8}
    key = teacher_identity([(teacher, 1.0)], ["a", "b"], images, depths, rule)
    assert teacher_identity([(teacher, 1.0)], ["a", "b"], images, depths, rule) == key
    teacher.write_bytes(b"another one")
    old_times(teacher)
    assert teacher_identity([(teacher, 1.0)], ["a", "b"], images, depths, rule) != key
    teacher.write_bytes(b"one network")
    assert teacher_identity([(teacher, 1.0)], ["a", "b"], images + 1, depths, rule) != key  # other pixels
    assert teacher_identity([(teacher, 0.5)], ["a", "b"], images, depths, rule) != key


def test_the_keys_are_those_the_format_2_code_made_so_earlier_caches_stay_in_use(tmp_path):
    snapshot = tmp_path / "k.bin"
    snapshot.write_bytes(b"snapshot")
    # members_key of this file, weight 0.5, as 9c83280 (checkpoint format 2) computed it
    assert members_key([(snapshot, 0.5)], kind="weight_average") == (
        "47ba15f529c7b0561e0289c0fee2903ecf683640273f5ee63077f0bf1d717ad8"
    )
