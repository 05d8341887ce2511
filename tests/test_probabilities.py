"""Tile probabilities: weighted ensembles, hflip TTA in the training geometry, float32 out; one path for every
caller (src/inference/backends.py::predict_tiles)."""

import numpy as np
import pytest
import torch
from torch import nn

from src.data.preprocess import Preprocess
from src.data.tiles import mirror_padded
from src.inference.backends import predict_tiles
from src.inference.tta import mean_view, network_probs, tta_views
from src.models.hyper_unet import HyperUnet

PRE = Preprocess(("image", "depth", "coord"), mean=0.45, std=0.2, zmin=50.0, zmax=950.0, input_size=128)


def tiles(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 101, 101)).astype(np.uint8), rng.uniform(50, 950, n).astype(np.float32)


def padded(images, depths):
    return torch.from_numpy(np.stack([PRE(t, z) for t, z in zip(images, depths)]))


def test_the_mirrored_view_is_the_mirrored_tile_padded_as_in_training():
    images, depths = tiles()
    assert torch.equal(mirror_padded(padded(images, depths)), padded(images[..., ::-1].copy(), depths))


def test_tta_of_a_mirrored_tile_is_the_mirrored_tta_of_the_tile():
    torch.manual_seed(0)
    net = HyperUnet(encoder_name="resnet18", stem="standard", filters=8, scse_reduction=4).eval()
    images, depths = tiles()
    with torch.no_grad():
        probs = mean_view(tta_views(lambda v: network_probs(net, v), padded(images, depths), tta=True))
        mirrored = padded(images[..., ::-1].copy(), depths)
        of_mirrored = mean_view(tta_views(lambda v: network_probs(net, v), mirrored, tta=True))
    assert probs.shape == (3, 101, 101)
    torch.testing.assert_close(of_mirrored, probs.flip(-1), atol=1e-6, rtol=0)


class Const(nn.Module):
    """A toy 'network' whose logit is a fixed map."""

    preprocess = PRE

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return torch.full((len(x), 1, 128, 128), self.value)


def test_predictions_are_float32_whatever_the_network_trained_in():
    images, depths = tiles()
    probs = predict_tiles([(Const(2e-4), 1.0)], images, depths, tta=True)  # p = 0.50005
    assert probs.dtype == np.float32 and (probs > 0.5).all()


def test_ensemble_of_two_models_is_the_weighted_mean_of_probabilities():
    images, depths = tiles(5)
    probs = predict_tiles([(Const(2.0), 3.0), (Const(-1.0), 1.0)], images, depths, tta=True, batch_size=2)
    expected = 0.75 * torch.sigmoid(torch.tensor(2.0)) + 0.25 * torch.sigmoid(torch.tensor(-1.0))
    assert probs.shape == (5, 101, 101) and np.allclose(probs, expected.item(), atol=1e-6)


def test_hflip_tta_averages_the_flipped_prediction_back():
    class LeftBright(nn.Module):
        preprocess = Preprocess(("image",), mean=0.0, std=1.0, zmin=0.0, zmax=1.0, input_size=128)

        def forward(self, x):  # logit depends on the input's left-right content
            return x[:, :1] * 10

    image = np.zeros((1, 101, 101), np.uint8)
    image[0, :, :50] = 255
    probs = predict_tiles([(LeftBright(), 1.0)], image, np.zeros(1, np.float32), tta=True, batch_size=1)[0]
    assert probs[:, 0] == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item(), abs=1e-5)  # flip undone
    assert probs[:, -1] == pytest.approx(0.5, abs=1e-5)
