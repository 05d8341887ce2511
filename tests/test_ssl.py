"""Semi-supervised training: pseudo-label selection and cache, mean-teacher EMA, no leakage into validation."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from conftest import train_run
from src.models.mean_teacher import MeanTeacher, sigmoid_rampup
from src.ssl.pseudo import confident_tiles, pseudo_labels


def test_confident_tiles_on_hand_made_maps():
    probs = np.full((4, 10, 10), 0.05, np.float32)
    probs[1, :, :5] = 0.95  # all confident, half salt
    probs[2, :2] = 0.5  # 20 % unsure -> out at 0.9, in at 0.8
    probs[3] = 0.6  # all unsure
    assert confident_tiles(probs, 0.2, 0.8, 0.9).tolist() == [True, True, False, False]
    assert confident_tiles(probs, 0.2, 0.8, 0.8).tolist() == [True, True, True, False]


def test_ema_update_matches_the_formula_and_teacher_gets_no_gradient():
    torch.manual_seed(0)
    student = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2))
    mt = MeanTeacher(student, decay=0.9, noise_std=0.1)
    before = {k: v.clone() for k, v in mt.teacher.state_dict().items()}
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    mt.update(student)
    for key, value in mt.teacher.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.9 * before[key] + 0.1 * student.state_dict()[key])
    loss = mt.consistency(student, torch.randn(2, 1, 128, 128))  # padded tiles
    loss.backward()
    assert all(p.grad is None for p in mt.teacher.parameters())
    assert all(not p.requires_grad for p in mt.teacher.parameters())
    assert any(p.grad is not None for p in student.parameters())


def test_rampup_goes_from_small_to_one():
    assert sigmoid_rampup(0, 100) == pytest.approx(np.exp(-5))
    assert sigmoid_rampup(100, 100) == 1.0 and sigmoid_rampup(500, 100) == 1.0


def ssl_cfg(teacher, cache_dir, **kw):
    base = dict(
        mode="pseudo",
        teacher=str(teacher),
        teacher_snapshots=1,
        unlabelled="test/images",
        tta=False,
        low=0.2,
        high=0.8,
        confident_fraction=0.0,
        threshold=0.5,
        ratio=0.3,
        cache_dir=str(cache_dir),
    )
    return OmegaConf.create({**base, **kw})


def test_pseudo_label_cache_reused_and_invalidated_when_the_teacher_changes(trained_run, synthetic_root, tmp_path):
    import shutil

    teacher = tmp_path / "teacher.ckpt"
    shutil.copy(trained_run / "checkpoints" / "last.ckpt", teacher)
    cfg = ssl_cfg(teacher, tmp_path / "cache")
    first = pseudo_labels(cfg, synthetic_root, cfg.cache_dir)
    assert len(first[0]) == 12 and first[2].dtype == bool  # confident_fraction 0 keeps every tile
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    again = pseudo_labels(cfg, synthetic_root, cfg.cache_dir)
    assert np.array_equal(first[2], again[2]) and len(list((tmp_path / "cache").glob("*.npz"))) == 1
    ckpt = torch.load(teacher, weights_only=False)
    ckpt["state_dict"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, teacher)
    pseudo_labels(cfg, synthetic_root, cfg.cache_dir)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_pseudo_labels_reach_training_at_their_ratio_and_never_validation(synthetic_root):
    from src.data.datamodule import TGSDataModule, load_unlabelled
    from src.ssl.mixing import PseudoLabelled, SemiSupervised, Unlabelled

    _, images, depths = load_unlabelled(synthetic_root)
    dm = TGSDataModule(root=synthetic_root, seed=0, batch_size=4)
    mixed = SemiSupervised(
        dm,
        pseudo=PseudoLabelled(images, depths, np.ones((len(images), 101, 101), bool), ratio=0.5),
        unlabelled=Unlabelled(images, depths, batch_size=4),
    )
    mixed.setup()
    val_x = torch.cat([b["x"] for b in mixed.val_dataloader()])
    labelled_val = torch.stack([dm.subset(dm.val_idx)[k]["x"] for k in range(len(dm.val_idx))])
    assert torch.equal(val_x, labelled_val)
    unlabelled_x = torch.stack([torch.from_numpy(dm.preprocess(i, z)) for i, z in zip(images, depths)])
    assert not any(torch.equal(v, u) for v in val_x for u in unlabelled_x)
    train = mixed.train_dataloader()
    assert set(train) == {"labelled", "unlabelled"}
    torch.manual_seed(0)
    served = torch.cat([b["x"] for b in train["labelled"]])
    pseudo = sum(any(torch.equal(x, u) for u in unlabelled_x) for x in served)
    assert len(served) == 2 * len(dm.train_idx) and 0.3 < pseudo / len(served) < 0.7  # ratio 0.5


def test_a_mean_teacher_epoch_is_one_pass_over_the_labelled_tiles(synthetic_root):
    from pytorch_lightning.utilities import CombinedLoader

    from src.data.datamodule import TGSDataModule, load_unlabelled
    from src.ssl.mixing import SemiSupervised, Unlabelled

    _, images, depths = load_unlabelled(synthetic_root)
    many = Unlabelled(np.concatenate([images] * 10), np.concatenate([depths] * 10), batch_size=3)  # 120 tiles
    dm = TGSDataModule(root=synthetic_root, seed=0, batch_size=4)  # 32 labelled training tiles
    mixed = SemiSupervised(dm, unlabelled=many)
    mixed.setup()
    train = mixed.train_dataloader()
    labelled_batches = len(dm.train_idx) // 4
    assert len(train["labelled"]) == labelled_batches == 8
    batches = list(CombinedLoader(train, "max_size_cycle"))  # how Lightning iterates a dict of loaders
    assert len(batches) == labelled_batches and all(len(b[0]["unlabelled"]["x"]) == 3 for b in batches)


@pytest.mark.parametrize("mode", ["pseudo", "mean_teacher"])
def test_train_end_to_end_with_ssl(mode, trained_run, synthetic_root, tmp_path):
    extra = (
        [f"ssl.teacher={trained_run}", "ssl.confident_fraction=0.5", f"ssl.cache_dir={tmp_path / 'cache'}"]
        if mode == "pseudo"
        else ["ssl.unlabelled_batch_size=4", "ssl.rampup_steps=2"]
    )
    train_run(tmp_path / "run", f"data.root={synthetic_root}", f"ssl={mode}", *extra)
    assert (tmp_path / "run" / "oof.npz").exists()
    if mode == "mean_teacher":
        metrics = (tmp_path / "run" / "logs" / "metrics.csv").read_text()
        assert "train/consistency" in metrics
