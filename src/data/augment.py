"""albumentations pipelines built from config, applied to the grey tile and its mask together.

Geometric transforms use reflect borders; vertical flips are never used (salt under sediment is physics,
upside-down seismic is not). The depth channel is built after augmentation, so photometric transforms
never touch it.
"""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import torch  # noqa: E402
from lightning_fabric.utilities.seed import pl_worker_init_function  # noqa: E402
from torch.utils.data import get_worker_info  # noqa: E402


def build_augment(cfg, seed=None):
    """cfg: the `aug` config group (None or empty transforms -> no augmentation). albumentations draws from its
    own generator, which seeding numpy or torch does not reach: `seed` fixes it (see seed_worker for loaders)."""
    if cfg is None or not cfg.get("transforms"):
        return None
    transforms = []
    for name, params in cfg.transforms.items():
        params = dict(params)
        if name == "hflip":
            transforms.append(A.HorizontalFlip(**params))
        elif name == "brightness_contrast":
            transforms.append(A.RandomBrightnessContrast(**params))
        elif name == "blur":
            transforms.append(A.GaussianBlur(**params))
        elif name == "affine":
            transforms.append(A.Affine(border_mode=cv2.BORDER_REFLECT_101, **params))
        else:
            raise ValueError(f"unknown augmentation {name!r}: use hflip, brightness_contrast, blur or affine")
    return A.Compose(transforms, seed=seed)


def seed_worker(worker_id):
    """DataLoader worker_init_fn: Lightning's per-worker, per-rank seeding of numpy, random and torch, then the
    augmentation generator from the worker's torch seed. Without it every worker would repeat the same
    augmentations (each gets a copy of one generator), and with it a run stays repeatable."""
    pl_worker_init_function(worker_id)
    dataset = get_worker_info().dataset
    for part in getattr(dataset, "datasets", [dataset]):
        if part.augment is not None:
            part.augment.set_random_seed(torch.initial_seed() % 2**32)
