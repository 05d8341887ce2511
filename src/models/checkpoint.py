"""Loading our checkpoints, with clear errors for files that are not ours."""
import pickle
from pathlib import Path

import torch

from src.models.module import CHECKPOINT_FORMAT, MARKER, SaltModule
from src.utils.errors import UserError


def load_module(path, map_location="cpu"):
    """A SaltModule in eval mode from a .ckpt written by train.py (pretrained weights are not fetched again)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found: pass a .ckpt, a run dir or a multirun dir from train.py")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise UserError(f"checkpoint {path} cannot be read ({type(error).__name__}): it is corrupt or not a "
                        "PyTorch file; re-copy it or point ckpt at another") from None
    hparams = checkpoint.get("hyper_parameters", {}) if isinstance(checkpoint, dict) else {}
    if hparams.get(MARKER) is None or "state_dict" not in checkpoint:
        raise UserError(f"checkpoint {path} was not written by this project's train.py: pass one from an "
                        "outputs/ run dir")
    if hparams[MARKER] != CHECKPOINT_FORMAT:
        raise UserError(f"checkpoint {path} is in format {hparams[MARKER]} of this project's train.py, this version "
                        f"reads format {CHECKPOINT_FORMAT}: train again, or predict with the version that wrote it")
    if "encoder_weights" in hparams["model"]:  # pretrained weights come from the state dict, not a download
        hparams = {**hparams, "model": {**hparams["model"], "encoder_weights": None}}
    module = SaltModule(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()
