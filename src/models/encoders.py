"""Encoders from segmentation-models-pytorch / timm, with the 28th-place team's stem change (`stride1`).

That stem keeps the 7x7 conv but at stride 1 and pools 2x2, so a 128 input is only downsampled 2x
before layer1 (features 64, 64, 32, 16, 8) instead of 4x: small salt bodies survive into the encoder.
Every encoder here names the stride of each feature map it returns (`strides`), so a decoder can be laid out
without running an input through it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import segmentation_models_pytorch as smp
import torch
from safetensors.torch import load_file
from torch import nn

from src.utils.errors import UserError

STEMS = ("stride1", "no_pool", "standard")
LEGACY_STEMS = {"seed": "stride1"}  # the name `stride1` had until 2026-12-04, in checkpoints and configs
WEIGHT_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
CLASSIFIER_PREFIXES = ("fc.", "classifier.", "last_linear.", "head.")  # ImageNet heads an encoder does not have


@contextmanager
def clear_encoder_errors(name, weights) -> Iterator[None]:
    """Turn a failed encoder build (unknown name, weights that cannot be fetched) into one clear UserError."""
    try:
        yield
    except (OSError, ConnectionError, RuntimeError) as error:
        if weights is None:
            raise
        raise UserError(
            f"could not load {weights} weights for encoder {name} ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:120]}); connect to the internet once to cache them, "
            "or set encoder.weights=null for random init"
        ) from None
    except KeyError as error:
        raise UserError(
            f"unknown encoder or weights {error}: pick an smp encoder name (e.g. resnet34, "
            "se_resnext50_32x4d) or a timm one as tu-<name>"
        ) from None


def is_weights_file(weights) -> bool:
    """encoder.weights names a file (a path, or a state-dict suffix) rather than smp's weight sets (imagenet...)."""
    return weights is not None and (Path(str(weights)).suffix in WEIGHT_FILE_SUFFIXES or "/" in str(weights))


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """The tensors of a .pth/.pt/.bin (torch) or .safetensors file, unwrapped from a checkpoint's state_dict."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(
            f"encoder.weights={path} not found: save the encoder's state dict there on a machine with "
            "internet (README, 'Pretrained encoders offline'), or use encoder.weights=null"
        )
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch and safetensors raise many types for a bad file
        raise UserError(
            f"encoder.weights={path} cannot be read ({type(error).__name__}): not a state dict saved "
            "with torch.save or safetensors; save it again (README)"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


def fit_keys(state, own_keys) -> dict[str, torch.Tensor]:
    """The file's tensors under the encoder's key names: the prefixes a whole smp model ('encoder.'), a DataParallel
    copy ('module.') or smp's timm wrapper ('model.') add or need, whichever matches the most keys."""
    best = {}
    for strip in ("", "encoder.", "module."):
        for add in ("", "model."):
            renamed = {add + k[len(strip) :]: v for k, v in state.items() if k.startswith(strip)}
            if len(renamed.keys() & own_keys) > len(best.keys() & own_keys):
                best = renamed
    return best


def adapt_first_conv(weight, in_channels) -> torch.Tensor:
    """RGB first-conv weights (out, 3, k, k) for `in_channels` inputs, as smp adapts pretrained weights: summed for
    one channel, cycled and rescaled for more."""
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    return weight[:, [i % 3 for i in range(in_channels)]] * (3 / in_channels)


