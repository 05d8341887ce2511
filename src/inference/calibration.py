"""Temperature scaling fitted on out-of-fold probabilities (tune.py), kept only where it helps, and read back
by predict.py.

Each run (fold) gets a temperature of its own, fitted on its own out-of-fold probabilities: those are that run's
network's predictions on tiles it never saw, so the temperature fits exactly what it is later applied to. predict.py
calibrates each member of an ensemble by its run's temperature before averaging the members; one temperature fitted
on the pooled folds and applied to the average of K networks (less extreme than any one of them) would not fit."""

import logging

import numpy as np

from src.ensemble.members import EnsemblePlan
from src.inference.tuning import runs_with_oof
from src.metrics.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability
from src.utils.config import is_positive_number
from src.utils.errors import UserError
from src.utils.plots import save_reliability_plot
from src.utils.run_folder import tuned_postproc

log = logging.getLogger(__name__)
FIT_PIXELS = 2_000_000  # the temperature is fitted on at most this many pixels (a fixed random draw)


def kept_temperature(p, t) -> tuple[float, float]:
    """(the temperature kept for probabilities `p` against truth `t`, the one fitted): the fitted one when it
    lowers the ECE on these pixels, else 1.0."""
    rng = np.random.default_rng(0)
    sample = rng.choice(len(p), FIT_PIXELS, replace=False) if len(p) > FIT_PIXELS else slice(None)
    fitted = fit_temperature(p[sample], t[sample])
    better = expected_calibration_error(apply_temperature(p, fitted), t) < expected_calibration_error(p, t)
    return (fitted if better else 1.0), fitted


def oof_pixels(run) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, truth) of a run's out-of-fold pixels, only the interpreted ones for a survey run."""
    with np.load(run.oof) as oof:
        valid = oof["valid"] if "valid" in oof else None
        probs, truth = oof["probs"].astype(np.float32), oof["truth"].astype(bool)
    return (probs[valid], truth[valid]) if valid is not None else (probs.ravel(), truth.ravel())


def calibrate(folder, picture) -> dict:
    """Fit a temperature for each run under `folder` (a run or multirun dir) on that run's own out-of-fold
    pixels, kept (else 1.0) only when it lowers that run's ECE, and draw the reliability diagram of all of them
    before and after to `picture`. Returns {temperatures: {run name: T}, oof_ece, oof_ece_calibrated} (the ECEs
    over every run's pixels), with `temperature` too when `folder` is one run."""
    temperatures, before, after = {}, [], []
    for run in runs_with_oof(folder):
        p, t = oof_pixels(run)
        temperatures[run.path.name], fitted = kept_temperature(p, t)
        log.info(
            "calibration of %s: temperature %.2f %s",
            run.path.name,
            fitted,
            "kept" if temperatures[run.path.name] != 1.0 else "not kept (no better)",
        )
        before.append((p, t))
        after.append(apply_temperature(p, temperatures[run.path.name]))
    p, t = (np.concatenate(parts) for parts in zip(*before))
    calibrated = np.concatenate(after)
    ece_before, ece_after = expected_calibration_error(p, t), expected_calibration_error(calibrated, t)
    save_reliability_plot(
        picture,
        {
            f"as trained (ECE {ece_before:.3f})": reliability(p, t),
            f"each run at its temperature (ECE {ece_after:.3f})": reliability(calibrated, t),
        },
        f"out-of-fold probabilities, {len(p):,} pixels",
    )
    log.info("calibration: ECE %.4f as trained, %.4f with each run's temperature", ece_before, ece_after)
    result = {"temperatures": temperatures, "oof_ece": ece_before, "oof_ece_calibrated": ece_after}
    return result | ({"temperature": next(iter(temperatures.values()))} if len(temperatures) == 1 else {})


def run_temperature(run, tuned, tuned_file) -> tuple[float, str]:
    """(temperature, the file it came from) of one run (fold): its entry in the `temperatures` tune.py saved for
    the ckpt as a whole, else that file's single `temperature` (one run tuned alone), else the one tuned for the
    run itself, else 1 (none)."""
    for values, source in ((tuned, tuned_file), tuned_postproc(run.path)):
        if not values:
            continue
        value = (values.get("temperatures") or {}).get(run.path.name, values.get("temperature"))
        if value is None:
            continue
        if not is_positive_number(value):
            raise UserError(
                f"{source} holds temperature={value!r}, not a number above 0: run tune.py on the run again, or "
                "pass predict.temperature=1"
            )
        return float(value), str(source)
    return 1.0, "none tuned (tune.py fits one)"


def member_temperatures(plan: EnsemblePlan) -> list[dict]:
    """[{run, temperature, from}] for each member of the plan's ensemble, in its order (the order of the
    backends' and the exported graph's members): each its run's temperature."""
    tuned, tuned_file = tuned_postproc(plan.ckpt)
    chosen = []
    for planned in plan.runs:
        temperature, source = run_temperature(planned.run, tuned, tuned_file)
        chosen += [{"run": planned.run.path.name, "temperature": temperature, "from": source}] * len(planned.networks)
    return chosen
