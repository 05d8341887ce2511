"""The GPU check's figures, read from its training run and inference (bench/gpu_check.sh runs this last):
card, epochs, training images/s, val/map per epoch, peak GPU memory, where the post-training work ran, the
out-of-fold scores and inference tiles/s. Printed, and appended to RESULTS.md (or to --results).

python -m bench.gpu_report RUN_DIR --budget-s S --train-wall S --infer-wall S --tiles N [--peak-mib P]
"""

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--budget-s", type=float, required=True, help="trainer.max_time in seconds")
    parser.add_argument("--train-wall", type=float, required=True, help="seconds of the whole train.py command")
    parser.add_argument("--infer-wall", type=float, required=True, help="seconds of the whole infer.py command")
    parser.add_argument("--tiles", type=int, required=True, help="tiles infer.py predicted")
    parser.add_argument("--peak-mib", type=float, default=None, help="peak GPU memory used (nvidia-smi)")
    parser.add_argument("--command", default=None, help="the command to record")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--copy", type=Path, default=None, help="also write the recorded block here")
    args = parser.parse_args()
    epochs, steps, best = logged(args.run)
    seconds = training_seconds(args.run)
    run = RunFolder(args.run)
    batch = OmegaConf.load(run.config).batch_size
    oof = np.load(run.oof)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU (CPU dry run)"
    per_epoch = ", ".join(f"{e}: {m:.3f}" for e, m in val_map_per_epoch(args.run))
    lines = [
        f"card: {device}; torch {torch.__version__}; budget {args.budget_s:g} s (trainer.max_time)",
        f"training: {epochs} epochs, {steps} steps of batch {batch} in {seconds:.0f} s (Lightning's Timer, "
        f"validation included) -> {steps * batch / seconds:.1f} images/s; train.py command {args.train_wall:.0f} s",
        "peak GPU memory: " + (f"{args.peak_mib:.0f} MiB (nvidia-smi, whole card)" if args.peak_mib else "n/a"),
        f"val/map per epoch: {per_epoch}",
        f"best val/map {best:.4f}; out-of-fold (hflip TTA, threshold 0.5): best snapshot {float(oof['map_best']):.4f}, "
        f"ensemble of {int(oof['n_snapshots'])} {float(oof['map_ensemble']):.4f} on {len(oof['ids'])} tiles",
        *("after training: " + line for line in log_lines(args.run, r"averaged \d+ snapshots", "out-of-fold val/map")),
        f"inference: {args.tiles} test tiles, hflip TTA, in {args.infer_wall:.0f} s (whole infer.py command, start-up "
        f"and reading included) -> {args.tiles / args.infer_wall:.1f} tiles/s",
    ]
    block = record(
        f"GPU check: experiment=seed trainer=gpu, fold 0, {args.budget_s / 60:g} min ({device})",
        "\n".join(lines),
        command=args.command,
        results=args.results,
    )
    if args.copy:
        args.copy.write_text(block)


if __name__ == "__main__":
    main()
