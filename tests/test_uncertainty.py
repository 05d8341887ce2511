"""Uncertainty and calibration against hand-made cases: the mutual information of views, ECE, the reliability
bins, temperature scaling and the AUROC of wrong pixels; the backends' views (PyTorch and ONNX agree, and their
mean is the probability every task uses); sections blend several maps per window alike."""

import logging

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from src.ensemble.members import load_members, plan_ensemble
from src.inference.backends import OnnxBackend, TorchBackend, prediction_maps
from src.inference.calibration import kept_temperature
from src.inference.onnx import cached_graph
from src.inference.uncertainty import binary_entropy, mutual_information
from src.metrics.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability,
    uncertainty_auroc,
)
from src.sections.tiling import section_probs
from src.tasks.predict import describe_uncertainty


def test_mutual_information_is_zero_when_views_agree_and_one_bit_when_they_contradict():
    agree = np.full((3, 1, 2, 2), 0.3, np.float32)
    assert np.allclose(mutual_information(agree, np.full(3, 1 / 3)), 0.0, atol=1e-6)
    contradict = np.stack([np.zeros((1, 2, 2)), np.ones((1, 2, 2))]).astype(np.float32)
    assert np.allclose(mutual_information(contradict, [0.5, 0.5]), 1.0, atol=1e-3)
    # weights 0.9 / 0.1 on 0.1 and 0.9: the mean is 0.18, each view has H(0.1)
    views = np.array([[[[0.1]]], [[[0.9]]]], np.float32)
    expected = binary_entropy(np.float32(0.18)) - binary_entropy(np.float32(0.1))
    assert mutual_information(views, [0.9, 0.1])[0, 0, 0] == pytest.approx(expected, abs=1e-5)
    assert binary_entropy(np.array([0.5]))[0] == pytest.approx(1.0)


def test_ece_and_reliability_on_hand_made_cases():
    probs = np.full(10, 0.8, np.float32)
    truth = np.array([1] * 8 + [0] * 2, bool)
    assert expected_calibration_error(probs, truth) == pytest.approx(0.0, abs=1e-6)
    assert expected_calibration_error(np.full(4, 0.9), np.array([1, 0, 1, 0], bool)) == pytest.approx(0.4, abs=1e-6)
    # two bins: 0.1 (all wrong: share 1) and 0.7, exactly on an edge: the bin above (share 0.5);
    # ECE = (2 * 0.9 + 2 * 0.2) / 4
    probs = np.array([0.1, 0.1, 0.7, 0.7], np.float32)
    truth = np.array([1, 1, 1, 0], bool)
    confidence, frequency, counts = reliability(probs, truth, bins=10)
    assert counts.tolist() == [0, 2, 0, 0, 0, 0, 0, 2, 0, 0]
    assert frequency[1] == 1.0 and frequency[7] == 0.5 and np.isnan(frequency[0])
    assert confidence[7] == pytest.approx(0.7)
    assert expected_calibration_error(probs, truth, bins=10) == pytest.approx(0.55, abs=1e-6)


def test_reliability_bins_give_torchmetrics_ece():
    rng = np.random.default_rng(0)
    probs = rng.random(20000).astype(np.float32)
    truth = rng.random(20000) < probs**2
    confidence, frequency, counts = reliability(probs, truth)
    seen = counts > 0
    ours = (np.abs(confidence - frequency)[seen] * counts[seen]).sum() / counts.sum()
    assert ours == pytest.approx(expected_calibration_error(probs, truth), abs=1e-5)


def test_temperature_scaling_recovers_the_over_confidence_and_keeps_the_half_crossing():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, 200000)
    truth = rng.random(len(logits)) < 1 / (1 + np.exp(-logits))  # calibrated at T = 1 on these logits
    over_confident = 1 / (1 + np.exp(-3 * logits))  # every logit tripled
    temperature = fit_temperature(over_confident, truth)
    assert temperature == pytest.approx(3.0, rel=0.05)
    calibrated = apply_temperature(over_confident, temperature)
    assert expected_calibration_error(calibrated, truth) < 0.01 < expected_calibration_error(over_confident, truth)
    assert np.array_equal(calibrated > 0.5, over_confident > 0.5)
    assert np.array_equal(apply_temperature(over_confident, 1.0), over_confident.astype(np.float32))


def test_auroc_counts_ties_half_and_refuses_one_class():
    wrong = np.array([1, 1, 0, 0], bool)
    assert uncertainty_auroc(np.array([0.9, 0.8, 0.1, 0.2]), wrong) == pytest.approx(1.0)
    assert uncertainty_auroc(np.array([0.1, 0.2, 0.9, 0.8]), wrong) == pytest.approx(0.0)
    assert uncertainty_auroc(np.full(4, 0.5), wrong) == pytest.approx(0.5)
    assert uncertainty_auroc(np.array([0.9, 0.5, 0.5, 0.1]), wrong) == pytest.approx(0.875)
    with pytest.raises(ValueError, match="both wrong and right"):
        uncertainty_auroc(np.ones(3), np.zeros(3, bool))


def test_sections_blend_several_maps_as_each_alone():
    section = np.random.default_rng(0).integers(0, 256, (150, 230)).astype(np.uint8)

    def one(tiles, depths):
        return tiles.astype(np.float32) / 255

    def two(tiles, depths):
        return np.stack([one(tiles, depths), 1 - one(tiles, depths)], 1)

    alone = section_probs(section, one, lambda row: 0.0, overlap=30)
    both = section_probs(section, two, lambda row: 0.0, overlap=30)
    assert both.shape == (2, 150, 230)
    assert np.allclose(both[0], alone, atol=1e-6) and np.allclose(both[1], 1 - alone, atol=1e-5)


