"""Seismic amplitudes -> the grey levels a network was trained on: grey = clip(offset + gain x amplitude, 0, 255).

One rule from training to prediction: a network trained on a survey stores its (offset, gain) in its checkpoint
and ONNX metadata (Preprocess.amplitude), and predict.py applies it by default. The rules:
- percentile: clip at +-max(|p_low|, |p_high|) of the amplitudes (whole section, or a sample of the volume's
  traces; never per window) and map that range onto 0..255, zero amplitude at mid-grey as in the TGS tiles;
- matched: map the amplitudes' robust centre and spread (median, half the p16..p84 range) onto a trained
  network's grey mean and spread, so a TGS network sees a survey at the grey levels it learned on.
Images that are already 8-bit grey pass through unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from src.utils.config import is_number
from src.utils.errors import UserError


@dataclass(frozen=True)
class AmplitudeScaling:
    offset: float
    gain: float
    rule: str

    @classmethod
    def percentile(cls, amplitudes, low=1.0, high=99.0, source="the input") -> AmplitudeScaling:
        finite = interpretable(amplitudes, source)
        lo, hi = np.percentile(finite, [low, high])
        bound = float(max(abs(lo), abs(hi))) or 1.0
        return cls(
            127.5, 127.5 / bound, f"clip at +-max(|p{low:g}|, |p{high:g}|) = +-{bound:.6g}, then linear to 0..255"
        )

    @classmethod
    def matched(cls, amplitudes, grey_mean, grey_std, source="the input") -> AmplitudeScaling:
        """grey_mean, grey_std in [0, 1] units (Preprocess.mean, .std of the network's training tiles)."""
        finite = interpretable(amplitudes, source)
        p16, p50, p84 = np.percentile(finite, [16, 50, 84])
        spread = float(p84 - p16) / 2 or 1.0
        gain = 255.0 * grey_std / spread
        return cls(
            float(255.0 * grey_mean - gain * p50),
            gain,
            f"median {p50:.6g} and half the p16..p84 range {spread:.6g} onto the network's grey mean "
            f"{grey_mean:.4f} and spread {grey_std:.4f}",
        )

    @classmethod
    def from_pair(cls, pair, rule="stored with the network") -> AmplitudeScaling:
        return cls(float(pair[0]), float(pair[1]), rule)

    @property
    def pair(self) -> tuple[float, float]:
        return (self.offset, self.gain)

    def apply(self, amplitudes) -> np.ndarray:
        """uint8 grey levels of an amplitude array (NaN as zero amplitude)."""
        grey = self.offset + self.gain * np.nan_to_num(np.asarray(amplitudes, dtype=np.float64))
        return np.round(np.clip(grey, 0, 255)).astype(np.uint8)

    def to_dict(self) -> dict:
        return asdict(self)


def trace_picks(shape, n=2000, seed=0) -> np.ndarray:
    """The flat (inline-major) indices of up to `n` traces of a (inline, crossline, samples) volume, drawn evenly
    at random and sorted: the traces whose amplitudes the scaling's statistics come from, the same for a volume
    however it is stored."""
    count = shape[0] * shape[1]
    return np.sort(np.random.default_rng(seed).choice(count, size=min(n, count), replace=False))


def finite_values(amplitudes) -> np.ndarray:
    values = np.asarray(amplitudes).ravel()
    return values[np.isfinite(values)]


def interpretable(amplitudes, source) -> np.ndarray:
    """The finite amplitudes, refused when there are none or they are all one value (no reflections: a blank or
    dead export, which a scaling rule would turn into confident nonsense)."""
    finite = finite_values(amplitudes)
    if not finite.size:
        raise UserError(f"{source} holds no finite amplitudes (all NaN or infinite): check the export")
    if finite.min() == finite.max():
        raise UserError(
            f"{source} is constant ({finite[0]:g} everywhere): no reflections to interpret; check the export"
        )
    return finite


def check_clip_percentiles(clip, option) -> None:
    """`option`=[low, high], the percentiles AmplitudeScaling.percentile clips at, checked before any work: one
    line naming the option otherwise (`clip` a tuple of numbers, as the settings classes hold it)."""
    pair = isinstance(clip, tuple) and len(clip) == 2 and all(is_number(v) for v in clip)
    if not (pair and 0 <= clip[0] < clip[1] <= 100):
        shown = list(clip) if isinstance(clip, tuple) else clip
        raise UserError(f"{option}={shown}: use [low, high] with 0 <= low < high <= 100, e.g. [1.0, 99.0]")
