"""Callbacks that save PNGs in the run dir: what the network sees (augmentation) and the training curves."""
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from src.utils.plots import save_curves, save_tile_grid


def first_channel(items, key):
    """Channel 0 of each dataset item's `key` tensor, stacked (N, H, W)."""
    return np.stack([item[key][0].numpy() for item in items])


class AugmentationPreview(pl.Callback):
    """At fit start, the same training tiles before and after augmentation (image and mask)."""

    def __init__(self, n_tiles=6, filename="augmentations.png"):
        self.n_tiles, self.filename = n_tiles, filename

    def on_fit_start(self, trainer, pl_module):
        dm = trainer.datamodule
        if dm is None or not trainer.is_global_zero:
            return
        idx = dm.train_idx[: self.n_tiles]
        plain, augmented = dm.subset(idx), dm.subset(idx, dm.augment)
        before = [plain[k] for k in range(len(idx))]
        after = [augmented[k] for k in range(len(idx))]
        save_tile_grid(Path(trainer.default_root_dir) / self.filename,
                       [first_channel(before, "x"), first_channel(before, "y"), first_channel(after, "x"),
                        first_channel(after, "y")], ["image", "mask", "augmented", "aug. mask"])


class TrainingCurves(pl.Callback):
    """After every validation and at the end, redraw curves.png from the CSV log, so a person can watch a run."""

    def __init__(self, filename="curves.png"):
        self.filename = filename

    def on_validation_end(self, trainer, pl_module):
        self.draw(trainer)

    def on_fit_end(self, trainer, pl_module):
        self.draw(trainer)

    def draw(self, trainer):
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.logger is None:
            return
        trainer.logger.save()
        metrics = Path(trainer.logger.log_dir) / "metrics.csv"
        if metrics.exists():
            save_curves(metrics, Path(trainer.default_root_dir) / self.filename)
