"""Best single snapshot vs snapshot ensemble (prediction and weight averaging), and OOF mAP with threshold 0.5
vs tuned post-processing, on the out-of-fold tiles of finished runs (each tile predicted by its own fold).

python bench/ensembles.py RUN_OR_MULTIRUN_DIR [--no-tta]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import record  # noqa: E402
from src.ensemble.averaging import weight_average  # noqa: E402
from src.ensemble.run_folder import RunFolder, runs_under  # noqa: E402
from src.ensemble.spec import read_ensemble  # noqa: E402
from src.data.datamodule import TGSDataModule  # noqa: E402
from src.inference.probabilities import predict_probs  # noqa: E402
from src.inference.tuning import grid_search  # noqa: E402
from src.metrics.kaggle_map import kaggle_map  # noqa: E402
from src.models.checkpoint import load_module  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402


def fold_datamodule(run_dir):
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    d = cfg.data
    dm = TGSDataModule(d.root, cfg.fold, d.n_folds, cfg.seed,
                       d.channels, d.input_size, cfg.batch_size, 0, aug=None, split_file=run_dir / "folds.csv",
                       subset=d.get("subset"))
    dm.setup()
    return dm


def evaluate_run(run_dir, tta):
    dm = fold_datamodule(run_dir)
    _, members = read_ensemble(RunFolder(run_dir))
    modules = [(load_module(p), w) for p, w in members]
    dataset, truth = dm.subset(dm.val_idx), dm.masks[dm.val_idx]
    single = predict_probs(modules[:1], dataset, tta=tta, desc="best snapshot")
    by_prediction = predict_probs(modules, dataset, tta=tta, desc="snapshot ensemble")
    averaged = weight_average([load_module(p) for p, _ in members], [w for _, w in members], dm.labelled_train_loader())
    by_weights = predict_probs([(averaged, 1.0)], dataset, tta=tta, desc="weight average")
    return truth, {"best snapshot": single, f"ensemble of {len(members)} (predictions)": by_prediction,
                   f"ensemble of {len(members)} (weights)": by_weights}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--no-tta", action="store_true")
    args = parser.parse_args()
    runs = [r.path for r in runs_under(args.run)]
    truths, probs = [], {}
    for run in runs:
        truth, variants = evaluate_run(run, not args.no_tta)
        truths.append(truth)
        for name, p in variants.items():
            probs.setdefault(name, []).append(p)
    truth = np.concatenate(truths)
    lines = [f"{len(runs)} fold(s), {len(truth)} out-of-fold tiles, hflip TTA {'off' if args.no_tta else 'on'}",
             f"{'variant':40s} {'mAP@0.5':>8s} {'tuned':>8s}  tuned post-processing"]
    for name, parts in probs.items():
        p = np.concatenate(parts)
        best = grid_search(p, truth, np.arange(0.3, 0.71, 0.05).round(2), [0, 10, 20, 40], [0, 10, 20, 50, 100]).iloc[0]
        lines.append(f"{name:40s} {kaggle_map(p > 0.5, truth):8.4f} {best['map']:8.4f}  threshold "
                     f"{best.threshold:.2f}, min_component {int(best.min_component)}, min_mask {int(best.min_mask)}")
    record(f"Ensembles and post-processing on {args.run.name}", "\n".join(lines))


if __name__ == "__main__":
    main()
