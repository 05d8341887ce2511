"""Pictures of a predicted section for a person to look at: the section with salt tinted, written as PNG."""

from pathlib import Path

import cv2
import numpy as np

from src.utils.atomic import atomic_path
from src.utils.errors import UserError


def save_png(image_u8, out) -> None:
    with atomic_path(out) as tmp:
        if not cv2.imwrite(str(tmp) + ".png", image_u8):
            raise UserError(f"could not write {out}")
        Path(str(tmp) + ".png").replace(tmp)


def overlay(grey_u8, mask, alpha=0.4) -> np.ndarray:
    """The section in grey with salt tinted red, for a person to look at."""
    rgb = np.repeat(grey_u8[..., None], 3, axis=2).astype(np.float32)
    red = np.array([40, 40, 230], np.float32)  # BGR for OpenCV
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * red
    return rgb.astype(np.uint8)
