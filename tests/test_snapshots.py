import numpy as np
import pytest
import torch
from torch import nn

from src.ensemble.averaging import average_state_dicts, weight_average
from src.ensemble.spec import rank_snapshots, snapshot_weights
from src.inference.probabilities import predict_probs


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


class Const(nn.Module):
    """A toy 'network' whose logit is a fixed map."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return torch.full((len(x), 1, 128, 128), self.value)


def test_ensemble_of_two_models_is_the_weighted_mean_of_probabilities():
    dataset = [{"x": torch.zeros(3, 128, 128)} for _ in range(5)]
    probs = predict_probs([(Const(2.0), 3.0), (Const(-1.0), 1.0)], dataset, tta=True, batch_size=2)
    expected = 0.75 * torch.sigmoid(torch.tensor(2.0)) + 0.25 * torch.sigmoid(torch.tensor(-1.0))
    assert probs.shape == (5, 101, 101) and np.allclose(probs, expected.item(), atol=1e-6)


def test_hflip_tta_averages_the_flipped_prediction_back():
    class LeftBright(nn.Module):
        def forward(self, x):  # logit depends on the input's left-right content
            return x[:, :1] * 10

    x = torch.zeros(3, 128, 128)
    x[0, :, :64] = 1.0
    probs = predict_probs([(LeftBright(), 1.0)], [{"x": x}], tta=True, batch_size=1)[0]
    assert probs[:, 0] == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item(), abs=1e-5)  # flip undone
    assert probs[:, -1] == pytest.approx(0.5, abs=1e-5)


def test_callback_writes_the_kept_snapshots_best_first_with_decaying_weights(tmp_path):
    from types import SimpleNamespace

    import yaml
    from pytorch_lightning.callbacks import ModelCheckpoint

    from src.ensemble.callback import SnapshotEnsemble
    from src.ensemble.run_folder import RunFolder
    from src.ensemble.spec import read_ensemble

    keeper = ModelCheckpoint(dirpath=tmp_path / "checkpoints", monitor="val/map", mode="max", save_top_k=3)
    keeper.best_k_models = {str(tmp_path / "checkpoints" / f"s{k}.ckpt"): torch.tensor(v)
                            for k, v in enumerate([0.61, 0.75, 0.70])}
    last = ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True, save_top_k=0)
    trainer = SimpleNamespace(checkpoint_callbacks=[last, keeper], is_global_zero=True, default_root_dir=tmp_path)
    SnapshotEnsemble(decay=0.5, mode="predictions").on_fit_end(trainer, None)
    spec = yaml.safe_load((tmp_path / "ensemble.yaml").read_text())
    assert [m["ckpt"] for m in spec["members"]] == ["s1.ckpt", "s2.ckpt", "s0.ckpt"]
    assert np.allclose([m["weight"] for m in spec["members"]], np.array([1, 0.5, 0.25]) / 1.75)
    mode, members = read_ensemble(RunFolder(tmp_path))
    assert mode == "predictions" and members[0][0] == tmp_path / "checkpoints" / "s1.ckpt"


def test_a_single_snapshot_is_used_as_it_is_even_in_weights_mode(tmp_path):
    from src.ensemble.run_folder import RunFolder
    from src.ensemble.spec import read_ensemble, write_ensemble

    run = RunFolder(tmp_path)
    write_ensemble(run, [(str(tmp_path / "checkpoints" / "s0.ckpt"), 0.7)], 0.8, "weights")
    assert read_ensemble(run) == ("predictions", [(tmp_path / "checkpoints" / "s0.ckpt", 1.0)])
    write_ensemble(run, [(str(tmp_path / "checkpoints" / f"s{k}.ckpt"), 0.7 - k / 10) for k in range(2)], 0.8,
                   "weights")
    assert read_ensemble(run)[0] == "weights"
