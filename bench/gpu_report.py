"""The GPU check's figures, read from its training runs (one per fold) and inference (bench/gpu_check.sh runs this
last): card, epochs, training images/s, val/map per epoch, peak GPU memory, where the post-training work ran, each
fold's and the pooled out-of-fold scores and inference tiles/s. Printed, and appended to RESULTS.md (or --results).

python -m bench.gpu_report RUN_DIR [RUN_DIR ...] --budget-s S --train-wall S --infer-wall S --tiles N
    [--peak-mib P] [--postproc POSTPROC_YAML]
"""

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from omegaconf import OmegaConf

from bench.common import RESULTS, logged, record, training_seconds
from src.utils.run_folder import RunFolder


def val_map_per_epoch(run_dir):
    log = pd.read_csv(Path(run_dir) / "logs" / "metrics.csv")
    rows = log.dropna(subset=["val/map"])
    return [(int(e), float(m)) for e, m in zip(rows.epoch, rows["val/map"])]


def log_lines(run_dir, *patterns):
    text = (Path(run_dir) / "train.log").read_text()
    return [line.split(" - ", 1)[-1] for line in text.splitlines() if any(re.search(p, line) for p in patterns)]


def fold_lines(run_dir):
    """The lines of one fold's run: epochs, images/s, val/map per epoch, out-of-fold scores, post-training work."""
    epochs, steps, best = logged(run_dir)
    seconds = training_seconds(run_dir)
    run = RunFolder(run_dir)
    config = OmegaConf.load(run.config)
    oof = np.load(run.oof)
    per_epoch = ", ".join(f"{e}: {m:.3f}" for e, m in val_map_per_epoch(run_dir))
    used = str(oof["used"]) if "used" in oof else "ensemble"
    return [
        f"fold {config.fold} training: {epochs} epochs, {steps} steps of batch {config.batch_size} in {seconds:.0f} s "
        f"(Lightning's Timer, validation included) -> {steps * config.batch_size / seconds:.1f} images/s",
        f"fold {config.fold} val/map per epoch: {per_epoch}",
        f"fold {config.fold} best val/map {best:.4f}; out-of-fold (hflip TTA, threshold 0.5): best snapshot "
        f"{float(oof['map_best']):.4f}, ensemble of {int(oof['n_snapshots'])} snapshots "
        f"{float(oof['map_ensemble']):.4f} on "
        f"{len(oof['ids'])} tiles (uses the {used})",
        *(f"fold {config.fold} after training: " + line for line in log_lines(run_dir, r"averaged \d+ snapshots")),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="the fold runs")
    parser.add_argument("--budget-s", type=float, required=True, help="trainer.max_time of each fold, in seconds")
    parser.add_argument("--train-wall", type=float, required=True, help="seconds of all the train.py commands")
    parser.add_argument("--infer-wall", type=float, required=True, help="seconds of the whole infer.py command")
    parser.add_argument("--tiles", type=int, required=True, help="tiles infer.py predicted")
    parser.add_argument("--peak-mib", type=float, default=None, help="peak GPU memory used (nvidia-smi)")
    parser.add_argument("--postproc", type=Path, default=None, help="tune.py's postproc.yaml over all the folds")
    parser.add_argument("--command", default=None, help="the command to record")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--copy", type=Path, default=None, help="also write the recorded block here")
    args = parser.parse_args()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU (CPU dry run)"
    lines = [
        f"card: {device}; torch {torch.__version__}; budget {args.budget_s:g} s a fold (trainer.max_time); "
        f"train.py commands {args.train_wall:.0f} s in all",
        "peak GPU memory: " + (f"{args.peak_mib:.0f} MiB (nvidia-smi, whole card)" if args.peak_mib else "n/a"),
    ]
    for run in args.runs:
        lines += fold_lines(run)
    if args.postproc:
        tuned = yaml.safe_load(args.postproc.read_text())
        lines.append(
            f"{len(args.runs)}-fold out-of-fold mAP over {tuned['n_tiles']} tiles: "
            f"{tuned['oof_map_threshold_0.5']:.4f} at threshold 0.5, {tuned['oof_map']:.4f} tuned (threshold "
            f"{tuned['threshold']}, min_mask {tuned['min_mask']}, min_component {tuned['min_component']})"
        )
    lines.append(
        f"inference: {args.tiles} test tiles, {len(args.runs)} fold(s) x snapshots x hflip TTA, in "
        f"{args.infer_wall:.0f} s (whole infer.py command, start-up and reading included) -> "
        f"{args.tiles / args.infer_wall:.1f} tiles/s"
    )
    block = record(
        f"GPU check: experiment=seed trainer=gpu, {len(args.runs)} fold(s), {args.budget_s / 60:g} min each ({device})",
        "\n".join(lines),
        command=args.command,
        results=args.results,
    )
    if args.copy:
        args.copy.write_text(block)


if __name__ == "__main__":
    main()
