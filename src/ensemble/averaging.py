"""Weight averaging of snapshots into one network, with BatchNorm statistics recomputed on training tiles."""
import copy
import logging

import torch
from torch.optim.swa_utils import update_bn

from src.inference.probabilities import pick_device
from src.utils.atomic import atomic_path

log = logging.getLogger(__name__)


def average_state_dicts(state_dicts, weights):
    """Weighted mean of floating-point tensors; integer buffers (BN batch counts) come from the first."""
    averaged = {}
    for key, first in state_dicts[0].items():
        if first.is_floating_point():
            averaged[key] = sum(w * sd[key].float() for sd, w in zip(state_dicts, weights)).to(first.dtype)
        else:
            averaged[key] = first.clone()
    return averaged


@torch.no_grad()
def weight_average(modules, weights, bn_loader, device="auto"):
    """A new module whose parameters are the weighted mean of `modules`', BN statistics recomputed on the
    `device` ('auto': the GPU when there is one)."""
    device = pick_device(device)
    target = copy.deepcopy(modules[0])
    target.load_state_dict(average_state_dicts([m.state_dict() for m in modules], weights))
    target.to(device)
    update_bn((batch["x"] for batch in bn_loader), target, device=device)
    return target.eval()


def save_weight_average(module, path):
    with atomic_path(path) as tmp:
        torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, tmp)


def average_snapshots(modules, weights, bn_loader, path):
    """Average snapshots (modules with their weights) into one network, BN recomputed on `bn_loader`, saved at
    `path`; returns the network."""
    averaged = weight_average(modules, weights, bn_loader)
    save_weight_average(averaged, path)
    log.info("averaged %d snapshots into %s (BatchNorm recomputed on %d tiles, %s)", len(modules), path,
             len(bn_loader.dataset), next(averaged.parameters()).device)
    return averaged