@pytest.fixture(scope="module")
def tiles():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 101, 101)).astype(np.uint8), rng.uniform(0, 1000, 5).astype(np.float32)


def test_backend_views_hold_each_member_under_each_tta_view(trained_run, tiles):
    members = load_members(trained_run, 2)[0]
    backend = TorchBackend(members, tta=True)
    mean, views, weights = backend.views(*tiles)
    assert views.shape == (2 * len(members), 5, 101, 101) and weights.sum() == pytest.approx(1.0)
    assert np.array_equal(mean, backend(*tiles))  # the probability every task uses, bit for bit
    assert np.allclose((weights[:, None, None, None] * views).sum(0), mean, atol=1e-6)
    flipped = TorchBackend(members, tta=False).views(tiles[0][..., ::-1].copy(), tiles[1])[1]
    assert np.allclose(views[1], flipped[0][..., ::-1], atol=1e-5)  # the second view: the mirror, flipped back
    maps = prediction_maps(backend, *tiles, uncertainty=True)
    assert maps.shape == (5, 2, 101, 101) and maps[:, 1].min() >= 0 and maps[:, 1].max() > 0
    single = prediction_maps(TorchBackend(members[:1], tta=False), *tiles, uncertainty=True)
    assert np.allclose(single[:, 1], 0.0, atol=1e-6)  # one view cannot disagree with itself


def test_predict_records_how_many_networks_and_views_its_uncertainty_comes_from(trained_run, caplog):
    network = load_members(trained_run)[0][0][0]
    members = [(network, 0.5), (network, 0.5)]  # two networks, as two folds would give
    cfg = OmegaConf.create({"ckpt": "run", "predict": {"uncertainty": True}})
    caplog.set_level(logging.WARNING)
    described = describe_uncertainty(cfg, TorchBackend(members))
    assert described == "mutual information, bits, of 2 network(s) x 2 TTA view(s)"
    assert caplog.text == ""  # independently trained networks to disagree: no warning
    assert describe_uncertainty(cfg, TorchBackend(members[:1], tta=False)).endswith("1 network(s) x 1 TTA view(s)")
    assert "run is one network: its uncertainty is only what its 1 TTA view(s) disagree on (0 everywhere)" in (
        caplog.text
    )
    cfg.predict.uncertainty = False
    assert describe_uncertainty(cfg, TorchBackend(members)) is None


def test_onnx_views_agree_with_pytorch(trained_run, tiles):
    torch.manual_seed(0)
    onnx = OnnxBackend(cached_graph(plan_ensemble(trained_run, 2)), tta=True)
    torch_views = TorchBackend(load_members(trained_run, 2)[0], tta=True).views(*tiles)
    onnx_views = onnx.views(*tiles)
    assert np.array_equal(onnx_views[0], onnx(*tiles))
    assert onnx.networks == len(torch_views[2]) // 2  # two TTA views per network
    assert sorted(onnx_views[2].round(6)) == sorted(torch_views[2].round(6))
    for ours, theirs in zip(onnx_views[:2], torch_views[:2]):
        assert np.abs(ours - theirs).max() < 1e-3


class FixedViews:
    """A backend whose member views are given: member k's probabilities on the tiles, one TTA view each."""

    has_views = True

    def __init__(self, members):
        self.members = np.stack(members)

    def views(self, tiles, depths):
        weights = np.full(len(self.members), 1 / len(self.members), np.float32)
        return np.einsum("v,v...->...", weights, self.members), self.members, weights

    def __call__(self, tiles, depths):
        return self.views(tiles, depths)[0]


def test_calibrating_each_member_before_averaging_fits_the_ensemble_better_than_one_pooled_temperature():
    """Two over-confident members (logits x3 and x2 of the truth's, with their own noise): each one's temperature
    fitted on its own out-of-fold pixels, applied member by member, calibrates the average on pixels neither saw
    better than one temperature fitted on the pooled folds and applied to the average (the average of two
    networks is less extreme than either, so that temperature over-softens it)."""
    rng = np.random.default_rng(0)
    scales = (3.0, 2.0)

    def pixels(n):
        z = rng.normal(0, 2, (n, 1, 1))
        return z, rng.random(z.shape) < 1 / (1 + np.exp(-z))

    def member(z, k):
        return (1 / (1 + np.exp(-scales[k] * (z + rng.normal(0, 1, z.shape))))).astype(np.float32)

    folds = [pixels(100_000) for _ in scales]
    oof = [(member(z, k), t) for k, (z, t) in enumerate(folds)]
    own = [kept_temperature(p.ravel(), t.ravel())[0] for p, t in oof]
    pooled = kept_temperature(np.concatenate([p.ravel() for p, _ in oof]), np.concatenate([t.ravel() for _, t in oof]))[
        0
    ]
    z, truth = pixels(100_000)
    backend = FixedViews([member(z, k) for k in range(len(scales))])
    maps = prediction_maps(backend, np.zeros(len(z)), np.zeros(len(z)), own)
    as_trained, per_member = maps[:, 0], maps[:, 1]
    assert np.array_equal(as_trained, backend(None, None))
    one_temperature = apply_temperature(as_trained, pooled)
    ece_trained, ece_pooled = (
        expected_calibration_error(as_trained, truth),
        expected_calibration_error(one_temperature, truth),
    )
    ece_members = expected_calibration_error(per_member, truth)
    assert ece_members < 0.7 * ece_pooled < ece_trained
