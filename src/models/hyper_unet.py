"""The project's own U-Net (model=hyper_unet, what experiment=cpu_fast trains): scSE on every encoder stage's skip
and after every decoder block, a centre block, a hypercolumn of every scale fused by a conv, no dropout. It was this
project's reading of the 28th-place network before the team's code was compared (src/models/seed_unet.py is that
network)."""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.base.modules import SCSEModule
from torch import nn

from src.models.encoders import build_encoder


def conv_bn_relu(in_channels, out_channels) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def scse(channels, reduction) -> nn.Module:
    """smp's scSE block; the reduction is capped so narrow layers keep at least one squeeze channel."""
    return SCSEModule(channels, reduction=min(reduction, channels))


class DecoderBlock(nn.Module):
    """Upsample to the skip's size (`scale` times: 1 keeps it), concatenate the skip, two conv-BN-ReLU, scSE."""

    def __init__(self, in_channels, skip_channels, out_channels, scale, upsample, reduction) -> None:
        super().__init__()
        transposed = upsample == "transposed" and scale > 1
        self.up = nn.ConvTranspose2d(in_channels, in_channels, kernel_size=scale, stride=scale) if transposed else None
        self.convs = nn.Sequential(
            conv_bn_relu(in_channels + skip_channels, out_channels), conv_bn_relu(out_channels, out_channels)
        )
        self.scse = scse(out_channels, reduction)

    def forward(self, x, size, skip=None) -> torch.Tensor:
        if self.up is not None:
            x = self.up(x)
        if x.shape[-2:] != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.scse(self.convs(x))


class DeepOutputs(NamedTuple):
    logits: torch.Tensor  # (N, 1, H, W)
    aux: list  # per-scale logits at full size, one per hypercolumn scale
    cls: torch.Tensor  # (N, 1) empty / non-empty logit per image


class HyperUnet(nn.Module):
    """U-Net on an smp/timm encoder with the 2x stem (model.stem=stride1: 7x7 conv at stride 1, then a 2x2
    max-pool), scSE and a hypercolumn. forward() returns logits (N, 1, H, W) in training and eval alike; with
    deep_supervision, forward_deep() also returns per-scale logits and an empty/non-empty logit for the auxiliary
    losses (1st and 4th places). encoder_weights: smp's weight set (imagenet...), a state-dict file (loaded before
    the stem change), or None."""

    reads_weight_files = True

    def __init__(
        self,
        *,
        encoder_name: str = "se_resnext50_32x4d",
        encoder_weights: str | None = None,
        in_channels: int = 3,
        stem: str = "stride1",
        filters: int = 32,
        upsample: str = "bilinear",
        scse_reduction: int = 16,
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = build_encoder(encoder_name, in_channels, encoder_weights, stem)
        channels, strides = self.encoder.out_channels, self.encoder.strides
        self.encoder_scse = nn.ModuleList([scse(c, scse_reduction) for c in channels])
        self.center = nn.Sequential(conv_bn_relu(channels[-1], filters), conv_bn_relu(filters, filters))
        blocks = [
            DecoderBlock(filters, channels[skip], filters, strides[skip + 1] // strides[skip], upsample, scse_reduction)
            for skip in range(len(channels) - 2, -1, -1)
        ]  # deepest skip first
        blocks.append(DecoderBlock(filters, 0, filters, strides[0], upsample, scse_reduction))  # to the input size
        self.decoder = nn.ModuleList(blocks)
        n_scales = len(blocks) + 1
        self.fuse = nn.Sequential(conv_bn_relu(n_scales * filters, filters), nn.Conv2d(filters, 1, 1))
        self.deep_supervision = deep_supervision
        if deep_supervision:
            self.aux_heads = nn.ModuleList([nn.Conv2d(filters, 1, 1) for _ in range(n_scales)])
            self.cls_head = nn.Linear(channels[-1], 1)

    def _hypercolumn(self, x) -> torch.Tensor:
        """(per-scale decoder maps at the input size, deepest encoder features)."""
        size = x.shape[-2:]
        features = [scse(f) for scse, f in zip(self.encoder_scse, self.encoder(x))]
        d = self.center(features[-1])
        scales = [d]
        for block, skip in zip(self.decoder, features[-2::-1] + [None]):
            d = block(d, size if skip is None else skip.shape[-2:], skip)
            scales.append(d)
        hypercolumn = [
            F.interpolate(s, size=size, mode="bilinear", align_corners=False) if s.shape[-2:] != size else s
            for s in scales
        ]
        return hypercolumn, features[-1]

    def forward(self, x) -> torch.Tensor:
        hypercolumn, _ = self._hypercolumn(x)
        return self.fuse(torch.cat(hypercolumn, dim=1))

    def forward_deep(self, x) -> DeepOutputs:
        if not self.deep_supervision:
            raise ValueError("forward_deep needs a HyperUnet built with deep_supervision=True")
        hypercolumn, deepest = self._hypercolumn(x)
        return DeepOutputs(
            self.fuse(torch.cat(hypercolumn, dim=1)),
            [head(h) for head, h in zip(self.aux_heads, hypercolumn)],
            self.cls_head(deepest.mean(dim=(2, 3))),
        )
