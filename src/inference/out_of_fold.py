"""The out-of-fold evaluation of a finished run: its validation fold predicted by the best snapshot and by the
ensemble, scored, written as oof.npz (what tune.py fits and infer.py's estimate reads) and drawn as
validation.png; where the ensemble scored below its best snapshot, the run is told to use the snapshot."""

import logging

import numpy as np

from src.callbacks.pictures import publish_picture
from src.ensemble.members import snapshot_ensembles
from src.ensemble.spec import keep_best_snapshot, read_ensemble
from src.inference.backends import predict_tiles
from src.metrics.kaggle_map import kaggle_map
from src.utils.atomic import atomic_path
from src.utils.plots import save_tile_grid
from src.utils.run_folder import RunFolder

log = logging.getLogger(__name__)


def limited_validation_note(cfg) -> str:
    """Where trainer.limit_val_batches cut validation, the progress bar's val/map is over fewer tiles than the
    out-of-fold figures: say so beside them."""
    limit = cfg.trainer.get("limit_val_batches")
    if limit is None or limit == 1.0:
        return ""
    return f" (the progress bar's val/map was over trainer.limit_val_batches={limit} of them)"


def ensemble_description(n_snapshots, n_networks) -> str:
    """'ensemble of 3 snapshots averaged into one network', 'ensemble of 3 snapshots (3 networks)', or, for
    one snapshot, 'the best snapshot alone'."""
    if n_snapshots <= 1:
        return "the best snapshot alone"
    if n_networks == 1:
        return f"ensemble of {n_snapshots} snapshots averaged into one network"
    return f"ensemble of {n_snapshots} snapshots ({n_networks} networks)"


def out_of_fold_members(run, datamodule, bn_tiles=None) -> tuple[list | None, list | None, int]:
    """(best single snapshot, ensemble, the ensemble's number of snapshots) from the run's ensemble.yaml, the
    first two as [(module, weight)] lists; the ensemble is None when it is the best snapshot alone. In weights
    mode the average is made (and saved) here, BatchNorm recomputed on `bn_tiles` training tiles (None: all), and
    its several snapshots are one network."""
    spec = read_ensemble(run)
    if spec is None:  # no validation happened: fall back on the last weights
        return None, None, 0
    mode, members = spec
    ensembles = snapshot_ensembles(run, datamodule.labelled_train_loader(bn_tiles), modes=(mode,))
    return ensembles["best"], (ensembles[mode] if len(members) > 1 else None), len(members)


def evaluate_out_of_fold(cfg, run_dir, datamodule, loggers=()) -> float | None:
    """Predict the validation fold with the best snapshot and the ensemble; write oof.npz and a picture."""
    run = RunFolder(run_dir)
    best, ensemble, n_snapshots = out_of_fold_members(run, datamodule, cfg.ensemble.get("bn_tiles"))
    if best is None:
        log.warning("no validation snapshot was saved: skipping out-of-fold evaluation")
        return None
    tiles = datamodule.images[datamodule.val_idx], datamodule.depths[datamodule.val_idx]
    masks = datamodule.masks[datamodule.val_idx]
    truth = masks == 1
    interpreted = {} if datamodule.ignore_value is None else {"valid": masks != datamodule.ignore_value}
    kwargs = dict(tta=cfg.oof.tta, batch_size=cfg.oof.batch_size)
    best_probs = predict_tiles(best, *tiles, desc="oof best", **kwargs)
    probs = best_probs if ensemble is None else predict_tiles(ensemble, *tiles, desc="oof ensemble", **kwargs)
    n_networks = len(ensemble or best)
    ensemble_name = ensemble_description(n_snapshots, n_networks)
    map_best = kaggle_map(best_probs > 0.5, truth, **interpreted)
    map_ensemble = kaggle_map(probs > 0.5, truth, **interpreted)
    log.info(
        "fold %d out-of-fold val/map at 0.5 over its %d validation tiles%s: best snapshot %.4f, %s %.4f",
        cfg.fold,
        len(truth),
        limited_validation_note(cfg),
        map_best,
        ensemble_name,
        map_ensemble,
    )
    if ensemble is not None and map_ensemble < map_best:
        why = (
            f"the {ensemble_name} scored {map_ensemble:.4f} out of fold, below its best snapshot's "
            f"{map_best:.4f}: the best snapshot is used"
        )
        log.warning("fold %d: %s (ensemble.yaml says so; snapshots=N still asks for the best N)", cfg.fold, why)
        keep_best_snapshot(run, why)
        probs = best_probs  # what infer.py and predict.py will use
    used = "best snapshot" if probs is best_probs else "ensemble"
    ids = np.array(datamodule.ids)[datamodule.val_idx]
    with atomic_path(run.oof) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                ids=ids,
                probs=probs,
                truth=truth,
                fold=cfg.fold,
                map_best=map_best,
                map_ensemble=map_ensemble,
                n_snapshots=n_snapshots,
                n_networks=n_networks,
                used=used,
                **interpreted,
            )
    n = min(cfg.oof.grid_tiles, len(ids))
    pick = np.argsort(-truth.reshape(len(truth), -1).mean(1))[np.linspace(0, len(ids) - 1, n).astype(int)]
    save_tile_grid(
        run.validation_picture,
        [datamodule.images[datamodule.val_idx][pick], truth[pick], probs[pick], probs[pick] > 0.5],
        ["image", "truth", "probability", "prediction"],
        row_labels=list(ids[pick]),
    )
    publish_picture(loggers, run.validation_picture)
    return map_best if used == "best snapshot" else map_ensemble
