"""The 28th-place network as its authors published it (K-Mike/Automatic-salt-deposits-segmentation, `models.py`
UNetResNextHyperSE built as UNetResNextHyperSE50), written here from its description, layer for layer:

- Encoder: SE-ResNeXt-50 with its 7x7 stem conv at stride 1 and a 2x2 max-pool (a 128 input reaches layer1 at
  64x64), an scSE gate after the stem and after each of layer1..4, in series: each stage's gated output is what
  the next stage reads.
- Decoder: four blocks, each a 3x3 conv-BN-ReLU to `16 f / 16 f / 8 f / 4 f` channels, a 4x4 stride-2 transposed
  conv to `8 f / 8 f / 2 f / 4 f` (+ BN, ReLU) and an scSE gate (f = `filters`, 32 published). A block reads the
  previous block's output concatenated with the skip at that block's input resolution (layer3, layer2, layer1;
  the stem is no skip, there is no centre block).
- Hypercolumn: a 4x4 stride-2 conv to one channel on each of the three deeper decoder outputs, upsampled
  bilinearly to the input size, a 1x1 conv to one channel on the last; the four one-channel maps fused by a 1x1
  conv into the logits.
- scSE: x * spatial(x) + x * channel(x); the spatial gate is 1x1 conv C -> 16, ReLU, 1x1 conv 16 -> 1, sigmoid;
  the channel gate average-pools, then Linear C -> C/16, ReLU, Linear C/16 -> C, sigmoid.

Where the published module differs only in what it registers, this one leaves it out: its ImageNet classifier
and each decoder block's bilinear branch, never used in its forward. The stem gate is as wide as the stem
(64: 2 f at the published f = 32). Other ResNet-family encoders work: the widths follow their channels.
"""

import torch
import torch.nn.functional as F
from torch import nn

from src.models.encoders import build_encoder

GATE_HIDDEN = 16  # the spatial gate's hidden channels and the channel gate's reduction, as published


class SpatialGate(nn.Module):
    def __init__(self, channels, hidden=GATE_HIDDEN) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, hidden, 1)
        self.excite = nn.Conv2d(hidden, 1, 1)

    def forward(self, x) -> torch.Tensor:
        return torch.sigmoid(self.excite(F.relu(self.squeeze(x))))


class ChannelGate(nn.Module):
    def __init__(self, channels, reduction=GATE_HIDDEN) -> None:
        super().__init__()
        self.squeeze = nn.Linear(channels, max(channels // reduction, 1))
        self.excite = nn.Linear(max(channels // reduction, 1), channels)

    def forward(self, x) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3))
        return torch.sigmoid(self.excite(F.relu(self.squeeze(pooled))))[:, :, None, None]


class SCSEGate(nn.Module):
    """Spatial and channel squeeze-excitation, added: x * spatial(x) + x * channel(x)."""

    def __init__(self, channels) -> None:
        super().__init__()
        self.spatial, self.channel = SpatialGate(channels), ChannelGate(channels)

    def forward(self, x) -> torch.Tensor:
        return x * self.spatial(x) + x * self.channel(x)


class DecoderBlock(nn.Module):
    """3x3 conv-BN-ReLU to `middle`, 4x4 stride-2 transposed conv to `out` with BN and ReLU, scSE: twice the size."""

    def __init__(self, in_channels, middle, out) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(in_channels, middle, 3, padding=1), nn.BatchNorm2d(middle), nn.ReLU())
        self.up = nn.Sequential(nn.ConvTranspose2d(middle, out, 4, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU())
        self.gate = SCSEGate(out)

    def forward(self, x) -> torch.Tensor:
        return self.gate(self.up(self.conv(x)))


class SideOutput(nn.Module):
    """One decoder output's contribution to the hypercolumn: a 4x4 stride-2 conv to one channel, upsampled to the
    input size (bilinear)."""

    def __init__(self, channels) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 4, stride=2, padding=1)

    def forward(self, x, size) -> torch.Tensor:
        return F.interpolate(self.conv(x), size=size, mode="bilinear", align_corners=False)


class SeedUnet(nn.Module):
    """The published UNetResNextHyperSE (module docstring). forward() returns logits (N, 1, H, W) for padded inputs
    whose size is a multiple of 16. encoder_weights: smp's weight set (imagenet...), a state-dict file, or None."""

    reads_weight_files = True

    def __init__(
        self,
        *,
        encoder_name: str = "se_resnext50_32x4d",
        encoder_weights: str | None = None,
        in_channels: int = 3,
        filters: int = 32,
    ) -> None:
        super().__init__()
        self.encoder = build_encoder(encoder_name, in_channels, encoder_weights, "stride1")
        stem, c1, c2, c3, c4 = self.encoder.out_channels
        f = filters
        self.gates = nn.ModuleList([SCSEGate(c) for c in (stem, c1, c2, c3, c4)])
        self.dec4 = DecoderBlock(c4, 16 * f, 8 * f)
        self.dec3 = DecoderBlock(c3 + 8 * f, 16 * f, 8 * f)
        self.dec2 = DecoderBlock(c2 + 8 * f, 8 * f, 2 * f)
        self.dec1 = DecoderBlock(c1 + 2 * f, 4 * f, 4 * f)
        self.side4, self.side3, self.side2 = SideOutput(8 * f), SideOutput(8 * f), SideOutput(2 * f)
        self.side1 = nn.Conv2d(4 * f, 1, 1)
        self.fuse = nn.Conv2d(4, 1, 1)

    def encode(self, x) -> list[torch.Tensor]:
        """The gated stem, layer1, layer2, layer3 and layer4 outputs, each stage reading the one gated before it."""
        x = self.gates[0](self.encoder.pool(self.encoder.stem(x)))
        features = [x]
        for layer, gate in zip(self.encoder.layers, self.gates[1:]):
            x = gate(layer(x))
            features.append(x)
        return features

    def forward(self, x) -> torch.Tensor:
        size = x.shape[-2:]
        _, e1, e2, e3, e4 = self.encode(x)
        d4 = self.dec4(e4)
        d3 = self.dec3(torch.cat([d4, e3], 1))
        d2 = self.dec2(torch.cat([d3, e2], 1))
        d1 = self.dec1(torch.cat([d2, e1], 1))
        sides = [self.side1(d1), self.side2(d2, size), self.side3(d3, size), self.side4(d4, size)]
        return self.fuse(torch.cat(sides, 1))
