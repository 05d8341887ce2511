"""Recipes side by side for the same wall-clock budget on fold 0 (issue #4: the seed's model vs a plain U-Net).

Each arm is a list of train.py overrides; each trains for M minutes (trainer.max_time) on fold 0, then reports
the training images/s (steps x batch / the training time Lightning's Timer measured, validation included), its
epochs, the best val/map it logged and the mAP of its ensemble as infer.py predicts it (hflip TTA, threshold 0.5).

python bench/recipe.py --minutes M [--arm NAME "override ..."]...  (default arms: seed vs plain, resnet34)
"""
import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import record  # noqa: E402
from bench.runs import PROJECT, logged, score, train, training_seconds  # noqa: E402

ARMS = {"seed": "experiment=seed encoder=resnet34",
        "plain": "experiment=seed encoder=resnet34 model=smp_unet loss=bce"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="training budget of each arm")
    parser.add_argument("--arm", nargs=2, action="append", metavar=("NAME", "OVERRIDES"))
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "tgs")
    parser.add_argument("--batch-size", type=int, default=20)
    args = parser.parse_args()
    arms = dict(args.arm) if args.arm else ARMS
    data = args.data.resolve()
    lines = [f"fold 0 of {data.name}, {args.minutes} min per arm, batch {args.batch_size}",
             f"{'arm':8s} {'img/s':>6s} {'epochs':>6s} {'best val/map':>12s} {'ensemble+TTA mAP':>16s}  overrides"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in arms.items():
            run = train(Path(tmp) / name, args.minutes, *shlex.split(overrides), f"data.root={data}", "fold=0",
                        f"batch_size={args.batch_size}")
            folds = pd.read_csv(run / "folds.csv", dtype={"id": str})
            mAP = score(run, data, folds.id[folds.fold == 0].tolist())
            epochs, steps, best = logged(run)
            rate = steps * args.batch_size / training_seconds(run)
            lines.append(f"{name:8s} {rate:6.2f} {epochs:6d} {best:12.4f} {mAP:16.4f}  {overrides}")
    record(f"Recipes for the same budget ({args.minutes} min each)", "\n".join(lines))


if __name__ == "__main__":
    main()
