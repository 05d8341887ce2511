"""The ensemble: ensemble.yaml (ranking, weights), weight averaging, the callback, and the networks that
`ckpt=` and `snapshots=N` stand for in both ensemble modes."""

import shutil

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from conftest import train_run, use_the_ensemble
from src.ensemble.averaging import average_state_dicts, weight_average
from src.ensemble.members import resolve_members
from src.ensemble.spec import rank_snapshots, read_ensemble, snapshot_weights
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder


def test_weights_decay_exponentially_and_sum_to_one():
    w = snapshot_weights(4, 0.5)
    assert np.allclose(w, np.array([1, 0.5, 0.25, 0.125]) / 1.875)


def test_snapshots_ranked_best_first():
    ranked = rank_snapshots({"a.ckpt": torch.tensor(0.7), "b.ckpt": torch.tensor(0.9), "c.ckpt": 0.8})
    assert [p for p, _ in ranked] == ["b.ckpt", "c.ckpt", "a.ckpt"]


def net():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 1))


def test_weight_average_of_identical_models_is_the_same_model():
    torch.manual_seed(0)
    a = net()
    b = net()
    b.load_state_dict(a.state_dict())
    x = torch.randn(8, 1, 16, 16)
    loader = [{"x": torch.randn(8, 1, 16, 16)} for _ in range(3)]
    ref = net()
    ref.load_state_dict(a.state_dict())
    from torch.optim.swa_utils import update_bn

    update_bn((batch["x"] for batch in loader), ref)
    averaged = weight_average([a, b], [0.7, 0.3], loader)
    with torch.no_grad():
        assert torch.allclose(averaged(x), ref.eval()(x), atol=1e-6)


def test_average_state_dicts_is_weighted_mean():
    sd1 = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    sd2 = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)}
    out = average_state_dicts([sd1, sd2], [0.75, 0.25])
    assert torch.allclose(out["w"], torch.tensor([1.5, 3.0])) and out["n"].item() == 3


def test_weights_that_do_not_sum_to_one_are_normalised():
    sd1, sd2 = {"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([3.0, 6.0])}
    out = average_state_dicts([sd1, sd2], [0.3, 0.1])  # the best 2 of a decay**i ensemble: 0.75 and 0.25 of them
    assert torch.equal(out["w"], average_state_dicts([sd1, sd2], [0.75, 0.25])["w"])


def test_callback_writes_the_kept_snapshots_best_first_with_decaying_weights(tmp_path):
    from types import SimpleNamespace

    import yaml
    from pytorch_lightning.callbacks import ModelCheckpoint

    from src.ensemble.callback import SnapshotEnsemble

    keeper = ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val/map", mode="max", save_top_k=3)
    keeper.best_k_models = {
        str(tmp_path / "checkpoints" / f"s{k}.ckpt"): torch.tensor(v) for k, v in enumerate([0.61, 0.75, 0.70])
    }
    last = ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True, save_top_k=0)
    trainer = SimpleNamespace(checkpoint_callbacks=[last, keeper], is_global_zero=True, default_root_dir=tmp_path)
    SnapshotEnsemble(decay=0.5, mode="predictions").on_fit_end(trainer, None)
    spec = yaml.safe_load((tmp_path / "ensemble.yaml").read_text())
    assert [m["ckpt"] for m in spec["members"]] == ["s1.ckpt", "s2.ckpt", "s0.ckpt"]
    assert np.allclose([m["weight"] for m in spec["members"]], np.array([1, 0.5, 0.25]) / 1.75)
    mode, members = read_ensemble(RunFolder(tmp_path))
    assert mode == "predictions" and members[0][0] == tmp_path / "checkpoints" / "s1.ckpt"


def test_a_single_snapshot_is_used_as_it_is_even_in_weights_mode(tmp_path):
    from src.ensemble.spec import write_ensemble

    run = RunFolder(tmp_path)
    write_ensemble(run, [(str(tmp_path / "checkpoints" / "s0.ckpt"), 0.7)], 0.8, "weights")
    assert read_ensemble(run) == ("predictions", [(tmp_path / "checkpoints" / "s0.ckpt", 1.0)])
    write_ensemble(
        run, [(str(tmp_path / "checkpoints" / f"s{k}.ckpt"), 0.7 - k / 10) for k in range(2)], 0.8, "weights"
    )
    assert read_ensemble(run)[0] == "weights"


@pytest.fixture(scope="module")
def three_snapshot_run(tmp_path_factory, synthetic_root):
    return use_the_ensemble(
        train_run(
            tmp_path_factory.mktemp("members") / "run",
            f"data.root={synthetic_root}",
            "trainer.max_epochs=3",
            "ensemble.top_k=3",
            "ensemble.mode=weights",
        )
    )


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
    ((top2, weight),) = resolve_members(run, 2)[0]
    assert top2 == run / "checkpoints" / "weight_average_top2.ckpt" and weight == 1.0
    assert differs(state(top2), state(run / "checkpoints" / "weight_average.ckpt"))
    assert differs(state(top2), state(snapshots[0][0]))
    made = top2.stat().st_mtime_ns
    assert resolve_members(run, 2)[0][0][0] == top2 and top2.stat().st_mtime_ns == made  # made once, kept


def test_the_average_of_the_best_n_is_their_normalised_weighted_mean(three_snapshot_run):
    run = three_snapshot_run
    _, snapshots = read_ensemble(RunFolder(run))
    ((top2, _),) = resolve_members(run, 2)[0]
    weights = [w for _, w in snapshots[:2]]
    assert sum(weights) < 0.9  # 1 and 0.8 of 2.44 (decay 0.8): the weights as ensemble.yaml gives them
    states = [state(p) for p, _ in snapshots[:2]]
    averaged = state(top2)
    learned = [k for k in averaged if averaged[k].is_floating_point() and "running_" not in k]  # BN stats recomputed
    assert "net.fuse.weight" in learned  # the head convolution, with no BatchNorm after it
    for key in learned:
        expected = (weights[0] * states[0][key] + weights[1] * states[1][key]) / sum(weights)
        torch.testing.assert_close(averaged[key], expected, rtol=1e-6, atol=1e-7)


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
    with pytest.raises(
        UserError,
        match="snapshots=2: averaging the best 2 snapshots .* needs its training tiles: data folder .*moved not found",
    ):
        resolve_members(run, 2)
