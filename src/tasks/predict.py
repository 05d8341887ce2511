"""The predict task: salt probabilities for whole sections and volumes, written back in the input's form.

Volumes are read, predicted and written a line at a time (probabilities go to disk as they come), so memory
stays far below the size of the volume. Amplitudes become grey levels by the rule the network was trained with
when it stores one (a survey run), else by the input's own percentiles.
"""

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig
from tqdm import tqdm

from src.data.tiles import TILE
from src.inference.backends import build_backend, needs_depth
from src.sections.line_cube import LineCube
from src.sections.pictures import overlay, save_png
from src.sections.readers import AXES, Section, open_seismic
from src.sections.scaling import AmplitudeScaling
from src.sections.tiling import TAPERS, section_probs
from src.sections.writers import save_npy, write_segy_like
from src.utils.atomic import atomic_path, check_writable_file, remove_stale_temporaries, write_text
from src.utils.entry import FULL
from src.utils.errors import UserError

log = logging.getLogger(__name__)
OUTPUTS = {
    "probs": "probs.npy",
    "mask": "mask.npy",
    "probs_png": "probs.png",
    "overlay": "overlay.png",
    "sgy": "sgy",
    "json": "json",
}  # <out>.<suffix>: what a prediction writes (the PNGs for 2D inputs)
SCALING_MISMATCH = 2.0  # warn when the input's own amplitude scale differs from the stored one by this factor


def depth_function(backend, settings) -> Callable[[int], float]:
    if not any(needs_depth(pre) for pre in backend.preprocesses):
        return lambda row: 0.0
    if settings.depth_origin is None or settings.depth_step is None:
        raise UserError(
            "this model uses the depth channel: pass predict.depth_origin (depth of the first row) "
            "and predict.depth_step (depth per row), in the units of the training depths.csv"
        )
    return lambda row: settings.depth_origin + row * settings.depth_step


def choose_scaling(backend, amplitudes, settings, source) -> AmplitudeScaling:
    """The amplitude-to-grey rule: the network's stored one (predict.scaling=auto|model), or the input's own
    percentiles (predict.scaling=input, or auto for a network trained on TGS tiles); a stored rule far from the
    input's own scale is warned about."""
    own = AmplitudeScaling.percentile(amplitudes, *settings.clip_percentiles, source=f"input {source}")
    stored = {pre.amplitude for pre in backend.preprocesses} - {None}
    if settings.scaling == "input" or (settings.scaling == "auto" and not stored):
        return own
    if not stored:
        raise UserError(
            "predict.scaling=model, but this network stores no amplitude scaling (trained on grey tiles): "
            "use predict.scaling=auto or input"
        )
    if len(stored) > 1:
        raise UserError("the networks behind ckpt store different amplitude scalings: predict with one run at a time")
    scaling = AmplitudeScaling.from_pair(stored.pop())
    ratio = scaling.gain / own.gain
    if not 1 / SCALING_MISMATCH <= ratio <= SCALING_MISMATCH:
        log.warning(
            "this input's amplitudes are %.1fx %s than those the network was trained on: check that it is "
            "the same survey and processing, or pass predict.scaling=input",
            max(ratio, 1 / ratio),
            "weaker" if ratio > 1 else "stronger",
        )
    return scaling


def check_settings(settings) -> None:
    """The predict.* numbers, checked before any work (a bad one used to crash midway or to predict wrongly)."""
    if settings.scaling not in ("auto", "model", "input"):
        raise UserError(f"predict.scaling={settings.scaling} is not one of auto, model, input")
    if not isinstance(settings.overlap, int) or not 0 <= settings.overlap < TILE:
        raise UserError(
            f"predict.overlap={settings.overlap}: use a whole number of pixels from 0 to {TILE - 1} "
            f"(windows are {TILE} wide; the default 50 shares half of one)"
        )
    if not isinstance(settings.batch_size, int) or settings.batch_size < 1:
        raise UserError(f"predict.batch_size={settings.batch_size}: use a whole number of windows, 1 or more")
    if settings.taper not in TAPERS:
        raise UserError(f"predict.taper={settings.taper} is not one of {', '.join(TAPERS)}")
    clip = list(settings.clip_percentiles) if isinstance(settings.clip_percentiles, Sequence | ListConfig) else None
    if (
        clip is None
        or len(clip) != 2
        or not all(isinstance(v, int | float) for v in clip)
        or not 0 <= clip[0] < clip[1] <= 100
    ):
        raise UserError(
            f"predict.clip_percentiles={settings.clip_percentiles}: use [low, high] with "
            "0 <= low < high <= 100, e.g. [1.0, 99.0]"
        )


def output_paths(out) -> dict[str, Path]:
    """<out>.<suffix> of every output, each checked writable before any work, with the temporary files of an
    earlier killed run of the same output removed."""
    out = Path(out)
    paths = {kind: out.with_name(f"{out.name}.{suffix}") for kind, suffix in OUTPUTS.items()}
    for path in paths.values():
        check_writable_file(path)
        remove_stale_temporaries(path)
    return paths


