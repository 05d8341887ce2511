"""Temperature scaling fitted on out-of-fold probabilities (tune.py), kept only where it helps, and read back
by predict.py."""

import logging

import numpy as np

from src.metrics.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability
from src.utils.plots import save_reliability_plot

log = logging.getLogger(__name__)
FIT_PIXELS = 2_000_000  # the temperature is fitted on at most this many pixels (a fixed random draw)


def calibrate(probs, truth, valid, picture) -> dict:
    """Fit a temperature on out-of-fold probabilities (N, H, W) against truth, on the `valid` pixels (None: all),
    and draw the reliability diagram before and after to `picture`. The temperature is kept (else 1.0) only
    when it lowers the ECE on these pixels. Returns {temperature, oof_ece, oof_ece_calibrated}."""
    p = probs[valid] if valid is not None else probs.ravel()
    t = truth[valid] if valid is not None else truth.ravel()
    rng = np.random.default_rng(0)
    sample = rng.choice(len(p), FIT_PIXELS, replace=False) if len(p) > FIT_PIXELS else slice(None)
    fitted = fit_temperature(p[sample], t[sample])
    calibrated = apply_temperature(p, fitted)
    before, after = expected_calibration_error(p, t), expected_calibration_error(calibrated, t)
    temperature = fitted if after < before else 1.0
    save_reliability_plot(
        picture,
        {
            f"as trained (ECE {before:.3f})": reliability(p, t),
            f"T = {fitted:.2f} (ECE {after:.3f})": reliability(calibrated, t),
        },
        f"out-of-fold probabilities, {len(p):,} pixels",
    )
    log.info(
        "calibration: ECE %.4f as trained, %.4f at temperature %.2f: %s",
        before,
        after,
        fitted,
        "kept" if temperature != 1.0 else "not kept (no better)",
    )
    return {"temperature": float(temperature), "oof_ece": before, "oof_ece_calibrated": min(before, after)}
