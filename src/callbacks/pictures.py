"""Callbacks that save PNGs in the run dir, what the network sees (augmentation) and the training curves, and
send them to the loggers that take images."""

from pathlib import Path

import cv2
import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from src.utils.plots import save_curves, save_tile_grid


def publish_picture(loggers, path, step=0) -> None:
    """Send a saved PNG to each logger that takes images (TensorBoard, Weights & Biases, MLflow), named after it."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            logger.experiment.add_image(Path(path).stem, image, step, dataformats="HWC")
            logger.experiment.flush()
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=Path(path).stem, images=[str(path)], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_artifact(logger.run_id, str(path))


def first_channel(items, key) -> np.ndarray:
    """Channel 0 of each dataset item's `key` tensor, stacked (N, H, W)."""
    return np.stack([item[key][0].numpy() for item in items])


class AugmentationPreview(pl.Callback):
    """At fit start, the same training tiles before and after augmentation (image and mask)."""

    def __init__(self, n_tiles=6, filename="augmentations.png") -> None:
        self.n_tiles, self.filename = n_tiles, filename

    def on_fit_start(self, trainer, pl_module) -> None:
        dm = getattr(trainer.datamodule, "labelled", trainer.datamodule)  # a semi-supervised wrapper: its tiles
        if dm is None or not trainer.is_global_zero:
            return
        idx = dm.train_idx[: self.n_tiles]
        plain, augmented = dm.subset(idx), dm.subset(idx, dm.augment)
        before = [plain[k] for k in range(len(idx))]
        after = [augmented[k] for k in range(len(idx))]
        path = Path(trainer.default_root_dir) / self.filename
        save_tile_grid(
            path,
            [
                first_channel(before, "x"),
                first_channel(before, "y"),
                first_channel(after, "x"),
                first_channel(after, "y"),
            ],
            ["image", "mask", "augmented", "aug. mask"],
        )
        publish_picture(trainer.loggers, path, trainer.global_step)


class TrainingCurves(pl.Callback):
    """After every validation and at the end, redraw curves.png from the CSV log, so a person can watch a run."""

    def __init__(self, filename="curves.png") -> None:
        self.filename = filename

    def on_validation_end(self, trainer, pl_module) -> None:
        self.draw(trainer)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.draw(trainer):
            publish_picture(trainer.loggers, Path(trainer.default_root_dir) / self.filename, trainer.global_step)

    def draw(self, trainer) -> bool:
        """Redraw from the CSV logger's metrics.csv; True when there was something to draw."""
        csv = next((logger for logger in trainer.loggers if isinstance(logger, CSVLogger)), None)
        if trainer.sanity_checking or not trainer.is_global_zero or csv is None:
            return False
        csv.save()
        metrics = Path(csv.log_dir) / "metrics.csv"
        if metrics.exists():
            save_curves(metrics, Path(trainer.default_root_dir) / self.filename)
        return metrics.exists()
