"""Which networks a `ckpt=` path stands for, and the snapshot ensembles of a run.

`ckpt=` may be a .ckpt file, a run folder (its snapshot ensemble) or a multirun folder (every fold run in it).
Folds weigh equally; within a fold, snapshots carry their ensemble weights."""

import logging
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader

from src.data.build import build_datamodule
from src.data.datamodule import TileDataModule
from src.data.preprocess import Preprocess
from src.data.saved_config import check_saved_config
from src.ensemble.averaging import average_snapshots, stored_key
from src.ensemble.cache_key import members_key
from src.ensemble.spec import read_ensemble, uses_best_snapshot
from src.models.checkpoint import load_module, read_checkpoint
from src.models.module import SaltModule
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder, run_of_checkpoint, runs_under

log = logging.getLogger(__name__)


def fold_members(run, snapshots=None) -> tuple[list[tuple[Path, float]], int]:
    """([(ckpt path, weight)], the number of snapshots they stand for) of one RunFolder: its ensemble of the best
    `snapshots` snapshots (None: the run's ensemble, which is its best snapshot alone when the ensemble scored
    worse out of fold), else last.ckpt. In weights mode that is one averaged network: the best snapshot as it is
    for snapshots=1, else the average of the chosen snapshots, kept beside them while it matches them (made again
    when it does not)."""
    spec = read_ensemble(run)
    if spec is None:
        if not run.last_checkpoint.exists():
            raise UserError(
                f"run dir {run.path} has neither ensemble.yaml nor checkpoints/last.ckpt: "
                "did its training finish? pass a .ckpt file instead"
            )
        return [(run.last_checkpoint, 1.0)], 1
    mode, members = spec
    chosen = members[:snapshots] if snapshots else members[:1] if uses_best_snapshot(run) else members
    if mode != "weights" or len(chosen) == 1:
        return chosen, len(chosen)
    return [(kept_average(run, chosen, len(members))[0], 1.0)], len(chosen)


def average_path(run, n_chosen, n_members) -> Path:
    """weight_average.ckpt for all the snapshots, weight_average_topN.ckpt for the best N."""
    return run.weight_average if n_chosen == n_members else run.best_n_average(n_chosen)


def kept_average(run, chosen, n_members, bn_loader=None, networks=None) -> tuple[Path, nn.Module | None]:
    """(path, network or None) of the weight average of the `chosen` [(snapshot, weight)] of a run: the saved one
    when the snapshots and weights it was made from are these (network None: not loaded), else made now with
    BatchNorm recomputed on `bn_loader` (default: the run's training tiles) and saved under its key. `networks`:
    the chosen snapshots already loaded, [(module, weight)]."""
    path = average_path(run, len(chosen), n_members)
    key = members_key(chosen, kind="weight_average")
    stored, intact = stored_key(path)
    if stored == key and intact:
        log.info("weight average %s matches its %d snapshots (key %s): used", path, len(chosen), key[:12])
        return path, None
    if not path.exists():
        why = "not made yet"
    elif stored == key:
        why = "was changed after it was made (its content digest differs)"
    else:
        why = "was made from other snapshots or weights"
    (log.warning if path.exists() else log.info)(
        "weight average %s %s: averaging the best %d snapshots", path, why, len(chosen)
    )
    if bn_loader is None:
        try:
            bn_loader = run_bn_loader(run)
        except UserError as error:
            raise UserError(
                f"snapshots={len(chosen)}: averaging the best {len(chosen)} snapshots of {run.path} "
                f"needs its training tiles: {error}"
            ) from None
    networks = networks or load_networks(chosen)
    averaged = average_snapshots([m for m, _ in networks], [w for _, w in networks], bn_loader, path, key)
    return path, averaged


def run_datamodule(run, saved=None) -> TileDataModule:
    """A finished run's DataModule, set up: its tiles, augmentation and fold split, as its config (`saved`, else
    read from the run) and folds.csv define them. The config may come from anyone: only this project's DataModules
    and albumentations' transforms are built from it (src/data/saved_config.py)."""
    saved = saved if saved is not None else OmegaConf.load(run.config)
    check_saved_config(saved, run.config)
    saved.data.split_file = str(run.folds)
    datamodule = build_datamodule(saved)
    datamodule.setup()
    return datamodule


def run_bn_loader(run) -> DataLoader:
    """The training tiles a run recomputes a weight average's BatchNorm on: ensemble.bn_tiles of them (all when
    unset, as in runs made before it existed)."""
    saved = OmegaConf.load(run.config)
    return run_datamodule(run, saved).labelled_train_loader(saved.get("ensemble", {}).get("bn_tiles"))


@dataclass(frozen=True)
class RunMembers:
    """One run's share of an ensemble: its networks [(ckpt path, weight)] and how many snapshots they stand for
    (in weights mode several snapshots are one averaged network)."""

    run: RunFolder
    networks: tuple[tuple[Path, float], ...]
    snapshots: int


