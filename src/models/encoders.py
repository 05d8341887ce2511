"""Encoders from segmentation-models-pytorch / timm, with the seed's stem change.

The seed keeps the 7x7 stem conv but at stride 1 and pools 2x2, so a 128 input is only downsampled 2x
before layer1 (features 64, 64, 32, 16, 8) instead of 4x: small salt bodies survive into the encoder.
Every encoder here names the stride of each feature map it returns (`strides`), so a decoder can be laid out
without running an input through it.
"""
from contextlib import contextmanager

import segmentation_models_pytorch as smp
from torch import nn

from src.utils.errors import UserError

STEMS = ("seed", "no_pool", "standard")


@contextmanager
def clear_encoder_errors(name, weights):
    """Turn a failed encoder build (unknown name, weights that cannot be fetched) into one clear UserError."""
    try:
        yield
    except (OSError, ConnectionError, RuntimeError) as error:
        if weights is None:
            raise
        raise UserError(f"could not load {weights} weights for encoder {name} ({type(error).__name__}: "
                        f"{str(error).splitlines()[0][:120]}); connect to the internet once to cache them, "
                        "or set encoder.weights=null for random init") from None
    except KeyError as error:
        raise UserError(f"unknown encoder or weights {error}: pick an smp encoder name (e.g. resnet34, "
                        "se_resnext50_32x4d) or a timm one as tu-<name>") from None


def load_smp_encoder(name, in_channels, weights):
    with clear_encoder_errors(name, weights):
        return smp.encoders.get_encoder(name, in_channels=in_channels, depth=5, weights=weights)


class StandardEncoder(nn.Module):
    """Any smp encoder, its own stem: features at strides 2, 4, 8, 16, 32."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.out_channels = list(encoder.out_channels[1:])
        self.strides = [2, 4, 8, 16, 32]

    def forward(self, x):
        return self.encoder(x)[1:]


class ResNetStemEncoder(nn.Module):
    """ResNet-family encoder (ResNet, ResNeXt, SE-ResNeXt, timm resnets) split as stem -> pool -> layer1..4,
    its first conv at stride 1. Features: [pooled stem, layer1, layer2, layer3, layer4]. `stem`: 'seed'
    (then a 2x2 max-pool: strides 2, 2, 4, 8, 16) or 'no_pool' (strides 1, 1, 2, 4, 8)."""

    def __init__(self, encoder, stem):
        super().__init__()
        root = getattr(encoder, "model", encoder)
        if hasattr(root, "layer0"):
            self.stem = root.layer0
        elif all(hasattr(root, a) for a in ("conv1", "bn1", "maxpool")):
            act = getattr(root, "relu", None) or root.act1
            self.stem = nn.Sequential(root.conv1, root.bn1, act)
        else:
            raise UserError(f"stem={stem} needs a ResNet-family encoder (resnet*, resnext*, se_resnext*, "
                            f"tu-resnet*); got {type(root).__name__}: use model.stem=standard")
        self.layers = nn.ModuleList([root.layer1, root.layer2, root.layer3, root.layer4])
        first_conv = next(m for m in self.stem.modules() if isinstance(m, nn.Conv2d))
        first_conv.stride = (1, 1)  # same kernel: pretrained weights carry over unchanged
        self.pool = nn.MaxPool2d(2, 2) if stem == "seed" else nn.Identity()
        self.out_channels = [encoder.out_channels[1]] + list(encoder.out_channels[2:])
        pooled = 2 if stem == "seed" else 1
        self.strides = [pooled, pooled, 2 * pooled, 4 * pooled, 8 * pooled]

    def forward(self, x):
        x = self.pool(self.stem(x))
        features = [x]
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


def build_encoder(name, in_channels, weights, stem):
    if stem not in STEMS:
        raise UserError(f"model.stem={stem} is not one of {', '.join(STEMS)}")
    encoder = load_smp_encoder(name, in_channels, weights)
    if stem == "standard":
        return StandardEncoder(encoder)
    return ResNetStemEncoder(encoder, stem)
