"""Labelled tiles served to Lightning (folds, augmentation, channels, padding): the neutral tile DataModule and the
Kaggle-layout tiles it serves by default."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import albumentations as A
import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

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
class TileSet:
    """Labelled tiles split for one fold: grey uint8 images (N, 101, 101), masks (bool, or uint8 with the
    DataModule's ignore_value for unlabelled pixels), depths, the indices that train and those that validate, and
    the preprocessing the network is to use."""

    ids: list[str]
    images: np.ndarray
    masks: np.ndarray
    depths: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    preprocess: Preprocess


class TileDataModule(pl.LightningDataModule):
    """One fold's tiles served to Lightning: the training ones augmented and shuffled, the validation ones as they
    are. Where the tiles come from is `load_tiles()`, a subclass's one job (Kaggle tiles: TGSDataModule; windows of
    a survey's labelled lines: src/survey/datamodule.py; yours: docs/how-to/extend.md).

    fold, n_folds, seed, split_file: the split the tiles are loaded for; run: the RunFolder the split is saved in;
    reference: the Preprocess of the network a run starts from (fine-tuning), to keep instead of fitting one."""

    ignore_value = None  # the mask value of unlabelled pixels (none in Kaggle tiles; survey labels have them)

    def __init__(
        self,
        *,
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
        reference: Preprocess | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= fold < n_folds:
            raise UserError(f"fold={fold} is out of range: use 0..{n_folds - 1} (data.n_folds={n_folds})")
        self.fold, self.n_folds, self.seed = fold, n_folds, seed
        self.channels, self.input_size = list(channels), input_size
        self.batch_size, self.num_workers, self.augment = batch_size, num_workers, augment
        self.split_file, self.run, self.reference = split_file, run, reference
        self.preprocess: Preprocess | None = None

    def load_tiles(self) -> TileSet:
        raise NotImplementedError(f"{type(self).__name__} must say where its tiles come from: load_tiles()")

    def setup(self, stage: str | None = None) -> None:
        if self.preprocess is not None:
            return
        self.prepare_data()
        tiles = self.load_tiles()
        self.ids, self.images, self.masks, self.depths = tiles.ids, tiles.images, tiles.masks, tiles.depths
        self.train_idx, self.val_idx, self.preprocess = tiles.train_idx, tiles.val_idx, tiles.preprocess

    def subset(self, indices, augment=None) -> TileDataset:
        return TileDataset(
            self.images[indices], self.depths[indices], self.preprocess, masks=self.masks[indices], augment=augment
        )

    def loader(self, dataset, shuffle=False, sampler=None, batch_size=None) -> DataLoader:
        """A DataLoader of this module's workers and batch size; training (`shuffle` or a `sampler`) drops the last
        partial batch, unless the tiles make less than one batch (a few labelled lines)."""
        batch_size = batch_size or self.batch_size
        training = shuffle or sampler is not None
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=sampler,
            drop_last=training and (sampler is not None or len(dataset) >= batch_size),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0 and sampler is None,
            worker_init_fn=seed_worker,
        )

    def seed_augment(self, rank: int) -> None:
        """Each DDP rank its own augmentation stream, the same in every run."""
        if self.augment is not None:
            self.augment.set_random_seed(self.seed + rank)

    def labelled_train_loader(self, most: int | None = None) -> DataLoader:
        """The training tiles, augmented and shuffled: all of them, or a seeded sample of at most `most` (what a
        weight average's BatchNorm recompute needs: ensemble.bn_tiles)."""
        indices = self.train_idx
        if most is not None and most < len(indices):
            indices = np.sort(np.random.default_rng(self.seed).choice(indices, most, replace=False))
        return self.loader(self.subset(indices, self.augment), shuffle=True)

    def train_dataloader(self) -> DataLoader:
        self.seed_augment(self.trainer.global_rank if self.trainer else 0)
        return self.labelled_train_loader()

    def val_dataloader(self) -> DataLoader:
        return self.loader(self.subset(self.val_idx))


class TGSDataModule(TileDataModule):
    """The labelled tiles of a Kaggle-layout `root`, split into folds (stratified by salt coverage, or read from
    `split_file`); trains on every fold but `fold` and validates on it.

    root: the data folder (generated first when `synthetic` = {n_train, n_test, seed} is given); exclude_ids:
    tiles left out of every fold (e.g. masks not trusted); max_tiles: only the first N labelled tiles; the rest:
    TileDataModule's."""

    def __init__(
        self,
        *,
        root: str | Path,
        synthetic: dict | None = None,
        max_tiles: int | None = None,
        exclude_ids: Sequence[str] = (),
        **settings,
    ) -> None:
        super().__init__(**settings)
        self.root, self.synthetic = Path(root).expanduser().resolve(), synthetic
        self.max_tiles, self.exclude_ids = max_tiles, list(exclude_ids)

    def prepare_data(self) -> None:
        """Generate the synthetic tiles ({n_train, n_test, seed}) when the config names a set not there yet."""
        if self.synthetic:
            s = self.synthetic
            synthetic_tiles.ensure(self.root, n_train=s["n_train"], n_test=s["n_test"], seed=s["seed"])

    def load_tiles(self) -> TileSet:
        ids, images, masks, depths, all_depths = load_labelled(self.root, self.max_tiles, self.exclude_ids)
        if self.split_file:
            assignment = load_folds(self.split_file, ids, self.n_folds)
        else:
            assignment = stratified_folds(ids, coverage_class(masks), self.n_folds, self.seed)
        if self.run is not None:
            save_folds(assignment, self.run.folds)
        folds = np.array([assignment[i] for i in ids])
        preprocess = (
            self.reference  # the network's own preprocessing
            if self.reference is not None
            else Preprocess.fit(images, all_depths.values(), self.channels, self.input_size)
        )
        return TileSet(
            ids,
            images,
            masks,
            depths,
            np.flatnonzero(folds != self.fold),
            np.flatnonzero(folds == self.fold),
            preprocess,
        )
