"""Weight averaging of snapshots into one network, with BatchNorm statistics recomputed on training tiles."""

import copy
import hashlib
import json
import logging
import pickle
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from src.ensemble.cache_key import file_identity
from src.utils.atomic import atomic_path
from src.utils.device import pick_device

log = logging.getLogger(__name__)
CACHE_KEY = "saltseg_cache_key"  # in a saved average: the key of the snapshots and weights it was made from
CONTENT_DIGEST = "saltseg_content_digest"  # in a saved average: the digest of its own tensors and hyper-parameters


def average_state_dicts(state_dicts: list[dict], weights: list[float]) -> dict:
    """Weighted mean of floating-point tensors, the weights normalised to sum 1 (the best N of a decay**i ensemble
    sum to less than 1); integer buffers (BN batch counts) come from the first."""
    total = float(sum(weights))
    averaged = {}
    for key, first in state_dicts[0].items():
        if first.is_floating_point():
            averaged[key] = sum((w / total) * sd[key].float() for sd, w in zip(state_dicts, weights)).to(first.dtype)
        else:
            averaged[key] = first.clone()
    return averaged


@torch.no_grad()
def weight_average(modules: list[nn.Module], weights: list[float], bn_loader, device="auto") -> nn.Module:
    """A new module whose parameters are the weighted mean of `modules`', BN statistics recomputed on the
    `device` ('auto': the GPU when there is one)."""
    device = pick_device(device)
    target = copy.deepcopy(modules[0])
    target.load_state_dict(average_state_dicts([m.state_dict() for m in modules], weights))
    target.to(device)
    update_bn((batch["x"] for batch in bn_loader), target, device=device)
    return target.eval()


def content_digest(state_dict: dict, hyper_parameters: dict) -> str:
    """SHA-256 of a network's tensors (names, dtypes, shapes, values) and hyper-parameters: what the file says the
    network is, so that an average edited in place no longer vouches for itself with the key stored inside it."""
    digest = hashlib.sha256(json.dumps(hyper_parameters, sort_keys=True, default=str).encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def save_weight_average(module, path: Path, key: str) -> None:
    state_dict, hyper_parameters = module.state_dict(), dict(module.hparams)
    saved = {"state_dict": state_dict, "hyper_parameters": hyper_parameters, CACHE_KEY: key}
    with atomic_path(path) as tmp:
        torch.save(saved | {CONTENT_DIGEST: content_digest(state_dict, hyper_parameters)}, tmp)


_stamps = {}  # file_identity -> (key, intact) of a saved average, for this process only


def stored_key(path: Path) -> tuple[str | None, bool]:
    """(the key a saved average was made under or None, whether its content is still what was saved); (None,
    False) when there is no such file or it cannot be read. One command resolves the same ensemble several times
    (the settings checks, the backend, the temperatures), so each file is read and hashed once per process while
    its status stays the same."""
    if not Path(path).is_file():
        return None, False
    identity = file_identity(path)
    if identity not in _stamps:
        _stamps[identity] = read_stamp(path)
    return _stamps[identity]


def read_stamp(path: Path) -> tuple[str | None, bool]:
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError):
        return None, False
    if not isinstance(saved, dict) or not isinstance(saved.get("state_dict"), dict):
        return None, False
    intact = saved.get(CONTENT_DIGEST) == content_digest(saved["state_dict"], saved.get("hyper_parameters", {}))
    return saved.get(CACHE_KEY), intact


def average_snapshots(modules, weights, bn_loader, path: Path, key: str) -> nn.Module:
    """Average snapshots (modules with their weights) into one network, BN recomputed on `bn_loader`, saved at
    `path` under `key`; returns the network."""
    averaged = weight_average(modules, weights, bn_loader)
    save_weight_average(averaged, path, key)
    log.info(
        "averaged %d snapshots into %s (BatchNorm recomputed on %d tiles, %s)",
        len(modules),
        path,
        len(bn_loader.dataset),
        next(averaged.parameters()).device,
    )
    return averaged
