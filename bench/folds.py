"""The seed's whole inference, measured: one snapshot vs snapshot ensembles (both ways) vs the 5-fold ensemble,
at threshold 0.5 and with post-processing tuned on out-of-fold predictions.

A seeded share of ../shared/tgs's labelled tiles is held out from every fold; `train.py -m fold=0,...` trains
the folds on the rest for the same wall-clock budget each. Out-of-fold (OOF) tiles score the per-fold variants
and choose each variant's post-processing; the held-out tiles, which no fold saw, score every variant, the fold
ensembles included, with that post-processing. Every network predicts each tile once (hflip TTA); the
variants are weighted means of those predictions, as infer.py averages them.

python bench/folds.py --minutes M [--folds 5] [--holdout 0.2] [--top-k 2] [-- train.py overrides ...]
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ensembles import fold_datamodule  # noqa: E402
from bench.record import record  # noqa: E402
from bench.runs import PROJECT, read_tiles, split_root, train  # noqa: E402
from src.ensemble.averaging import weight_average  # noqa: E402
from src.ensemble.run_folder import RunFolder, runs_under  # noqa: E402
from src.ensemble.spec import read_ensemble  # noqa: E402
from src.inference.postproc import postprocess_batch  # noqa: E402
from src.inference.probabilities import predict_probs, predict_tiles  # noqa: E402
from src.inference.tuning import grid_search  # noqa: E402
from src.metrics.kaggle_map import kaggle_map  # noqa: E402
from src.models.checkpoint import load_module  # noqa: E402

GRID = dict(thresholds=np.arange(0.3, 0.71, 0.05).round(2), min_components=[0, 10, 20, 40],
            min_masks=[0, 10, 20, 50, 100])


def weighted(parts, weights):
    return sum(w * p for p, w in zip(parts, weights)) / sum(weights)


def fold_predictions(run_dir, held_images, held_depths):
    """{variant: (oof probs, held-out probs)} of one fold run, and its OOF truth. The snapshots come from
    ensemble.yaml whatever ensemble.mode the run used; their weight average is recomputed here."""
    dm = fold_datamodule(run_dir)
    oof_set, truth = dm.subset(dm.val_idx), dm.masks[dm.val_idx]
    _, members = read_ensemble(RunFolder(run_dir))
    snapshots, weights = [load_module(path) for path, _ in members], [w for _, w in members]
    oof, held = [], []
    for k, snapshot in enumerate(snapshots):
        net = [(snapshot, 1.0)]
        oof.append(predict_probs(net, oof_set, desc=f"{run_dir.name} snapshot {k} OOF"))
        held.append(predict_tiles(net, held_images, held_depths, desc=f"{run_dir.name} snapshot {k} held-out"))
    averaged = [(weight_average(snapshots, weights, dm.labelled_train_loader()), 1.0)]
    variants = {
        "best snapshot": (oof[0], held[0]),
        f"snapshot ensemble (predictions, {len(members)})": (weighted(oof, weights), weighted(held, weights)),
        f"snapshot ensemble (weights, {len(members)})": (
            predict_probs(averaged, oof_set, desc=f"{run_dir.name} weight average OOF"),
            predict_tiles(averaged, held_images, held_depths, desc=f"{run_dir.name} weight average held-out")),
    }
    return variants, truth


def tuned(probs, truth):
    """The best post-processing on these OOF predictions (a row of grid_search)."""
    return grid_search(probs, truth, **GRID).iloc[0]


def postprocessed_map(probs, truth, best):
    masks = postprocess_batch(probs, threshold=best.threshold, min_component=int(best.min_component),
                              min_mask=int(best.min_mask))
    return kaggle_map(masks, truth)


def report(folds, held_truth):
    """Two tables: each variant on the OOF tiles (0.5, tuned there), then on the held-out tiles for fold 0
    alone and for the fold ensemble (0.5, and with the post-processing tuned on OOF)."""
    oof_truth = np.concatenate([truth for _, truth in folds])
    n = len(folds)
    oof_lines = [f"{'out-of-fold, each tile by its own fold':40s} {'mAP@0.5':>8s} {'tuned':>8s}  tuned post-processing"]
    held_lines = [f"{'held-out tiles':40s} {'fold 0':>8s} {'tuned':>8s} {f'{n} folds':>8s} {'tuned':>8s}"]
    for name in folds[0][0]:
        oof = np.concatenate([variants[name][0] for variants, _ in folds])
        best = tuned(oof, oof_truth)
        oof_lines.append(f"{name:40s} {kaggle_map(oof > 0.5, oof_truth):8.4f} {best['map']:8.4f}  threshold "
                         f"{best.threshold:.2f}, min_component {int(best.min_component)}, "
                         f"min_mask {int(best.min_mask)}")
        one = folds[0][0][name][1]
        ensemble = weighted([variants[name][1] for variants, _ in folds], [1.0] * n)
        held_lines.append(f"{name:40s} " + " ".join(
            f"{kaggle_map(p > 0.5, held_truth):8.4f} {postprocessed_map(p, held_truth, best):8.4f}"
            for p in (one, ensemble)))
    return oof_lines + [""] + held_lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="training budget of each fold")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--top-k", type=int, default=2, help="snapshots kept per fold")
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "tgs")
    parser.add_argument("overrides", nargs="*", help="more train.py overrides (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root, held_ids = split_root(args.data.resolve(), work, args.holdout, args.seed)
        multirun = train(work / "folds", args.minutes, f"experiment={args.experiment}", f"data.root={root}",
                         f"data.n_folds={args.folds}", f"fold={','.join(map(str, range(args.folds)))}",
                         f"ensemble.top_k={args.top_k}", *args.overrides, multirun=True)
        held_images, held_truth, held_depths = read_tiles(args.data, held_ids)
        runs = [r.path for r in runs_under(multirun)]
        folds = [fold_predictions(run, held_images, held_depths) for run in runs]
    lines = [f"{len(runs)} folds x {args.minutes} min, experiment={args.experiment} {' '.join(args.overrides)}, "
             f"top {args.top_k} snapshots per fold, hflip TTA; {sum(len(t) for _, t in folds)} OOF tiles, "
             f"{len(held_ids)} held-out tiles no fold saw"] + report(folds, held_truth)
    record("Fold and snapshot ensembles on held-out tiles", "\n".join(lines))


if __name__ == "__main__":
    main()
