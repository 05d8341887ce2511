import numpy as np
import pytest
import torch
from segmentation_models_pytorch.losses import LovaszLoss
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from conftest import loss_terms
from src.losses.schedule import ScheduledLoss
from src.losses.terms import SymmetricLovasz


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(3, 1, 20, 20), (torch.rand(3, 1, 20, 20) > 0.5).float()


def test_bce_before_switch_epoch_mixed_after(batch):
    logits, target = batch
    loss = ScheduledLoss(loss_terms(bce=1.0), loss_terms(bce=0.1, lovasz=0.9), switch_epoch=80)
    lovasz = LovaszLoss(mode="binary", per_image=True)(logits, target)
    assert [loss.phase(e) for e in (0, 79, 80, 499)] == [0, 0, 1, 1]
    assert loss(logits, target, loss.phase(79)).item() == pytest.approx(bce(logits, target).item(), rel=1e-6)
    mixed = 0.1 * bce(logits, target) + 0.9 * lovasz
    assert loss(logits, target, loss.phase(80)).item() == pytest.approx(mixed.item(), rel=1e-6)
    assert loss(logits, target, loss.phase(85)).item() == pytest.approx(mixed.item(), rel=1e-6)


def test_a_budget_switch_follows_the_share_spent_not_the_epoch():
    loss = ScheduledLoss(loss_terms(bce=1.0), loss_terms(lovasz=1.0), switch_epoch=80, switch_at=0.6)
    assert [loss.phase(0, spent) for spent in (0.0, 0.59, 0.6, 1.0)] == [0, 0, 1, 1]
    assert loss.phase(200, 0.1) == 0 and loss.phase(80) == 1  # no budget known: the epoch rule


def test_single_phase_loss_never_switches(batch):
    assert ScheduledLoss(loss_terms(bce=1.0)).phase(10_000) == 0


def test_symmetric_lovasz_is_the_mean_of_both_directions(batch):
    logits, target = batch
    lovasz = LovaszLoss(mode="binary", per_image=True)
    expected = 0.5 * (lovasz(logits, target) + lovasz(-logits, 1 - target))
    assert SymmetricLovasz()(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)


def test_cyclic_lr_follows_triangular2():
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from src.utils.config import CONFIG_DIR

    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=seed"])
    optimizer = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(1))])
    scheduler = instantiate(cfg.scheduler.scheduler)(optimizer=optimizer)
    lrs = []
    for _ in range(4501):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step(), scheduler.step()
    expected = {0: 1e-4, 750: 2e-4, 1500: 3e-4, 3000: 1e-4, 4500: 2e-4}  # 2nd cycle's amplitude is halved
    assert np.allclose([lrs[s] for s in expected], list(expected.values()))
