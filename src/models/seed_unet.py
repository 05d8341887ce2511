"""The seed's U-Net: scSE after every encoder stage and decoder block, hypercolumn fusion, no dropout."""
import torch
import torch.nn.functional as F
from segmentation_models_pytorch.base.modules import SCSEModule
from torch import nn

from src.models.encoders import build_encoder, feature_sizes


def conv_bn_relu(in_channels, out_channels):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def scse(channels, reduction):
    """smp's scSE block; the reduction is capped so narrow layers keep at least one squeeze channel."""
    return SCSEModule(channels, reduction=min(reduction, channels))


class DecoderBlock(nn.Module):
    """Upsample by `scale` (1 keeps the size), concatenate the skip, two conv-BN-ReLU, scSE."""

    def __init__(self, in_channels, skip_channels, out_channels, scale, upsample, reduction):
        super().__init__()
        if scale == 1:
            self.up = nn.Identity()
        elif upsample == "transposed":
            self.up = nn.ConvTranspose2d(in_channels, in_channels, kernel_size=scale, stride=scale)
        else:
            self.up = nn.Upsample(scale_factor=scale, mode="bilinear", align_corners=False)
        self.convs = nn.Sequential(conv_bn_relu(in_channels + skip_channels, out_channels),
                                   conv_bn_relu(out_channels, out_channels))
        self.scse = scse(out_channels, reduction)

    def forward(self, x, skip=None):
        x = self.up(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.scse(self.convs(x))


class SeedUnet(nn.Module):
    """Returns logits (N, 1, H, W); with deep_supervision a dict with 'logits', 'aux' (per-scale logits at
    full size) and 'cls' (empty/non-empty logit per image) for training."""

    def __init__(self, encoder_name, encoder_weights, in_channels, stem, filters, upsample,
                 scse_reduction, deep_supervision, input_size):
        super().__init__()
        self.encoder = build_encoder(encoder_name, in_channels, encoder_weights, stem)
        channels = self.encoder.out_channels
        sizes = feature_sizes(self.encoder, in_channels, input_size)
        self.encoder_scse = nn.ModuleList([scse(c, scse_reduction) for c in channels])
        self.center = nn.Sequential(conv_bn_relu(channels[-1], filters), conv_bn_relu(filters, filters))
        blocks = []
        for skip in range(len(channels) - 2, -1, -1):  # deepest skip first
            scale = sizes[skip] // sizes[skip + 1]
            blocks.append(DecoderBlock(filters, channels[skip], filters, scale, upsample, scse_reduction))
        blocks.append(DecoderBlock(filters, 0, filters, input_size // sizes[0], upsample, scse_reduction))
        self.decoder = nn.ModuleList(blocks)
        n_scales = len(blocks) + 1
        self.fuse = nn.Sequential(conv_bn_relu(n_scales * filters, filters), nn.Conv2d(filters, 1, 1))
        self.deep_supervision = deep_supervision
        if deep_supervision:
            self.aux_heads = nn.ModuleList([nn.Conv2d(filters, 1, 1) for _ in range(n_scales)])
            self.cls_head = nn.Linear(channels[-1], 1)

    def forward(self, x):
        size = x.shape[-2:]
        features = [scse(f) for scse, f in zip(self.encoder_scse, self.encoder(x))]
        d = self.center(features[-1])
        scales = [d]
        for block, skip in zip(self.decoder, features[-2::-1] + [None]):
            d = block(d, skip)
            scales.append(d)
        hypercolumn = [F.interpolate(s, size=size, mode="bilinear", align_corners=False)
                       if s.shape[-2:] != size else s for s in scales]
        logits = self.fuse(torch.cat(hypercolumn, dim=1))
        if not (self.deep_supervision and self.training):
            return logits
        aux = [head(h) for head, h in zip(self.aux_heads, hypercolumn)]
        cls = self.cls_head(features[-1].mean(dim=(2, 3)))
        return {"logits": logits, "aux": aux, "cls": cls}
