"""The 28th-place network as published (UNetResNextHyperSE50): each stage's output shape for a 128 x 128 input,
each block's parameter count as the published widths give it, the total in the forward (48.5 M), the scSE gates
in series through the encoder, and other encoders laid out from their own channels."""

import pytest
import torch

from src.models.seed_unet import SCSEGate, SeedUnet


def conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def gate(c):
    """scSE as published: spatial 1x1 c->16, 16->1; channel Linear c->c/16, c/16->c (all with biases)."""
    return conv(c, 16, 1) + conv(16, 1, 1) + (c * (c // 16) + c // 16) + (c // 16 * c + c)


def decoder_block(cin, middle, out):
    """3x3 conv (bias) + BN, 4x4 transposed conv (bias) + BN, scSE."""
    return conv(cin, middle, 3) + 2 * middle + conv(middle, out, 4) + 2 * out + gate(out)


@pytest.fixture(scope="module")
def published():
    return SeedUnet().eval()  # SE-ResNeXt-50, filters 32, random init


def count(module):
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def test_each_stage_has_the_published_shape(published):
    x = torch.randn(1, 3, 128, 128)
    features = published.encode(x)
    assert [tuple(f.shape[1:]) for f in features] == [
        (64, 64, 64),  # the 7x7 stem at stride 1, then a 2x2 max-pool
        (256, 64, 64),
        (512, 32, 32),
        (1024, 16, 16),
        (2048, 8, 8),
    ]
    _, e1, e2, e3, e4 = features
    d4 = published.dec4(e4)
    d3 = published.dec3(torch.cat([d4, e3], 1))
    d2 = published.dec2(torch.cat([d3, e2], 1))
    d1 = published.dec1(torch.cat([d2, e1], 1))
    assert [tuple(d.shape[1:]) for d in (d4, d3, d2, d1)] == [
        (256, 16, 16),
        (256, 32, 32),
        (64, 64, 64),
        (128, 128, 128),
    ]
    assert tuple(published.side4(d4, (128, 128)).shape) == (1, 1, 128, 128)
    assert tuple(published(x).shape) == (1, 1, 128, 128)


def test_each_block_has_the_published_parameter_count_and_the_forward_48_5_million(published):
    assert count(published.dec4) == decoder_block(2048, 512, 256)
    assert count(published.dec3) == decoder_block(1024 + 256, 512, 256)
    assert count(published.dec2) == decoder_block(512 + 256, 256, 64)
    assert count(published.dec1) == decoder_block(256 + 64, 128, 128)
    assert [count(g) for g in published.gates] == [gate(c) for c in (64, 256, 512, 1024, 2048)]
    sides = [published.side4, published.side3, published.side2, published.side1, published.fuse]
    assert [count(s) for s in sides] == [
        conv(256, 1, 4),
        conv(256, 1, 4),
        conv(64, 1, 4),
        conv(128, 1, 1),
        conv(4, 1, 1),
    ]
    assert count(published.encoder) == 25_510_896  # SE-ResNeXt-50 without its ImageNet classifier
    assert count(published) == 48_513_410  # every parameter takes part in the forward


def test_the_gates_are_in_series_each_stage_reads_the_gated_output(published):
    """Zeroing layer1's gate (both halves 0) must starve everything after it: the published encoder feeds each
    gated stage to the next, so a gate on a copy sent to the decoder only would leave layer2 untouched."""
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        before = published.encode(x)[2]
        silenced = SeedUnet().eval()
        silenced.load_state_dict(published.state_dict())
        gate1 = silenced.gates[1]
        for module in (gate1.spatial.excite, gate1.channel.excite):
            module.weight.zero_()
            module.bias.fill_(-1e4)  # sigmoid 0: x * 0 + x * 0
        after = silenced.encode(x)
    assert (after[1] == 0).all() and not torch.allclose(after[2], before)


def test_scse_adds_the_spatially_and_the_channel_gated_maps():
    torch.manual_seed(0)
    block, x = SCSEGate(32), torch.randn(2, 32, 8, 8)
    expected = x * block.spatial(x) + x * block.channel(x)
    assert torch.equal(block(x), expected) and tuple(block.spatial(x).shape) == (2, 1, 8, 8)
    assert tuple(block.channel(x).shape) == (2, 32, 1, 1)


@pytest.mark.parametrize(
    "encoder, channels", [("resnet34", (64, 64, 128, 256, 512)), ("resnet18", (64, 64, 128, 256, 512))]
)
def test_other_encoders_follow_their_own_channels(encoder, channels):
    net = SeedUnet(encoder_name=encoder, filters=8).eval()
    assert count(net.dec4) == decoder_block(channels[4], 128, 64)
    assert count(net.dec1) == decoder_block(channels[1] + 16, 32, 32)
    with torch.no_grad():
        assert tuple(net(torch.randn(2, 3, 96, 96)).shape) == (2, 1, 96, 96)
