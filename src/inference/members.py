"""Which networks a `ckpt=` path stands for: a .ckpt file, a run dir (its snapshot ensemble) or a multirun
dir (every fold run in it). Folds weigh equally; within a fold, snapshots carry their ensemble weights."""
import logging
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from src.callbacks.snapshots import ENSEMBLE_FILE, WEIGHT_AVERAGE_FILE, average_snapshots, read_ensemble
from src.utils.errors import UserError

log = logging.getLogger(__name__)
POSTPROC_FILE = "postproc.yaml"


def is_run_dir(path):
    return (path / "checkpoints").is_dir()


def fold_members(run_dir, top_k=None):
    """[(ckpt path, weight)] of one run: its ensemble of the best `top_k` snapshots (all when None), else
    last.ckpt. In weights mode that is one averaged network: the one saved after training for all the snapshots,
    the best snapshot as it is for top_k=1, or an average of the best top_k made (and kept) on first use."""
    spec = read_ensemble(run_dir)
    if spec is None:
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.exists():
            raise UserError(f"run dir {run_dir} has neither ensemble.yaml nor checkpoints/last.ckpt: "
                            "did its training finish? pass a .ckpt file instead")
        return [(last, 1.0)]
    mode, members = spec
    chosen = members[:top_k] if top_k else members
    if mode != "weights" or len(chosen) == 1:
        return chosen
    if len(chosen) == len(members):
        return [(run_dir / "checkpoints" / WEIGHT_AVERAGE_FILE, 1.0)]
    return [(top_k_average(run_dir, chosen), 1.0)]


def top_k_average(run_dir, chosen):
    """The weight average of the `chosen` best snapshots of a run, BN recomputed on the run's training tiles;
    made once and kept beside the snapshots (remade when ensemble.yaml is newer)."""
    path = run_dir / "checkpoints" / f"weight_average_top{len(chosen)}.ckpt"
    if path.exists() and path.stat().st_mtime >= (run_dir / ENSEMBLE_FILE).stat().st_mtime:
        return path
    log.info("averaging the best %d snapshots of %s (BatchNorm recomputed on its training tiles)", len(chosen),
             run_dir)
    try:
        loader = training_tiles_loader(run_dir)
    except UserError as error:
        raise UserError(f"snapshots={len(chosen)} averages the best {len(chosen)} snapshots of {run_dir}, which "
                        f"needs its training tiles: {error}") from None
    average_snapshots(chosen, loader, path)
    return path


def training_tiles_loader(run_dir):
    """The (augmented) training tiles of a finished run, as its config and folds.csv define them."""
    from src.training import build_datamodule  # the training side's data, imported only when needed

    saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    saved.data.split_file = str(run_dir / "folds.csv")
    datamodule = build_datamodule(saved, run_dir=None)
    datamodule.setup()
    return datamodule.labelled_train_loader()


def resolve_members(ckpt, top_k=None):
    """[(ckpt path, weight)] over all folds, weights summing to 1, and the dirs holding them."""
    path = Path(ckpt).expanduser()
    if path.is_file():  # its run dir (the folder above checkpoints/) holds the training config
        return [(path, 1.0)], [run_of_checkpoint(path)]
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


def run_of_checkpoint(path):
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def tuned_postproc(ckpt):
    """(values, file) of the post-processing tune.py saved for this ckpt, or (None, None). Looked for in the
    run (for a .ckpt file, the run that holds it), then the folder above it (a multirun tuned as a whole)."""
    path = Path(ckpt).expanduser()
    run = run_of_checkpoint(path) if path.is_file() else path
    for folder in (run, run.parent):
        if (folder / POSTPROC_FILE).is_file():
            return yaml.safe_load((folder / POSTPROC_FILE).read_text()), folder / POSTPROC_FILE
    return None, None