def predict(cfg: DictConfig) -> list[str]:
    """Salt probabilities for the section or volume `cfg.input` (PNG/TIFF, .npy, SEG-Y) with the networks
    `cfg.ckpt` stands for, written beside `cfg.out` in the input's form (probabilities, mask, pictures, SEG-Y
    with the source's headers) with a JSON of what was done. Returns the paths written."""
    settings = cfg.predict
    check_settings(settings)
    paths = output_paths(cfg.out)
    source = open_seismic(cfg.input, settings.iline_byte, settings.xline_byte)
    backend = build_backend(cfg.ckpt, cfg.snapshots, cfg.tta == "hflip", cfg.backend)
    depth_of_row = depth_function(backend, settings)

    def probs_of(grey_section) -> np.ndarray:
        return section_probs(grey_section, backend, depth_of_row, settings.overlap, settings.taper, settings.batch_size)

    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(source, Section):
            written, salt, scaling, dead = predict_section_file(source, probs_of, cfg, settings, paths, backend)
        else:
            with source:
                written, salt, scaling, dead = predict_volume_file(source, probs_of, cfg, settings, paths, backend)
    except OSError as error:
        if error.errno not in FULL:
            raise
        raise UserError(
            f"no space left on the device writing the outputs of out={cfg.out}: free some space or "
            "write elsewhere; the outputs that were there before are intact"
        ) from None
    meta = {
        "input": str(source.path),
        "shape": list(source.data.shape if isinstance(source, Section) else source.shape),
        "scaling": scaling.to_dict() if scaling else {"rule": "uint8 passthrough"},
        "threshold": cfg.threshold,
        "backend": type(backend).__name__,
        "ckpt": str(cfg.ckpt),
        "tta": cfg.tta,
        "axis": settings.axis,
        "overlap": settings.overlap,
        "taper": settings.taper,
        "salt_fraction": salt,
        "non_finite_samples": dead,
    }
    if dead:
        log.warning("%d samples of %s are NaN or infinite: predicted as no salt", dead, source.path)
    write_text(paths["json"], json.dumps(meta, indent=2))
    written.append(paths["json"])
    log.info("wrote %s (salt in %.1f%% of the samples)", ", ".join(str(w) for w in written), 100 * salt)
    return [str(w) for w in written]


def predict_section_file(
    source, probs_of, cfg, settings, paths, backend
) -> tuple[list[Path], float, AmplitudeScaling | None, int]:
    """A 2D input: probabilities, mask, pictures, and a SEG-Y line back for a SEG-Y line."""
    scaling = None if source.data.dtype == np.uint8 else choose_scaling(backend, source.data, settings, source.path)
    grey = source.data if scaling is None else scaling.apply(source.data)
    probs = probs_of(grey).astype(np.float32)
    dead = ~np.isfinite(source.data)
    probs[dead] = 0.0  # no amplitude there: no salt, and counted
    mask = probs > cfg.threshold
    save_npy(probs, paths["probs"])
    save_npy(mask, paths["mask"])
    save_png(np.round(probs * 255).astype(np.uint8), paths["probs_png"])
    save_png(overlay(grey, mask), paths["overlay"])
    written = [paths["probs"], paths["mask"], paths["probs_png"], paths["overlay"]]
    if source.kind == "segy":
        written.append(write_segy_like(source, paths["sgy"], [probs.T]))
    return written, float(mask.mean()), scaling, int(dead.sum())


def predict_volume_file(
    volume, probs_of, cfg, settings, paths, backend
) -> tuple[list[Path], float, AmplitudeScaling, int]:
    """A 3D input, a line at a time: along `predict.axis` (both: the mean of the two directions), written to disk
    as each line comes; then the mask and, for SEG-Y, a SEG-Y with the source's headers."""
    if settings.axis not in (*AXES, "both"):
        raise UserError(f"predict.axis={settings.axis} is not one of inline, crossline, both")
    scaling = choose_scaling(backend, volume.sample_traces(), settings, volume.path)
    axes = AXES if settings.axis == "both" else (settings.axis,)
    salt = dead_samples = 0
    with atomic_path(paths["probs"]) as probs_tmp, atomic_path(paths["mask"]) as mask_tmp:
        probs = LineCube(probs_tmp, volume.shape)
        for n, axis in enumerate(axes):
            count = volume.shape[0] if axis == "inline" else volume.shape[1]
            for k in tqdm(range(count), desc=f"{axis} sections", unit="section"):
                amplitudes = volume.line(axis, k)
                line = probs_of(scaling.apply(amplitudes).T).T  # sections are (samples, traces)
                dead = ~np.isfinite(amplitudes)
                line[dead] = 0.0  # no amplitude there: no salt, and counted
                dead_samples += int(dead.sum()) if n == 0 else 0
                probs.write(axis, k, line if n == 0 else 0.5 * (probs.read(axis, k) + line))
        mask = LineCube(mask_tmp, volume.shape, dtype=np.bool_)
        for k in range(volume.shape[0]):
            line_mask = probs.read("inline", k) > cfg.threshold
            mask.write("inline", k, line_mask)
            salt += int(line_mask.sum())
        mask.close()
        written = [paths["probs"], paths["mask"]]
        if volume.kind == "segy":
            axis, count = volume.file_order
            written.append(write_segy_like(volume, paths["sgy"], (probs.read(axis, k) for k in range(count))))
        probs.close()
    return written, salt / int(np.prod(volume.shape)), scaling, dead_samples
