"""Snapshot and fold ensembles, measured: the best snapshot vs the snapshot ensemble by predictions and by
weights, at threshold 0.5 and with post-processing tuned on out-of-fold (OOF) predictions.

python -m bench.ensembles --minutes M [--folds 5] [--holdout 0.2] [--top-k 2] [-- train.py overrides ...]
    A seeded share of ../shared/tgs's labelled tiles is held out from every fold; `train.py -m fold=0,...`
    trains the folds on the rest for M minutes each. OOF tiles score the variants and choose each variant's
    post-processing; the held-out tiles, which no fold saw, score every variant for fold 0 alone and for the
    fold ensemble, with that post-processing.
python -m bench.ensembles --runs RUN_OR_MULTIRUN_DIR [--no-tta]
    The same variants of finished runs, on their OOF tiles only.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bench.common import SHARED_TGS, read_tiles, record, split_root, train
from src.ensemble.members import run_datamodule, snapshot_ensembles
from src.inference.backends import predict_tiles
from src.inference.postproc import postprocess_batch
from src.inference.tuning import grid_search
from src.metrics.kaggle_map import kaggle_map
from src.utils.run_folder import runs_under

GRID = dict(
    thresholds=np.arange(0.3, 0.71, 0.05).round(2), min_components=[0, 10, 20, 40], min_masks=[0, 10, 20, 50, 100]
)
VARIANTS = {
    "best": "best snapshot",
    "predictions": "snapshot ensemble (predictions)",
    "weights": "snapshot ensemble (weights)",
}


def fold_variants(run, held=None, tta=True):
    """({variant: (OOF probs, held-out probs or None)}, OOF truth) of one finished fold run."""
    dm = run_datamodule(run)
    oof_tiles, truth = (dm.images[dm.val_idx], dm.depths[dm.val_idx]), dm.masks[dm.val_idx]
    ensembles = snapshot_ensembles(run, dm.labelled_train_loader())
    variants = {}
    for key, members in ensembles.items():
        desc = f"{run.path.name} {key}"
        oof = predict_tiles(members, *oof_tiles, tta=tta, desc=f"{desc} OOF")
        variants[VARIANTS[key]] = (
            oof,
            None if held is None else predict_tiles(members, *held, tta=tta, desc=f"{desc} held-out"),
        )
    return variants, truth


def tuned(probs, truth):
    """The best post-processing on these OOF predictions (a row of grid_search)."""
    return grid_search(probs, truth, **GRID).iloc[0]


def postprocessed_map(probs, truth, best):
    masks = postprocess_batch(
        probs, threshold=best.threshold, min_component=int(best.min_component), min_mask=int(best.min_mask)
    )
    return kaggle_map(masks, truth)


def report(folds, held_truth=None):
    """Each variant on the OOF tiles (0.5, tuned there); with held-out tiles, each on them for fold 0 alone and
    for the fold ensemble (0.5, and with the post-processing tuned on OOF)."""
    oof_truth = np.concatenate([truth for _, truth in folds])
    n = len(folds)
    oof_lines = [f"{'out-of-fold, each tile by its own fold':40s} {'mAP@0.5':>8s} {'tuned':>8s}  tuned post-processing"]
    held_lines = [f"{'held-out tiles':40s} {'fold 0':>8s} {'tuned':>8s} {f'{n} folds':>8s} {'tuned':>8s}"]
    for name in folds[0][0]:
        oof = np.concatenate([variants[name][0] for variants, _ in folds])
        best = tuned(oof, oof_truth)
        oof_lines.append(
            f"{name:40s} {kaggle_map(oof > 0.5, oof_truth):8.4f} {best['map']:8.4f}  threshold "
            f"{best.threshold:.2f}, min_component {int(best.min_component)}, "
            f"min_mask {int(best.min_mask)}"
        )
        if held_truth is not None:
            one = folds[0][0][name][1]
            ensemble = sum(variants[name][1] for variants, _ in folds) / n
            held_lines.append(
                f"{name:40s} "
                + " ".join(
                    f"{kaggle_map(p > 0.5, held_truth):8.4f} {postprocessed_map(p, held_truth, best):8.4f}"
                    for p in (one, ensemble)
                )
            )
    return oof_lines + ([""] + held_lines if held_truth is not None else [])


def measure_runs(path, tta):
    runs = runs_under(path)
    folds = [fold_variants(run, tta=tta) for run in runs]
    lines = [
        f"{len(runs)} fold(s), {sum(len(t) for _, t in folds)} out-of-fold tiles, hflip TTA {'on' if tta else 'off'}"
    ] + report(folds)
    record(f"Ensembles and post-processing on {Path(path).name}", "\n".join(lines))


def measure_training(args):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root, held_ids = split_root(args.data.resolve(), work, args.holdout, args.seed)
        multirun = train(
            work / "folds",
            args.minutes,
            f"experiment={args.experiment}",
            f"data.root={root}",
            f"data.n_folds={args.folds}",
            f"fold={','.join(map(str, range(args.folds)))}",
            f"ensemble.top_k={args.top_k}",
            *args.overrides,
            multirun=True,
        )
        held_images, held_truth, held_depths = read_tiles(args.data, held_ids)
        runs = runs_under(multirun)
        folds = [fold_variants(run, (held_images, held_depths)) for run in runs]
    lines = [
        f"{len(runs)} folds x {args.minutes} min, experiment={args.experiment} {' '.join(args.overrides)}, "
        f"top {args.top_k} snapshots per fold, hflip TTA; {sum(len(t) for _, t in folds)} OOF tiles, "
        f"{len(held_ids)} held-out tiles no fold saw"
    ] + report(folds, held_truth)
    record("Fold and snapshot ensembles on held-out tiles", "\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--minutes", type=int, help="train the folds, this budget each, and hold tiles out")
    what.add_argument("--runs", type=Path, help="finished run or multirun folder: OOF tiles only")
    parser.add_argument("--no-tta", action="store_true", help="with --runs: predict without hflip TTA")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--top-k", type=int, default=2, help="snapshots kept per fold")
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=SHARED_TGS)
    parser.add_argument("overrides", nargs="*", help="more train.py overrides (after --)")
    args = parser.parse_args()
    if args.runs:
        measure_runs(args.runs, not args.no_tta)
    else:
        measure_training(args)


if __name__ == "__main__":
    main()