@dataclass(frozen=True)
class EnsemblePlan:
    """The networks a `ckpt=` stands for, resolved once per command (weight averages made or checked on the way)
    and handed to the backend, the exporter and calibration, so none of them resolves it again. Weights sum to
    1 over all runs, folds weighing equally."""

    ckpt: str
    snapshots: int | None
    runs: tuple[RunMembers, ...]

    @property
    def members(self) -> list[tuple[Path, float]]:
        """[(ckpt path, weight)] of every network, run by run: the members' order everywhere."""
        return [network for run in self.runs for network in run.networks]

    @property
    def run_folders(self) -> list[RunFolder]:
        return [run.run for run in self.runs]

    def describe(self) -> str:
        networks, snapshots, runs = len(self.members), sum(r.snapshots for r in self.runs), len(self.runs)
        return (
            f"{networks} network{'s' * (networks != 1)} ({snapshots} snapshot{'s' * (snapshots != 1)}) "
            f"from {runs} run{'s' * (runs != 1)}"
        )


def plan_ensemble(ckpt, snapshots=None) -> EnsemblePlan:
    """Resolve `ckpt` (a .ckpt, a run folder or a multirun folder) with the best `snapshots` of each run (None:
    the run's ensemble) into an EnsemblePlan."""
    path = Path(ckpt).expanduser()
    if path.is_file():  # its run folder holds the training config
        return EnsemblePlan(str(ckpt), snapshots, (RunMembers(run_of_checkpoint(path), ((path, 1.0),), 1),))
    if not path.is_dir():
        raise UserError(f"ckpt={ckpt} not found: pass a .ckpt, a run dir or a multirun dir from train.py")
    runs = runs_under(path)
    if not runs:
        raise UserError(f"ckpt={ckpt} holds no training run (no checkpoints/ folder in it or its subfolders)")
    planned = []
    for run in runs:
        fold, n_snapshots = fold_members(run, snapshots)
        total = sum(w for _, w in fold)
        planned.append(RunMembers(run, tuple((p, w / total / len(runs)) for p, w in fold), n_snapshots))
    return EnsemblePlan(str(ckpt), snapshots, tuple(planned))


def resolve_members(ckpt, snapshots=None) -> tuple[list[tuple[Path, float]], list[RunFolder]]:
    """[(ckpt path, weight)] over all folds, weights summing to 1, and the RunFolders holding them."""
    plan = plan_ensemble(ckpt, snapshots)
    return plan.members, plan.run_folders


def checkpoint_preprocesses(plan: EnsemblePlan) -> set[Preprocess]:
    """The preprocessing of each network of `plan`, read from the checkpoints without building any network (so
    settings can be checked before a graph is exported)."""
    preprocesses = set()
    for path, _ in plan.members:
        hparams = read_checkpoint(path, mmap=True).get("hyper_parameters", {})
        if "preprocess" in hparams:
            preprocesses.add(Preprocess.from_dict(hparams["preprocess"]))
    return preprocesses


def load_networks(paths) -> list[tuple[SaltModule, float]]:
    """[(ckpt path, weight)] -> [(network in eval mode, weight)]."""
    return [(load_module(p), w) for p, w in paths]


def load_members(ckpt, snapshots=None) -> tuple[list[tuple[SaltModule, float]], list[RunFolder]]:
    """The networks behind `ckpt` (a .ckpt, a run folder or a multirun folder), loaded as data (no code runs from
    a checkpoint), with the best `snapshots` of each fold (None: the run's ensemble).

    Returns ([(SaltModule in eval mode, weight)], the RunFolders holding them); the weights sum to 1, folds weigh
    equally."""
    paths, runs = resolve_members(ckpt, snapshots)
    return load_networks(paths), runs


def snapshot_ensembles(
    run, bn_loader, modes=("predictions", "weights")
) -> dict[str, list[tuple[nn.Module, float]]] | None:
    """{'best': [(best snapshot, 1.0)], 'predictions': [(snapshot, weight)...], 'weights': [(average, 1.0)]} of a
    run's ensemble.yaml, for the modes asked (best always), each snapshot loaded once; None without the file.
    The weight average is the saved one while it matches the snapshots, else made now on `bn_loader` (and saved)."""
    spec = read_ensemble(run)
    if spec is None:
        return None
    snapshots = load_networks(spec[1])
    ensembles = {"best": [(snapshots[0][0], 1.0)]}
    if "predictions" in modes:
        ensembles["predictions"] = snapshots
    if "weights" in modes:
        if len(snapshots) == 1:
            ensembles["weights"] = ensembles["best"]
        else:
            path, averaged = kept_average(run, spec[1], len(spec[1]), bn_loader, snapshots)
            ensembles["weights"] = [(averaged if averaged is not None else load_module(path), 1.0)]
    return ensembles
