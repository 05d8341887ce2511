"""Loading our checkpoints, with clear errors for files that are not ours. A checkpoint is data: it is read with
`weights_only=True`, so a pickle that would run code (a file from a stranger) is refused before anything in it
runs; this project's checkpoints hold only tensors and plain values."""

import inspect
import pickle
from pathlib import Path

import torch
from hydra.utils import get_class
from torch import nn

from src.models.module import CHECKPOINT_FORMAT, MARKER, SaltModule
from src.utils.errors import UserError

CHECKPOINT_NETWORKS = ("src.models.", "segmentation_models_pytorch.")  # where a checkpoint's network may come from
RENAMED_IN_FORMAT_3 = {"lr_scheduler": "scheduler", "ignore_index": "ignore_value"}  # format 2's names -> 3's
# Format 4 gave src.models.seed_unet.SeedUnet to the published network; the class formats 2 and 3 meant by that name
# is the project's own, since called HyperUnet (the same layers and parameter names).
RENAMED_IN_FORMAT_4 = {"src.models.seed_unet.SeedUnet": "src.models.hyper_unet.HyperUnet"}


def read_checkpoint(path, map_location="cpu", mmap=False) -> dict:
    """The contents of a .ckpt as plain data, never running code from it; one clear error otherwise. `mmap`: map
    the tensors instead of reading them (for a look at its hyper-parameters)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found: pass a .ckpt, a run dir or a multirun dir from train.py")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        if "global" in str(error).lower():  # "unsupported GLOBAL os.system": a Python object, not plain data
            raise UserError(
                f"checkpoint {path} holds Python objects beyond tensors and plain values, which could run "
                "code when loaded: refused, and nothing in it was run. Checkpoints from this project's "
                "train.py hold none; use one of those"
            ) from None
        raise UserError(
            f"checkpoint {path} cannot be read (UnpicklingError): it is corrupt or not a PyTorch file; "
            "re-copy it or point ckpt at another"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise UserError(
            f"checkpoint {path} cannot be read ({type(error).__name__}): it is corrupt or not a "
            "PyTorch file; re-copy it or point ckpt at another"
        ) from None


def check_network_target(target, path) -> type[nn.Module]:
    """A checkpoint names its network class, which is then imported and built: only the project's networks and
    smp's may be named there (anything else could be code that runs on import or construction)."""
    refused = UserError(
        f"checkpoint {path} names the network {target!r}, which is not a network class of this "
        f"project's or smp's ({', '.join(p + '*' for p in CHECKPOINT_NETWORKS)}): refused"
    )
    if not isinstance(target, str) or not target.startswith(CHECKPOINT_NETWORKS):
        raise refused  # before importing anything it names
    try:
        network = get_class(target)
    except Exception:  # hydra raises ImportError, ValueError or its own errors for a name it cannot resolve
        raise refused from None
    if not (isinstance(network, type) and issubclass(network, nn.Module)):
        raise refused
    if not network.__module__.startswith(CHECKPOINT_NETWORKS):
        raise refused
    return network


def without_downloads(model: dict, network: type[nn.Module]) -> dict:
    """The `model` config with no pretrained weights to fetch: a checkpoint's weights come from its state dict,
    and a key left out would get the class's default (smp's is 'imagenet', a download the file's author chose)."""
    if "encoder_weights" in inspect.signature(network).parameters:
        return {**model, "encoder_weights": None}
    return model


def load_module(path, map_location="cpu") -> SaltModule:
    """A SaltModule in eval mode from a .ckpt written by train.py (pretrained weights are not fetched again)."""
    path = Path(path)
    checkpoint = read_checkpoint(path, map_location)
    hparams = checkpoint.get("hyper_parameters", {}) if isinstance(checkpoint, dict) else {}
    if hparams.get(MARKER) is None or "state_dict" not in checkpoint:
        raise UserError(
            f"checkpoint {path} was not written by this project's train.py: pass one from an outputs/ run dir"
        )
    if hparams[MARKER] == 2:  # 0.3's checkpoints: the same contents, two arguments since renamed
        hparams = {RENAMED_IN_FORMAT_3.get(k, k): v for k, v in hparams.items()} | {MARKER: 3}
    if hparams[MARKER] == 3:  # 0.4's: its seed_unet is today's hyper_unet
        target = hparams["model"].get("_target_")
        model = {**hparams["model"], "_target_": RENAMED_IN_FORMAT_4.get(target, target)}
        hparams = {**hparams, "model": model, MARKER: CHECKPOINT_FORMAT}
    if hparams[MARKER] != CHECKPOINT_FORMAT:
        raise UserError(
            f"checkpoint {path} is in format {hparams[MARKER]} of this project's train.py, this version "
            f"reads format {CHECKPOINT_FORMAT}: train again, or predict with the version that wrote it"
        )
    network = check_network_target(hparams["model"].get("_target_"), path)
    hparams = {**hparams, "model": without_downloads(hparams["model"], network)}
    module = SaltModule(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()
