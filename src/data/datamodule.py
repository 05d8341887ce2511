"""In-memory TGS tiles served to Lightning: folds, augmentation, channels, padding."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import albumentations as A
import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, RandomSampler, WeightedRandomSampler

from src.data import io
from src.data import synthetic as synthetic_tiles
from src.data.augment import seed_worker
from src.data.folds import coverage_class, load_folds, save_folds, stratified_folds
from src.data.preprocess import Preprocess
from src.data.tiles import reflect_pad
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder

log = logging.getLogger(__name__)


class TileDataset(Dataset):
    """Grey uint8 tiles (N, 101, 101) with depths, optional bool masks and an optional augmentation."""

    def __init__(self, images, depths, preprocess, masks=None, augment=None) -> None:
        self.images, self.depths, self.masks = images, depths, masks
        self.preprocess, self.augment = preprocess, augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> dict[str, torch.Tensor | int]:
        image = self.images[index]
        mask = None if self.masks is None else self.masks[index].astype(np.uint8)
        if self.augment is not None:
            out = self.augment(image=image, mask=mask) if mask is not None else self.augment(image=image)
            image, mask = out["image"], out.get("mask", mask)
        item = {"x": torch.from_numpy(self.preprocess(image, self.depths[index])), "index": index}
        if mask is not None:
            item["y"] = torch.from_numpy(reflect_pad(mask[None].astype(np.float32), self.preprocess.input_size))
        return item


def load_labelled(
    root, subset=None, exclude=()
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """(ids, images uint8, masks bool, depths) of the labelled tiles under a Kaggle-layout root, less the
    `exclude` ids (only the first `subset` of the rest when given, for quick experiments)."""
    root = io.require(root, "data folder", "download the Kaggle data (see README) or use data=synthetic")
    excluded, listed = set(exclude), io.read_train_ids(root)
    ids = [i for i in listed if i not in excluded][:subset]
    if excluded:
        log.info(
            "data.exclude_ids: %d tiles left out (%d of those listed are not in %s)",
            len(excluded & set(listed)),
            len(excluded - set(listed)),
            root / "train.csv",
        )
    depths = io.read_depths(root)
    images = io.read_images(io.require(root / "train" / "images", "image folder", "it comes with the Kaggle data"), ids)
    masks = io.read_masks(root / "train" / "masks", ids)
    return ids, images, masks, io.depths_for(ids, depths, root), depths


def load_unlabelled(root, folder="test/images") -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, images uint8, depths) of the tiles in `folder`; needs only the images and depths.csv."""
    root = Path(root)
    ids = io.list_images(root / folder)
    depths = io.read_depths(root)
    return ids, io.read_images(root / folder, ids), io.depths_for(ids, depths, root)


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


