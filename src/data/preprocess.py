"""The preprocessing fixed at training time and stored with every checkpoint, so inference repeats it exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from src.data.tiles import build_channels, reflect_pad, relative_depth


@dataclass(frozen=True)
class Preprocess:
    """A grey tile and its depth -> the network's input: the channels (image, depth, coord), the image's mean and
    std, the depth range, the padded size and, for a survey, the amplitude-to-grey rule. Fitted on the training
    tiles (fit), stored in every checkpoint (to_dict / from_dict) and applied by calling it on one tile."""

    channels: tuple
    mean: float
    std: float
    zmin: float
    zmax: float
    input_size: int
    amplitude: tuple | None = None  # (offset, gain) of a survey's amplitude-to-grey rule (src/sections/scaling.py)
    depth_rule: tuple | None = None  # (depth of the first sample, depth per sample) a survey network was trained on

    @classmethod
    def fit(cls, images_u8, all_depths, channels, input_size, amplitude=None, depth_rule=None) -> Preprocess:
        """Constants from the labelled tiles (image mean/std) and all depths (depth range); `amplitude`: the rule
        that made a survey's grey tiles, and `depth_rule` its samples' depths, both kept for prediction."""
        images = np.asarray(images_u8, dtype=np.float32) / 255.0
        z = np.asarray(list(all_depths), dtype=np.float64)
        return cls(
            tuple(channels),
            float(images.mean()),
            float(images.std() + 1e-6),
            float(z.min()),
            float(z.max()),
            int(input_size),
            tuple(amplitude) if amplitude else None,
            tuple(depth_rule) if depth_rule else None,
        )

    @classmethod
    def from_dict(cls, d) -> Preprocess:
        amplitude, depth_rule = d.get("amplitude"), d.get("depth_rule")
        return cls(
            **{
                **d,
                "channels": tuple(d["channels"]),
                "amplitude": tuple(amplitude) if amplitude else None,
                "depth_rule": tuple(depth_rule) if depth_rule else None,
            }
        )

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "channels": list(self.channels),
            "amplitude": list(self.amplitude) if self.amplitude else None,
            "depth_rule": list(self.depth_rule) if self.depth_rule else None,
        }

    @property
    def in_channels(self) -> int:
        return len(self.channels)

    def __call__(self, image_u8, z) -> np.ndarray:
        """One grey (101, 101) uint8 tile and its depth -> (C, input_size, input_size) float32."""
        depth = float(relative_depth(z, self.zmin, self.zmax))
        planes = build_channels(image_u8, depth, self.channels, self.mean, self.std)
        return reflect_pad(planes, self.input_size)
