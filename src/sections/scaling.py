"""Seismic amplitudes -> the grey range the model was trained on.

Rule: clip at the `low`/`high` percentiles of the whole section or volume (never per window), then map the
clipped range linearly onto 0..255, so zero amplitude lands near mid-grey as in the TGS tiles. Images that are
already 8-bit grey pass through unchanged.
"""
import numpy as np


def amplitude_to_grey(data, low=1.0, high=99.0):
    """(grey uint8 array, metadata dict describing the mapping)."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data, {"rule": "uint8 passthrough"}
    finite = data[np.isfinite(data)]
    lo, hi = (np.percentile(finite, [low, high]) if finite.size else (0.0, 1.0))
    bound = max(abs(lo), abs(hi)) or 1.0  # symmetric about zero amplitude
    grey = np.clip((np.nan_to_num(data.astype(np.float64)) + bound) / (2 * bound), 0, 1) * 255
    meta = {"rule": f"clip at +-max(|p{low}|, |p{high}|) = +-{bound:.6g}, then linear to 0..255",
            "clip": float(bound), "percentiles": [float(low), float(high)]}
    return np.round(grey).astype(np.uint8), meta
