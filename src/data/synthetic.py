"""A small, seeded, Kaggle-layout data set of seismic-like tiles for demos and tests (no download needed).

Tiles show dipping, folded reflectors with noise; salt bodies are smooth blobs of weak, chaotic amplitude
with a bright top reflector, of varied size, and about a third of the tiles hold no salt.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from src.data.rle import rle_encode
from src.data.tiles import TILE
from src.utils.atomic import atomic_folder
from src.utils.errors import UserError

SPEC_FILE = "synthetic.json"  # the settings the set was generated with


def _reflectors(rng, depth_frac) -> np.ndarray:
    rows, cols = np.mgrid[0:TILE, 0:TILE].astype(np.float32)
    dip = rng.uniform(-0.4, 0.4)
    fold = rng.uniform(0, 6) * np.sin(cols / rng.uniform(15, 60) + rng.uniform(0, 6.3))
    period = rng.uniform(5, 12) * (1 + 0.5 * depth_frac)
    phase = (rows + dip * cols + fold) / period * 2 * np.pi
    amplitude = np.sin(phase) * (0.6 + 0.4 * np.sin(phase / 7.3))
    return amplitude + rng.normal(0, 0.25, (TILE, TILE))


def _salt_body(rng) -> np.ndarray:
    """A smooth closed blob (star-shaped with a random radius profile), or a body cut by a tile edge."""
    center = rng.uniform(-20, TILE + 20, size=2)
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radius = rng.uniform(8, 60)
    wobble = sum(rng.uniform(0, 0.2) * np.sin(k * angles + rng.uniform(0, 6.3)) for k in range(1, 5))
    points = np.stack(
        [center[0] + radius * (1 + wobble) * np.cos(angles), center[1] + radius * (1 + wobble) * np.sin(angles)], axis=1
    )
    mask = np.zeros((TILE, TILE), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def make_tile(rng, depth_frac, with_salt) -> tuple[np.ndarray, np.ndarray]:
    """One (image uint8, mask bool) pair."""
    image = _reflectors(rng, depth_frac)
    mask = _salt_body(rng) if with_salt else np.zeros((TILE, TILE), bool)
    if mask.any():
        image[mask] = rng.normal(0, 0.3, mask.sum())
        edge = mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        image[edge] += 1.5
    image = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0)
    image_u8 = np.clip(128 + 45 * image, 0, 255).astype(np.uint8)
    return image_u8, mask


def generate(root, n_train=240, n_test=80, seed=0) -> Path:
    """Write the data set into `root` (atomically: built in a temp folder, then renamed)."""
    rng = np.random.default_rng(seed)
    with atomic_folder(root) as work:
        for sub in ("train/images", "train/masks", "test/images"):
            (work / sub).mkdir(parents=True)
        ids = [f"{k:010x}" for k in rng.choice(16**10, size=n_train + n_test, replace=False)]
        depths, labels = {}, {}
        for k, tile_id in enumerate(ids):
            z = float(rng.integers(51, 960))
            depths[tile_id] = z
            depth_frac = (z - 51) / (959 - 51)
            image, mask = make_tile(rng, depth_frac, with_salt=rng.uniform() < 0.45 + 0.3 * depth_frac)
            grey3 = np.repeat(image[..., None], 3, axis=2)  # Kaggle stores grey tiles as RGB
            split = "train" if k < n_train else "test"
            cv2.imwrite(str(work / split / "images" / f"{tile_id}.png"), grey3)
            if split == "train":
                bit16 = k % 2 == 0  # both mask encodings seen in the wild
                cv2.imwrite(
                    str(work / "train/masks" / f"{tile_id}.png"),
                    mask.astype(np.uint16) * 65535 if bit16 else mask.astype(np.uint8) * 255,
                )
                labels[tile_id] = rle_encode(mask)
        pd.DataFrame({"id": list(labels), "rle_mask": list(labels.values())}).to_csv(work / "train.csv", index=False)
        pd.DataFrame({"id": list(depths), "z": list(depths.values())}).to_csv(work / "depths.csv", index=False)
        test_ids = ids[n_train:]
        pd.DataFrame({"id": test_ids, "rle_mask": ["1 1"] * len(test_ids)}).to_csv(
            work / "sample_submission.csv", index=False
        )
        (work / SPEC_FILE).write_text(json.dumps({"n_train": n_train, "n_test": n_test, "seed": seed}))
    return Path(root)


def ensure(root, n_train, n_test, seed) -> Path:
    """Generate the data set into `root` unless it is already there; a set generated with other settings is
    never used in their place."""
    root = Path(root)
    spec = {"n_train": int(n_train), "n_test": int(n_test), "seed": int(seed)}
    if not (root / "depths.csv").exists():
        generate(root, **spec)
    found = json.loads((root / SPEC_FILE).read_text()) if (root / SPEC_FILE).exists() else None
    if found != spec:
        raise UserError(
            f"{root} holds data generated with {found or 'unknown settings'}, not {spec}: point "
            "data.root at another folder, or delete this one to generate it again"
        )
    return root
