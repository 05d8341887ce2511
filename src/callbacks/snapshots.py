"""Snapshot ensemble: the K best checkpoints of a run (kept by Lightning's ModelCheckpoint), weighted decay^i.

The seed averaged "the last 10 best models with exponentially decreasing weights". Two ways to use them:
'predictions' averages the snapshots' probabilities; 'weights' averages their parameters into one network
and recomputes BatchNorm statistics on training tiles (one network to run at inference).
"""
import logging
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.optim.swa_utils import update_bn

from src.inference.predict import pick_device
from src.models.checkpoint import load_module
from src.utils.atomic import atomic_path, write_text

log = logging.getLogger(__name__)
ENSEMBLE_FILE = "ensemble.yaml"
WEIGHT_AVERAGE_FILE = "weight_average.ckpt"  # the average of all the snapshots, written after training


def snapshot_weights(n, decay):
    """Weight decay**i of the i-th best snapshot, normalised to sum 1."""
    raw = [decay**i for i in range(n)]
    return [w / sum(raw) for w in raw]


def rank_snapshots(best_k_models):
    """{path: score} from ModelCheckpoint -> [(path, score)] best first."""
    return sorted(((str(p), float(s)) for p, s in best_k_models.items()), key=lambda ps: -ps[1])


def average_state_dicts(state_dicts, weights):
    """Weighted mean of floating-point tensors; integer buffers (BN batch counts) come from the first."""
    averaged = {}
    for key, first in state_dicts[0].items():
        if first.is_floating_point():
            averaged[key] = sum(w * sd[key].float() for sd, w in zip(state_dicts, weights)).to(first.dtype)
        else:
            averaged[key] = first.clone()
    return averaged


def write_ensemble(run_dir, ranked, decay, mode):
    """ensemble.yaml in the run dir; a single snapshot is used as it is (nothing to average, BN kept)."""
    mode = mode if len(ranked) > 1 else "predictions"
    weights = snapshot_weights(len(ranked), decay)
    members = [{"ckpt": Path(p).name, "val_map": s, "weight": w} for (p, s), w in zip(ranked, weights)]
    write_text(Path(run_dir) / ENSEMBLE_FILE, yaml.safe_dump({"mode": mode, "decay": decay, "members": members}))


def read_ensemble(run_dir):
    """[(ckpt path, weight)] and mode, or None when the run has no ensemble file."""
    path = Path(run_dir) / ENSEMBLE_FILE
    if not path.exists():
        return None
    spec = yaml.safe_load(path.read_text())
    ckpt_dir = Path(run_dir) / "checkpoints"
    return spec["mode"], [(ckpt_dir / m["ckpt"], m["weight"]) for m in spec["members"]]


@torch.no_grad()
def weight_average(modules, weights, bn_loader, device="auto"):
    """One module whose parameters are the weighted mean of `modules`', BN statistics recomputed on the
    `device` ('auto': the GPU when there is one)."""
    device = pick_device(device)
    target = modules[0]
    target.load_state_dict(average_state_dicts([m.state_dict() for m in modules], weights))
    target.to(device)
    update_bn((batch["x"] for batch in bn_loader), target, device=device)
    return target.eval()


def save_weight_average(module, path):
    with atomic_path(path) as tmp:
        torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, tmp)


def average_snapshots(members, bn_loader, path):
    """Average the snapshots [(ckpt path, weight)] into one network (BN recomputed on `bn_loader`), saved at
    `path`; returns the network."""
    averaged = weight_average([load_module(p) for p, _ in members], [w for _, w in members], bn_loader)
    save_weight_average(averaged, path)
    log.info("averaged %d snapshots into %s (BatchNorm recomputed on %d tiles, %s)", len(members), path,
             len(bn_loader.dataset), next(averaged.parameters()).device)
    return averaged


class SnapshotEnsemble(pl.Callback):
    """At fit end, rank the snapshots kept by the ModelCheckpoint that monitors `monitor` and write
    ensemble.yaml (checkpoint, val score, weight decay^i) in the run dir, for evaluation and infer.py."""

    def __init__(self, decay=0.8, mode="weights", monitor="val/map"):
        self.decay, self.mode, self.monitor = decay, mode, monitor

    def on_fit_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        keepers = [c for c in trainer.checkpoint_callbacks
                   if isinstance(c, ModelCheckpoint) and c.monitor == self.monitor and c.best_k_models]
        if keepers:
            write_ensemble(trainer.default_root_dir, rank_snapshots(keepers[0].best_k_models), self.decay, self.mode)
