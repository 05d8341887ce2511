"""Semi-supervised tiles mixed into a tile DataModule's training batches, as a wrapper around it: pseudo-labelled
tiles sampled to make `ratio` of each epoch, or unlabelled tiles served beside each labelled batch (mean teacher).
Validation, the split and the preprocessing stay the labelled DataModule's."""

from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, RandomSampler, WeightedRandomSampler

from src.data.datamodule import TileDataModule, TileDataset


@dataclass(frozen=True)
class PseudoLabelled:
    """Unlabelled tiles with a teacher's masks, mixed into training so that they make `ratio` of each epoch."""

    images: np.ndarray
    depths: np.ndarray
    masks: np.ndarray
    ratio: float


@dataclass(frozen=True)
class Unlabelled:
    """Tiles served `batch_size` at a time beside each labelled batch (mean teacher)."""

    images: np.ndarray
    depths: np.ndarray
    batch_size: int


class SemiSupervised(pl.LightningDataModule):
    """`labelled`'s tiles with `pseudo` mixed into its training batches, or `unlabelled` served beside them."""

    def __init__(
        self, labelled: TileDataModule, pseudo: PseudoLabelled | None = None, unlabelled: Unlabelled | None = None
    ) -> None:
        super().__init__()
        self.labelled, self.pseudo, self.unlabelled = labelled, pseudo, unlabelled

    def prepare_data(self) -> None:
        self.labelled.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        self.labelled.setup(stage)

    def train_dataloader(self) -> DataLoader | dict[str, DataLoader]:
        labelled = self.labelled
        labelled.seed_augment(self.trainer.global_rank if self.trainer else 0)
        loader = labelled.labelled_train_loader() if self.pseudo is None else self._mixed_loader()
        if self.unlabelled is None:
            return loader
        tiles = TileDataset(
            self.unlabelled.images, self.unlabelled.depths, labelled.preprocess, augment=labelled.augment
        )
        # as many unlabelled batches as labelled ones: an epoch stays one pass over the labelled tiles, so
        # loss.switch_epoch, patience and max_epochs mean the same with or without the mean teacher
        batch_size = self.unlabelled.batch_size
        sampler = RandomSampler(tiles, num_samples=len(loader) * batch_size)
        return {"labelled": loader, "unlabelled": labelled.loader(tiles, sampler=sampler, batch_size=batch_size)}

    def _mixed_loader(self) -> DataLoader:
        """Labelled and pseudo-labelled tiles, sampled so that pseudo ones make `pseudo.ratio` of each epoch."""
        labelled, ratio = self.labelled, self.pseudo.ratio
        tiles = labelled.subset(labelled.train_idx, labelled.augment)
        pseudo = TileDataset(
            self.pseudo.images,
            self.pseudo.depths,
            labelled.preprocess,
            masks=self.pseudo.masks,
            augment=labelled.augment,
        )
        n_lab, n_pseudo = len(tiles), len(pseudo)
        weights = torch.cat(
            [torch.full((n_lab,), (1 - ratio) / n_lab), torch.full((n_pseudo,), ratio / max(n_pseudo, 1))]
        )
        sampler = WeightedRandomSampler(weights, num_samples=int(round(n_lab / (1 - ratio))))
        return labelled.loader(ConcatDataset([tiles, pseudo]), sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        return self.labelled.val_dataloader()
