"""The preprocessing fixed at training time and stored with every checkpoint, so inference repeats it exactly."""
from dataclasses import asdict, dataclass

import numpy as np

from src.data.tiles import build_channels, reflect_pad, relative_depth


@dataclass(frozen=True)
class Preprocess:
    channels: tuple
    mean: float
    std: float
    zmin: float
    zmax: float
    input_size: int

    @classmethod
    def fit(cls, images_u8, all_depths, channels, input_size):
        """Constants from the labelled tiles (image mean/std) and depths.csv (depth range)."""
        images = np.asarray(images_u8, dtype=np.float32) / 255.0
        z = np.asarray(list(all_depths), dtype=np.float64)
        return cls(tuple(channels), float(images.mean()), float(images.std() + 1e-6),
                   float(z.min()), float(z.max()), int(input_size))

    @classmethod
    def from_dict(cls, d):
        return cls(**{**d, "channels": tuple(d["channels"])})

    def to_dict(self):
        return {**asdict(self), "channels": list(self.channels)}

    @property
    def in_channels(self):
        return len(self.channels)

    def __call__(self, image_u8, z):
        """One grey (101, 101) uint8 tile and its depth -> (C, input_size, input_size) float32."""
        depth = float(relative_depth(z, self.zmin, self.zmax))
        planes = build_channels(image_u8, depth, self.channels, self.mean, self.std)
        return reflect_pad(planes, self.input_size)
