"""Tile prediction: hflip TTA in the training geometry, float32 out."""
import numpy as np
import torch

from src.data.datamodule import TileDataset
from src.data.preprocess import Preprocess
from src.data.tiles import mirror_padded
from src.inference.probabilities import predict_probs, tile_probs
from src.models.seed_unet import SeedUnet

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
    net = SeedUnet(encoder_name="resnet18", stem="standard", filters=8, scse_reduction=4).eval()
    images, depths = tiles()
    probs = tile_probs(net, padded(images, depths), tta=True)
    of_mirrored = tile_probs(net, padded(images[..., ::-1].copy(), depths), tta=True)
    assert probs.shape == (3, 101, 101)
    torch.testing.assert_close(of_mirrored, probs.flip(-1), atol=1e-6, rtol=0)


class Constant(torch.nn.Module):
    """Logit 0.0002 everywhere: probability 0.50005, which float16 would round to 0.5."""

    def forward(self, x):
        return torch.full((len(x), 1, *x.shape[-2:]), 2e-4)


def test_predictions_are_float32_whatever_the_network_trained_in():
    images, depths = tiles()
    probs = predict_probs([(Constant(), 1.0)], TileDataset(images, depths, PRE), tta=True)
    assert probs.dtype == np.float32 and (probs > 0.5).all()
