"""Reading the Kaggle layout robustly: grey tiles from RGB PNGs, 8- or 16-bit masks, depths."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from src.data.tiles import TILE
from src.utils.errors import UserError


def require(path, what, hint) -> Path:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{what} {path} not found: {hint}")
    return path


def _read_png(path) -> np.ndarray:
    if not Path(path).exists():
        raise UserError(f"tile {path} not found: restore it, or remove its id from the CSV that lists it")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"cannot read {path}: not a valid image (corrupt or truncated PNG); re-download or remove it")
    if image.shape[:2] != (TILE, TILE):
        raise UserError(
            f"{path} is {image.shape[0]}x{image.shape[1]}, expected {TILE}x{TILE}: "
            "only TGS-sized tiles belong in this folder (use predict.py for whole sections)"
        )
    return image


def grey_levels(image) -> np.ndarray:
    """A decoded image as uint8 grey levels: RGB copies of one grey channel keep that channel, 16-bit is scaled
    down to 8 (the one rule for tiles and whole sections)."""
    if image.ndim == 3:
        image = image[..., 0]
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return image.astype(np.uint8)


def read_grey(path) -> np.ndarray:
    """A tile as (101, 101) uint8 grey levels."""
    return grey_levels(_read_png(path))


def read_mask(path) -> np.ndarray:
    """A mask as (101, 101) bool: salt where any channel is > 0, whatever the bit depth."""
    mask = _read_png(path)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    return mask > 0


def read_depths(root) -> dict[str, float]:
    path = require(Path(root) / "depths.csv", "depth file", "it comes with the Kaggle data (see README)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"id", "z"} <= set(frame.columns):
        raise UserError(f"{path} must have columns id,z; found {list(frame.columns)}")
    z = pd.to_numeric(frame["z"], errors="coerce")
    bad = frame["id"][~np.isfinite(z)]
    if len(bad):
        raise UserError(
            f"{path} has no usable depth for tile {bad.iloc[0]} (z is {frame['z'][bad.index[0]]!r}; "
            f"{len(bad)} such rows): put its depth in the z column or remove the row"
        )
    return dict(zip(frame["id"], z.astype(float)))


def depths_for(ids, depths, root) -> np.ndarray:
    missing = [i for i in ids if i not in depths]
    if missing:
        raise UserError(
            f"{Path(root) / 'depths.csv'} has no depth for tile {missing[0]} "
            f"({len(missing)} missing): add it or remove the tile"
        )
    return np.array([depths[i] for i in ids], dtype=np.float32)


def list_images(folder) -> list[str]:
    folder = require(folder, "image folder", "point data.root at a Kaggle-layout folder (see README)")
    ids = sorted(p.stem for p in folder.glob("*.png"))
    if not ids:
        raise UserError(f"no PNG tiles in {folder}: point data.root at a Kaggle-layout folder (see README)")
    return ids


def read_images(folder, ids) -> np.ndarray:
    return np.stack([read_grey(Path(folder) / f"{i}.png") for i in ids])


def read_train_ids(root) -> list[str]:
    path = require(Path(root) / "train.csv", "label file", "it comes with the Kaggle data (see README)")
    frame = pd.read_csv(path, dtype={"id": str})
    if "id" not in frame.columns:
        raise UserError(f"{path} must have an id column; found {list(frame.columns)}")
    return frame["id"].tolist()


def read_masks(folder, ids) -> np.ndarray:
    folder = require(folder, "mask folder", "train/masks comes with the Kaggle data (see README)")
    masks = []
    for i in ids:
        path = Path(folder) / f"{i}.png"
        if not path.exists():
            raise UserError(f"mask {path} not found for id {i} listed in train.csv: restore it or drop the id")
        masks.append(read_mask(path))
    return np.stack(masks)