class TGSDataModule(pl.LightningDataModule):
    """The labelled tiles of a Kaggle-layout `root`, split into folds (stratified by salt coverage, or read from
    `split_file`); trains on every fold but `fold` and validates on it.

    root: the data folder (generated first when `synthetic` = {n_train, n_test, seed} is given); exclude_ids:
    tiles left out of every fold (e.g. masks not trusted); max_tiles: only the first N labelled tiles; run: the
    RunFolder the split is saved in; reference: the Preprocess of the network a run starts from (fine-tuning), kept
    instead of fitting one on the labelled tiles at setup(); pseudo and unlabelled: semi-supervised tiles
    (add_semi_supervised), which join training only."""

    ignore_value = None  # the mask value of unlabelled pixels (none in Kaggle tiles; src/survey has them)
    semi_supervised = True  # whether add_semi_supervised() can mix pseudo-labelled or unlabelled tiles in

    def __init__(
        self,
        *,
        root: str | Path,
        synthetic: dict | None = None,
        fold: int = 0,
        n_folds: int = 5,
        seed: int = 42,
        channels: Sequence[str] = ("image", "depth", "coord"),
        input_size: int = 128,
        batch_size: int = 20,
        num_workers: int = 0,
        augment: A.Compose | None = None,
        split_file: str | Path | None = None,
        run: RunFolder | None = None,
        max_tiles: int | None = None,
        exclude_ids: Sequence[str] = (),
        reference: Preprocess | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= fold < n_folds:
            raise UserError(f"fold={fold} is out of range: use 0..{n_folds - 1} (data.n_folds={n_folds})")
        self.root, self.synthetic = Path(root).expanduser().resolve(), synthetic
        self.fold, self.n_folds, self.seed = fold, n_folds, seed
        self.channels, self.input_size = list(channels), input_size
        self.batch_size, self.num_workers, self.augment = batch_size, num_workers, augment
        self.split_file, self.run, self.max_tiles, self.reference = split_file, run, max_tiles, reference
        self.exclude_ids = list(exclude_ids)
        self.pseudo: PseudoLabelled | None = None
        self.unlabelled: Unlabelled | None = None
        self.preprocess: Preprocess | None = None

    def add_semi_supervised(self, pseudo: PseudoLabelled | None = None, unlabelled: Unlabelled | None = None) -> None:
        """Mix pseudo-labelled tiles into training, or serve unlabelled ones beside each batch (mean teacher)."""
        self.pseudo, self.unlabelled = pseudo, unlabelled

    def prepare_data(self) -> None:
        """Generate the synthetic tiles ({n_train, n_test, seed}) when the config names a set not there yet."""
        if self.synthetic:
            s = self.synthetic
            synthetic_tiles.ensure(self.root, n_train=s["n_train"], n_test=s["n_test"], seed=s["seed"])

    def setup(self, stage: str | None = None) -> None:
        if self.preprocess is not None:
            return
        self.prepare_data()
        self.ids, self.images, self.masks, self.depths, all_depths = load_labelled(
            self.root, self.max_tiles, self.exclude_ids
        )

        if self.split_file:
            assignment = load_folds(self.split_file, self.ids, self.n_folds)
        else:
            assignment = stratified_folds(self.ids, coverage_class(self.masks), self.n_folds, self.seed)
        if self.run is not None:
            save_folds(assignment, self.run.folds)
        folds = np.array([assignment[i] for i in self.ids])
        self.val_idx = np.flatnonzero(folds == self.fold)
        self.train_idx = np.flatnonzero(folds != self.fold)
        if self.reference is not None:  # the network's own preprocessing
            self.preprocess = self.reference
        else:
            self.preprocess = Preprocess.fit(self.images, all_depths.values(), self.channels, self.input_size)

    def subset(self, indices, augment=None) -> TileDataset:
        return TileDataset(
            self.images[indices], self.depths[indices], self.preprocess, masks=self.masks[indices], augment=augment
        )

    def _loader(self, dataset, shuffle) -> DataLoader:
        # training drops the last partial batch, unless the tiles make less than one batch (a few labelled lines)
        drop_last = shuffle and len(dataset) >= self.batch_size
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=seed_worker,
        )

    def labelled_train_loader(self) -> DataLoader:
        return self._loader(self.subset(self.train_idx, self.augment), shuffle=True)

    def train_dataloader(self) -> DataLoader | dict[str, DataLoader]:
        if self.augment is not None:  # each DDP rank its own augmentation stream, the same in every run
            self.augment.set_random_seed(self.seed + (self.trainer.global_rank if self.trainer else 0))
        if self.pseudo is None:
            loader = self.labelled_train_loader()
        else:
            loader = self._mixed_loader(self.subset(self.train_idx, self.augment))
        if self.unlabelled is None:
            return loader
        unlabelled = TileDataset(self.unlabelled.images, self.unlabelled.depths, self.preprocess, augment=self.augment)
        # as many unlabelled batches as labelled ones: an epoch stays one pass over the labelled tiles, so
        # loss.switch_epoch, patience and max_epochs mean the same with or without the mean teacher
        batch_size = self.unlabelled.batch_size
        sampler = RandomSampler(unlabelled, num_samples=len(loader) * batch_size)
        return {
            "labelled": loader,
            "unlabelled": DataLoader(
                unlabelled,
                batch_size=batch_size,
                sampler=sampler,
                drop_last=True,
                num_workers=self.num_workers,
                worker_init_fn=seed_worker,
            ),
        }

    def _mixed_loader(self, labelled) -> DataLoader:
        """Labelled and pseudo-labelled tiles, sampled so that pseudo ones make `pseudo.ratio` of each epoch."""
        ratio = self.pseudo.ratio
        pseudo = TileDataset(
            self.pseudo.images, self.pseudo.depths, self.preprocess, masks=self.pseudo.masks, augment=self.augment
        )
        n_lab, n_pseudo = len(labelled), len(pseudo)
        weights = torch.cat(
            [torch.full((n_lab,), (1 - ratio) / n_lab), torch.full((n_pseudo,), ratio / max(n_pseudo, 1))]
        )
        sampler = WeightedRandomSampler(weights, num_samples=int(round(n_lab / (1 - ratio))))
        return DataLoader(
            ConcatDataset([labelled, pseudo]),
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.num_workers,
            worker_init_fn=seed_worker,
        )

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.subset(self.val_idx), shuffle=False)
