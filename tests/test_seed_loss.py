"""The 28th-place team's loss as their code computes it (loss=seed): BCE, then 0.9 x the Lovasz hinge over the
whole batch with ELU on the sorted errors + 0.1 x BCEWithLogitsLoss of the probabilities, checked against an
independent route (the Lovasz extension by sets, the BCE by its formula), and the corrected variant beside it."""

import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import compose_config
from src.losses.schedule import ScheduledLoss
from src.losses.terms import BCEWithLogitsOfProbabilities, LovaszHingeELU


def elu(e):
    return e if e > 0 else math.exp(e) - 1


def lovasz_by_sets(logits, truth):
    """sum_i ELU(e_i) (J(S_i) - J(S_i-1)) over the pixels sorted by hinge error e = 1 - z (2y - 1), most wrong
    first, where S_i is the set of the i most wrong pixels and J(S) = 1 - |salt less S| / |salt or S|."""
    z, y = np.ravel(logits).astype(float), np.ravel(truth).astype(int)
    errors = 1 - z * (2 * y - 1)
    order = sorted(range(len(z)), key=lambda i: -errors[i])
    salt = {i for i in range(len(z)) if y[i] == 1}
    total, previous, taken = 0.0, 0.0, set()
    for i in order:
        taken.add(i)
        jaccard = 1 - len(salt - taken) / len(salt | taken)
        total += elu(errors[i]) * (jaccard - previous)
        previous = jaccard
    return total


def bce_of_probabilities(logits, truth):
    q = 1 / (1 + np.exp(-1 / (1 + np.exp(-np.asarray(logits, float)))))  # sigmoid(sigmoid(z))
    y = np.asarray(truth, float)
    return float(np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q))))


@pytest.fixture
def batch():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 5, 5) * 2
    truth = torch.zeros(3, 1, 5, 5)
    truth[0, :, 1:4, 1:4] = 1
    truth[1, :, :2] = 1  # the third image holds no salt
    return logits, truth


def test_the_lovasz_hinge_with_elu_over_the_batch_matches_the_extension_by_sets(batch):
    logits, truth = batch
    loss = LovaszHingeELU(per_image=False)(logits, truth)
    assert loss.item() == pytest.approx(lovasz_by_sets(logits.numpy(), truth.numpy()), rel=1e-5)
    per_image = LovaszHingeELU(per_image=True)(logits, truth)
    by_image = np.mean([lovasz_by_sets(z.numpy(), y.numpy()) for z, y in zip(logits, truth)])
    assert per_image.item() == pytest.approx(by_image, rel=1e-5) and abs(per_image.item() - loss.item()) > 1e-3


def test_the_bce_term_is_of_sigmoid_applied_twice(batch):
    logits, truth = batch
    term = BCEWithLogitsOfProbabilities()(logits, truth)
    assert term.item() == pytest.approx(bce_of_probabilities(logits.numpy(), truth.numpy()), rel=1e-6)
    true_bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, truth).item()
    assert abs(term.item() - true_bce) > 0.05  # not the BCE of the logits
    ignored = truth.clone()
    ignored[2] = 255  # a survey's uninterpreted samples count for nothing
    masked = BCEWithLogitsOfProbabilities(ignore_index=255)(logits, ignored)
    assert masked.item() == pytest.approx(bce_of_probabilities(logits[:2].numpy(), truth[:2].numpy()), rel=1e-6)


def test_loss_seed_is_bce_then_the_published_mix(batch):
    logits, truth = batch
    loss = OmegaConf.to_container(compose_config("train", "experiment=seed").loss)
    scheduled = ScheduledLoss(loss["first"], loss["second"], loss["switch_epoch"])
    assert scheduled.phase(79) == 0 and scheduled.phase(80) == 1
    first = torch.nn.functional.binary_cross_entropy_with_logits(logits, truth).item()
    assert scheduled(logits, truth, 0).item() == pytest.approx(first, rel=1e-6)
    published = 0.9 * lovasz_by_sets(logits.numpy(), truth.numpy()) + 0.1 * bce_of_probabilities(logits, truth)
    assert scheduled(logits, truth, 1).item() == pytest.approx(published, rel=1e-5)
    corrected = OmegaConf.to_container(compose_config("train", "experiment=seed", "loss=seed_corrected").loss)
    fixed = ScheduledLoss(corrected["first"], corrected["second"], corrected["switch_epoch"])
    assert abs(fixed(logits, truth, 1).item() - published) > 1e-3  # per-image ReLU Lovasz + a true BCE
