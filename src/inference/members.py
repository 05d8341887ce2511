"""Which networks a `ckpt=` path stands for: a .ckpt file, a run dir (its snapshot ensemble) or a multirun
dir (every fold run in it). Folds weigh equally; within a fold, snapshots carry their ensemble weights."""
from pathlib import Path

import yaml

from src.callbacks.snapshots import read_ensemble
from src.utils.errors import UserError

POSTPROC_FILE = "postproc.yaml"


def is_run_dir(path):
    return (path / "checkpoints").is_dir()


def fold_members(run_dir, top_k=None):
    """[(ckpt path, weight)] of one run: its ensemble (best `top_k` snapshots), else last.ckpt."""
    spec = read_ensemble(run_dir)
    if spec is None:
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.exists():
            raise UserError(f"run dir {run_dir} has neither ensemble.yaml nor checkpoints/last.ckpt: "
                            "did its training finish? pass a .ckpt file instead")
        return [(last, 1.0)]
    mode, members = spec
    if mode == "weights":
        return [(run_dir / "checkpoints" / "weight_average.ckpt", 1.0)]
    return members[:top_k] if top_k else members


def resolve_members(ckpt, top_k=None):
    """[(ckpt path, weight)] over all folds, weights summing to 1, and the dirs holding them."""
    path = Path(ckpt).expanduser()
    if path.is_file():  # its run dir (the folder above checkpoints/) holds the training config
        return [(path, 1.0)], [path.parent.parent if path.parent.name == "checkpoints" else path.parent]
    if not path.is_dir():
        raise UserError(f"ckpt={ckpt} not found: pass a .ckpt, a run dir or a multirun dir from train.py")
    runs = [path] if is_run_dir(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_run_dir(p))
    if not runs:
        raise UserError(f"ckpt={ckpt} holds no training run (no checkpoints/ folder in it or its subfolders)")
    members = []
    for run in runs:
        fold = fold_members(run, top_k)
        total = sum(w for _, w in fold)
        members += [(p, w / total / len(runs)) for p, w in fold]
    return members, runs


def tuned_postproc(ckpt):
    """The post-processing that tune.py saved for this ckpt (in the dir itself or its parent), or None."""
    path = Path(ckpt).expanduser()
    for folder in (path, path.parent):
        if (folder / POSTPROC_FILE).is_file():
            return yaml.safe_load((folder / POSTPROC_FILE).read_text())
    return None
