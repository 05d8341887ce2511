"""How much issue 13's fixes move a finished run's figures, on its out-of-fold tiles, with the network infer.py
uses for the run. The rules before the fixes are written out here, for this comparison only:
- hflip TTA: the padded tensor flipped (tile one pixel off the training geometry) vs the tile mirrored, then padded;
- val/map: IoU as a float32 division (exact ties such as 4/5 counted above the threshold) vs the integer rule;
- oof.npz: probabilities stored as float16 vs float32, through tune.py's grid search.

python -m bench.fixes RUN_DIR
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from bench.common import read_tiles, record
from src.ensemble.members import load_members
from src.inference.backends import predict_tiles
from src.inference.tuning import gather_oof, grid_search
from src.metrics.kaggle_map import THRESHOLD_PERCENTS, kaggle_map, overlap_counts
from src.utils.run_folder import RunFolder


class PaddedFlipTTA(torch.nn.Module):
    """A network whose hflip view is the flipped padded tensor, as predict.py built it before the fix."""

    def __init__(self, module):
        super().__init__()
        self.module, self.preprocess = module, module.preprocess

    def forward(self, x):
        return self.module(x.flip(-1)).flip(-1)


def float32_map(pred, truth):
    """val/map as KaggleMAP computed it before the fix: IoU = int / int in float32, compared with float64 thresholds."""
    inter, union = (torch.from_numpy(c) for c in overlap_counts(pred, truth))
    iou = torch.where(union == 0, 1.0, inter / union.clamp(min=1)).double()
    return float((iou[:, None] > torch.from_numpy(THRESHOLD_PERCENTS / 100)[None, :]).double().mean(1).mean())


def exact_ties(pred, truth):
    inter, union = overlap_counts(pred, truth)
    on_threshold = 100 * inter[:, None] == THRESHOLD_PERCENTS[None, :] * union[:, None]
    return int((on_threshold & (union[:, None] > 0)).any(1).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, default=None, help="the run's data root (default: from oof.npz's run)")
    args = parser.parse_args()
    root = args.data or Path(OmegaConf.load(RunFolder(args.run).config).data.root)
    ids = gather_oof(args.run)[0]
    images, truth, depths = read_tiles(root, list(ids))
    members, _ = load_members(args.run)
    plain = predict_tiles(members, images, depths, tta=False, desc="no TTA")
    now = predict_tiles(members, images, depths, tta=True, desc="TTA, tile mirrored")
    flipped = predict_tiles([(PaddedFlipTTA(m), w) for m, w in members], images, depths, tta=False, desc="flip view")
    before = 0.5 * (plain + flipped)
    lines = [
        f"{args.run}: {len(ids)} out-of-fold tiles, {len(members)} network(s) as infer.py uses them",
        f"hflip TTA mAP at 0.5: padded tensor flipped (before) {kaggle_map(before > 0.5, truth):.4f}, tile "
        f"mirrored then padded (now) {kaggle_map(now > 0.5, truth):.4f}; "
        f"no TTA {kaggle_map(plain > 0.5, truth):.4f}; "
        f"mean |difference| of the probabilities {np.abs(before - now).mean():.4f}",
    ]
    for name, probs in (("no TTA (what val/map sees)", plain), ("TTA", now)):
        pred = probs > 0.5
        lines.append(
            f"metric, {name}: float32 division (before) {float32_map(pred, truth):.4f}, integer rule (now) "
            f"{kaggle_map(pred, truth):.4f}; tiles with an IoU exactly on a threshold: "
            f"{exact_ties(pred, truth)}"
        )
    grid = dict(
        thresholds=np.round(np.arange(0.3, 0.71, 0.05), 2),
        min_components=[0, 10, 20, 40, 80],
        min_masks=[0, 10, 20, 50, 100, 200, 300],
    )
    for name, probs in (("float16 (before)", now.astype(np.float16).astype(np.float32)), ("float32 (now)", now)):
        best = grid_search(probs, truth, **grid).iloc[0]
        lines.append(
            f"tuned on {name} probabilities: mAP {best['map']:.4f} at threshold {best.threshold:g}, "
            f"min_component {best.min_component:g}, min_mask {best.min_mask:g}; "
            f"{int((probs == 0.5).sum())} pixels exactly 0.5"
        )
    record("Issue 13's fixes on one run's out-of-fold tiles", "\n".join(lines))


if __name__ == "__main__":
    main()