def load_weights_file(encoder, path, name) -> None:
    """Load a state dict saved from a timm, torchvision or smp model into an smp `encoder`; one clear error naming
    the keys that do not fit."""
    own = encoder.state_dict()
    state = fit_keys(read_state_dict(path), set(own))
    for key in own.keys() & state.keys():  # the first conv of an encoder for other than 3 input channels
        if own[key].ndim == 4 and state[key].ndim == 4 and state[key].shape[1] == 3 != own[key].shape[1]:
            state[key] = adapt_first_conv(state[key], own[key].shape[1])
    missing = sorted(own.keys() - state.keys())
    unexpected = sorted(
        k for k in state.keys() - own.keys() if not k.removeprefix("model.").startswith(CLASSIFIER_PREFIXES)
    )
    reshaped = sorted(k for k in own.keys() & state.keys() if own[k].shape != state[k].shape)
    if missing or unexpected or reshaped:
        raise UserError(
            f"encoder.weights={path} does not fit encoder {name}: {len(missing)} keys missing "
            f"{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, {len(reshaped)} of another "
            f"shape {reshaped[:3]}: save the state dict of a {name} (README)"
        )
    encoder.load_state_dict({key: state[key] for key in own})
    return encoder


def load_smp_encoder(name, in_channels, weights) -> nn.Module:
    """An smp encoder with smp's weights (imagenet...), weights from a file, or none."""
    if is_weights_file(weights):
        with clear_encoder_errors(name, None):
            encoder = smp.encoders.get_encoder(name, in_channels=in_channels, depth=5, weights=None)
        return load_weights_file(encoder, weights, name)
    with clear_encoder_errors(name, weights):
        return smp.encoders.get_encoder(name, in_channels=in_channels, depth=5, weights=weights)


class StandardEncoder(nn.Module):
    """Any smp encoder, its own stem: features at strides 2, 4, 8, 16, 32."""

    def __init__(self, encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.out_channels = list(encoder.out_channels[1:])
        self.strides = [2, 4, 8, 16, 32]

    def forward(self, x) -> list[torch.Tensor]:
        return self.encoder(x)[1:]


class ResNetStemEncoder(nn.Module):
    """ResNet-family encoder (ResNet, ResNeXt, SE-ResNeXt, timm resnets) split as stem -> pool -> layer1..4,
    its first conv at stride 1. Features: [pooled stem, layer1, layer2, layer3, layer4]. `stem`: 'stride1'
    (then a 2x2 max-pool: strides 2, 2, 4, 8, 16) or 'no_pool' (strides 1, 1, 2, 4, 8)."""

    def __init__(self, encoder, stem) -> None:
        super().__init__()
        root = getattr(encoder, "model", encoder)
        if hasattr(root, "layer0"):
            self.stem = root.layer0
        elif all(hasattr(root, a) for a in ("conv1", "bn1", "maxpool")):
            act = getattr(root, "relu", None) or root.act1
            self.stem = nn.Sequential(root.conv1, root.bn1, act)
        else:
            raise UserError(
                f"stem={stem} needs a ResNet-family encoder (resnet*, resnext*, se_resnext*, "
                f"tu-resnet*); got {type(root).__name__}: use model.stem=standard"
            )
        self.layers = nn.ModuleList([root.layer1, root.layer2, root.layer3, root.layer4])
        first_conv = next(m for m in self.stem.modules() if isinstance(m, nn.Conv2d))
        first_conv.stride = (1, 1)  # same kernel: pretrained weights carry over unchanged
        self.pool = nn.MaxPool2d(2, 2) if stem == "stride1" else nn.Identity()
        self.out_channels = [encoder.out_channels[1]] + list(encoder.out_channels[2:])
        pooled = 2 if stem == "stride1" else 1
        self.strides = [pooled, pooled, 2 * pooled, 4 * pooled, 8 * pooled]

    def forward(self, x) -> list[torch.Tensor]:
        x = self.pool(self.stem(x))
        features = [x]
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


def build_encoder(name, in_channels, weights, stem) -> nn.Module:
    stem = LEGACY_STEMS.get(stem, stem)
    if stem not in STEMS:
        raise UserError(f"model.stem={stem} is not one of {', '.join(STEMS)}")
    encoder = load_smp_encoder(name, in_channels, weights)
    if stem == "standard":
        return StandardEncoder(encoder)
    return ResNetStemEncoder(encoder, stem)
