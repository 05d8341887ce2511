"""Kaggle-layout tiles: reading them, folds, preprocessing, augmentation and the DataModule, built from the
`data` config (build)."""

from src.data.build import build_datamodule
from src.data.datamodule import TGSDataModule, TileDataset
from src.data.preprocess import Preprocess

__all__ = ["Preprocess", "TGSDataModule", "TileDataset", "build_datamodule"]
