"""albumentations pipelines built from config, applied to the grey tile and its mask together.

Geometric transforms use reflect borders; vertical flips are never used (salt under sediment is physics,
upside-down seismic is not). The depth channel is built after augmentation, so photometric transforms
never touch it.
"""
import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402


def build_augment(cfg):
    """cfg: the `aug` config group (None or empty transforms -> no augmentation)."""
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
    return A.Compose(transforms)
