"""The predict task: salt probabilities for whole sections and volumes, written back in the input's form.

Volumes are read, predicted and written a line at a time (probabilities go to disk as they come), so memory
stays far below the size of the volume. Amplitudes become grey levels by the rule the network was trained with
when it stores one (a survey run), else by the input's own percentiles.

Beside the probabilities: the uncertainty, the mutual information of the ensemble's views in bits
(src/inference/uncertainty.py), blended across windows like the probabilities; and the probabilities are
calibrated by the temperature tune.py fitted on the run's out-of-fold predictions, when it kept one.
"""

import json
import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from omegaconf import DictConfig, ListConfig
from tqdm import tqdm

from src.data.tiles import TILE
from src.ensemble.members import checkpoint_preprocesses
from src.inference.backends import build_backend, needs_depth, prediction_maps
from src.inference.calibration import member_temperatures
from src.inference.onnx import graph_settings
from src.sections.line_cube import LineCube
from src.sections.pictures import overlay, save_png
from src.sections.readers import AXES, Section, open_seismic
from src.sections.scaling import AmplitudeScaling
from src.sections.smoothing import smooth_across_lines
from src.sections.tiling import TAPERS, section_probs
from src.sections.writers import save_npy, write_segy_like
from src.utils.atomic import atomic_path, check_writable_file, remove_stale_temporaries, write_text
from src.utils.config import command_line_keys, is_number, is_positive_number, is_whole_number
from src.utils.entry import FULL
from src.utils.errors import UserError
from src.utils.plots import save_line_preview
from src.utils.run_folder import tuned_postproc

log = logging.getLogger(__name__)
OUTPUTS = {
    "probs": "probs.npy",
    "mask": "mask.npy",
    "probs_png": "probs.png",
    "overlay": "overlay.png",
    "sgy": "sgy",
    "uncertainty": "uncertainty.npy",
    "uncertainty_png": "uncertainty.png",
    "uncertainty_sgy": "uncertainty.sgy",
    "preview": "preview.png",
    "json": "json",
}  # <out>.<suffix>: what a prediction writes (the PNGs for 2D inputs)
CALIBRATION_NOTE = (
    "each member's probabilities by its run's temperature, then averaged; the mask is decided on the "
    "probabilities as trained, so calibration never changes it"
)
SCALING_MISMATCH = 2.0  # warn when the input's own amplitude scale differs from the stored one by this factor


def depth_rule(preprocesses, settings) -> tuple[float, float, str] | None:
    """(depth of the first row, depth per row, where they came from) for networks that use the depth channel,
    None for those that do not: predict.depth_origin / depth_step where given, else the rule the network was
    trained on (a survey network stores it); one clear line when neither says."""
    if not any(needs_depth(pre) for pre in preprocesses):
        return None
    stored = {pre.depth_rule for pre in preprocesses if needs_depth(pre)} - {None}
    stored_rule = stored.pop() if len(stored) == 1 else (None, None)
    origin = settings.depth_origin if settings.depth_origin is not None else stored_rule[0]
    step = settings.depth_step if settings.depth_step is not None else stored_rule[1]
    if origin is None or step is None:
        raise UserError(
            "this model uses the depth channel and stores no depth rule of its own (trained on TGS tiles, or folds "
            "that differ): pass predict.depth_origin (depth of the first row) and predict.depth_step (depth per "
            "row), in the units of the training depths.csv"
        )
    given = [name for name in ("depth_origin", "depth_step") if settings[name] is not None]
    source = "predict." + " and predict.".join(given) if given else "the rule the network was trained on"
    return float(origin), float(step), source


def depth_function(rule) -> Callable[[int], float]:
    if rule is None:
        return lambda row: 0.0
    origin, step, _ = rule
    return lambda row: origin + row * step


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


def given_temperature(cfg) -> float | None:
    """predict.temperature when a number (None: auto)."""
    given = cfg.predict.temperature
    if given == "auto":
        return None
    if not is_positive_number(given):
        raise UserError(f"predict.temperature={given}: use auto or a number above 0 (1: no calibration)")
    return float(given)


def choose_temperatures(cfg, networks, carried=None) -> list[dict]:
    """[{run, temperature, from}] for each of the `networks` members of `cfg.ckpt`, in the backend's order: each
    member is calibrated by its own run's temperature (the one fitted on that run's out-of-fold predictions)
    before the members are averaged; predict.temperature, when a number, is every member's; an exported graph
    carries the temperatures of the run it was exported from (`carried`)."""
    given = given_temperature(cfg)
    if given is not None:
        return [{"run": None, "temperature": given, "from": "predict.temperature"}] * networks
    if Path(cfg.ckpt).suffix == ".onnx":
        carried = (carried or {}).get("temperatures")
        if not carried or len(carried) != networks:
            return [{"run": None, "temperature": 1.0, "from": "none (the graph carries none)"}] * networks
        return [{"run": None, "temperature": float(t), "from": f"{cfg.ckpt} (as exported)"} for t in carried]
    return member_temperatures(cfg.ckpt, cfg.snapshots)


def choose_threshold(cfg, carried=None) -> tuple[float, str]:
    """(threshold, where it came from): `threshold=` on the command line, else the one tune.py chose for the ckpt
    (its postproc.yaml, or what an exported graph carries), else the default. The mask is the probabilities as
    trained above it; tune.py's component and mask-size cut-offs are for 101 x 101 tiles and are not applied to
    sections (bodies.py's min_voxels cleans up a volume)."""
    if "threshold" in command_line_keys():
        return float(cfg.threshold), "the command line"
    tuned, source = (carried, cfg.ckpt) if Path(cfg.ckpt).suffix == ".onnx" else tuned_postproc(cfg.ckpt)
    if tuned and "threshold" in tuned:
        return float(tuned["threshold"]), f"tuned, from {source}"
    return float(cfg.threshold), "the default (nothing tuned)"


def check_settings(settings) -> None:
    """The predict.* numbers, checked before any work (a bad one used to crash midway or to predict wrongly)."""
    if settings.scaling not in ("auto", "model", "input"):
        raise UserError(f"predict.scaling={settings.scaling} is not one of auto, model, input")
    if not is_whole_number(settings.overlap) or not 0 <= settings.overlap < TILE:
        raise UserError(
            f"predict.overlap={settings.overlap}: use a whole number of pixels from 0 to {TILE - 1} "
            f"(windows are {TILE} wide; the default 50 shares half of one)"
        )
    if not is_whole_number(settings.batch_size) or settings.batch_size < 1:
        raise UserError(f"predict.batch_size={settings.batch_size}: use a whole number of windows, 1 or more")
    if not is_whole_number(settings.smooth_lines) or settings.smooth_lines < 0:
        raise UserError(f"predict.smooth_lines={settings.smooth_lines}: use a whole number of lines, 0 (off) or more")
    if not isinstance(settings.uncertainty, bool):
        raise UserError(f"predict.uncertainty={settings.uncertainty}: use true or false")
    if settings.taper not in TAPERS:
        raise UserError(f"predict.taper={settings.taper} is not one of {', '.join(TAPERS)}")
    clip = list(settings.clip_percentiles) if isinstance(settings.clip_percentiles, Sequence | ListConfig) else None
    if clip is None or len(clip) != 2 or not all(is_number(v) for v in clip) or not 0 <= clip[0] < clip[1] <= 100:
        raise UserError(
            f"predict.clip_percentiles={settings.clip_percentiles}: use [low, high] with "
            "0 <= low < high <= 100, e.g. [1.0, 99.0]"
        )


def describe_uncertainty(cfg, backend) -> str | None:
    """What the uncertainty will be the disagreement of, for predict.json, or None when none is written. Warns
    where it will say little: one network's TTA views only (0 everywhere without TTA), or no views at all."""
    if not cfg.predict.uncertainty:
        return None
    if not backend.has_views:
        log.warning(
            "%s gives no per-network probabilities (exported before they were added): no uncertainty written; "
            "export it again with export.py to have one",
            cfg.ckpt,
        )
        return None
    tta_views = 2 if backend.tta else 1
    if backend.networks == 1:
        log.warning(
            "%s is one network: its uncertainty is only what its %d TTA view(s) disagree on%s; predict a multirun "
            "folder (folds, or training seeds of one fold) to have independently trained networks disagree",
            cfg.ckpt,
            tta_views,
            "" if tta_views > 1 else " (0 everywhere)",
        )
    return f"mutual information, bits, of {backend.networks} network(s) x {tta_views} TTA view(s)"


def output_paths(out) -> dict[str, Path]:
    """<out>.<suffix> of every output, each checked writable before any work, with the temporary files of an
    earlier killed run of the same output removed."""
    out = Path(out)
    paths = {kind: out.with_name(f"{out.name}.{suffix}") for kind, suffix in OUTPUTS.items()}
    for path in paths.values():
        check_writable_file(path)
        remove_stale_temporaries(path)
    return paths


def common_temperature(temperatures) -> float | None:
    """The temperature every member shares, for predict.json's one-number summary; None when they differ."""
    values = {t["temperature"] for t in temperatures}
    return values.pop() if len(values) == 1 else None


def predict(cfg: DictConfig) -> list[str]:
    """Salt probabilities for the section or volume `cfg.input` (PNG/TIFF, .npy, SEG-Y) with the networks
    `cfg.ckpt` stands for, written beside `cfg.out` in the input's form (probabilities, mask, pictures, SEG-Y
    with the source's headers) with a JSON of what was done. Returns the paths written."""
    settings = cfg.predict
    check_settings(settings)
    paths = output_paths(cfg.out)
    source = open_seismic(cfg.input, settings.iline_byte, settings.xline_byte)
    given_temperature(cfg)
    if Path(cfg.ckpt).suffix != ".onnx":  # checked before a graph is exported (a graph's own metadata costs nothing)
        depth_rule(checkpoint_preprocesses(cfg.ckpt, cfg.snapshots), settings)
    backend = build_backend(cfg.ckpt, cfg.snapshots, cfg.tta == "hflip", cfg.backend)
    carried = graph_settings(cfg.ckpt) if Path(cfg.ckpt).suffix == ".onnx" else None
    temperatures = choose_temperatures(cfg, backend.networks, carried)
    threshold, threshold_from = choose_threshold(cfg, carried)
    calibrated = any(t["temperature"] != 1.0 for t in temperatures)
    depths = depth_rule(backend.preprocesses, settings)
    depth_of_row = depth_function(depths)
    uncertainty_from = describe_uncertainty(cfg, backend)
    with_uncertainty = uncertainty_from is not None
    kinds = ("raw", "probs")[: 1 + calibrated] + (("uncertainty",) if with_uncertainty else ())

    def probs_of(grey_section) -> dict[str, np.ndarray]:
        """{raw: probabilities as trained, probs: calibrated (only when a temperature is not 1), uncertainty
        (only when written)} of a grey section."""
        member_temperatures = [t["temperature"] for t in temperatures]
        maps = section_probs(
            grey_section,
            lambda t, z: prediction_maps(backend, t, z, member_temperatures, with_uncertainty),
            depth_of_row,
            settings.overlap,
            settings.taper,
            settings.batch_size,
        )
        return dict(zip(kinds, maps))

    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    try:
        if isinstance(source, Section):
            written, salt, scaling, dead = predict_section_file(source, probs_of, threshold, settings, paths, backend)
        else:
            with source:
                written, salt, scaling, dead = predict_volume_file(
                    source, probs_of, threshold, settings, paths, backend, kinds
                )
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
        "threshold": threshold,
        "threshold_from": threshold_from,
        "depth": None if depths is None else dict(zip(("origin", "step", "from"), depths)),
        "postproc_not_applied": "tune.py's min_component and min_mask are 101 x 101 tile rules: not applied to "
        "sections (bodies.py's min_voxels cleans up a volume)",
        "backend": type(backend).__name__,
        "ckpt": str(cfg.ckpt),
        "tta": cfg.tta,
        "temperature": common_temperature(temperatures),
        "temperatures": temperatures,
        "calibration": CALIBRATION_NOTE if calibrated else "none: the probabilities are as trained",
        "uncertainty": uncertainty_from,
        "uncertainty_of": "the views' probabilities as trained (before calibration)",
        "axis": settings.axis,
        "overlap": settings.overlap,
        "taper": settings.taper,
        "smooth_lines": settings.smooth_lines,
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
    source, probs_of, threshold, settings, paths, backend
) -> tuple[list[Path], float, AmplitudeScaling | None, int]:
    """A 2D input: probabilities, mask, pictures, and a SEG-Y line back for a SEG-Y line."""
    scaling = None if source.data.dtype == np.uint8 else choose_scaling(backend, source.data, settings, source.path)
    grey = source.data if scaling is None else scaling.apply(source.data)
    maps = probs_of(grey)
    dead = ~np.isfinite(source.data)
    for section in maps.values():
        section[dead] = 0.0  # no amplitude there: no salt, and counted
    probs, uncertainty = maps.get("probs", maps["raw"]), maps.get("uncertainty")
    mask = maps["raw"] > threshold
    save_npy(probs, paths["probs"])
    save_npy(mask, paths["mask"])
    save_png(np.round(probs * 255).astype(np.uint8), paths["probs_png"])
    save_png(overlay(grey, mask), paths["overlay"])
    written = [paths["probs"], paths["mask"], paths["probs_png"], paths["overlay"]]
    if uncertainty is not None:
        save_npy(uncertainty, paths["uncertainty"])
        save_png(np.round(uncertainty * 255).astype(np.uint8), paths["uncertainty_png"])
        written += [paths["uncertainty"], paths["uncertainty_png"]]
    if source.kind == "segy":
        written.append(write_segy_like(source, paths["sgy"], [probs.T]))
        if uncertainty is not None:
            written.append(write_segy_like(source, paths["uncertainty_sgy"], [uncertainty.T]))
    return written, float(mask.mean()), scaling, int(dead.sum())


def predict_volume_file(
    volume, probs_of, threshold, settings, paths, backend, kinds
) -> tuple[list[Path], float, AmplitudeScaling, int]:
    """A 3D input, a line at a time: along `predict.axis` (both: the mean of the two directions), probabilities
    and uncertainty written to disk as each line comes; the probabilities smoothed across `predict.smooth_lines`
    neighbouring lines; then the mask (from the smoothed probabilities as trained), a picture of the inline with
    the most salt and, for SEG-Y, SEG-Y files with the source's headers. `kinds`: the maps probs_of gives."""
    if settings.axis not in (*AXES, "both"):
        raise UserError(f"predict.axis={settings.axis} is not one of inline, crossline, both")
    scaling = choose_scaling(backend, volume.sample_traces(), settings, volume.path)
    axes = AXES if settings.axis == "both" else (settings.axis,)
    dead_samples = 0
    salt_per_inline = np.zeros(volume.shape[0], np.int64)
    outputs = ("probs", "uncertainty") if "uncertainty" in kinds else ("probs",)
    with ExitStack() as stack:
        temporaries = {kind: stack.enter_context(atomic_path(paths[kind])) for kind in (*outputs, "mask")}
        cubes = {kind: LineCube(temporaries[kind], volume.shape) for kind in outputs}
        if "probs" in kinds:  # calibrated: the probabilities as trained only decide the mask, in a scratch cube
            scratch = stack.enter_context(TemporaryDirectory(dir=paths["probs"].parent, prefix=".as-trained."))
            cubes["raw"] = LineCube(Path(scratch) / "raw.npy", volume.shape)
        else:
            cubes["raw"] = cubes["probs"]
        for n, axis in enumerate(axes):
            count = volume.shape[0] if axis == "inline" else volume.shape[1]
            for k in tqdm(range(count), desc=f"{axis} sections", unit="section"):
                amplitudes = volume.line(axis, k)
                dead = ~np.isfinite(amplitudes)
                dead_samples += int(dead.sum()) if n == 0 else 0
                for kind, section in probs_of(scaling.apply(amplitudes).T).items():
                    line = section.T  # sections are (samples, traces)
                    line[dead] = 0.0  # no amplitude there: no salt, and counted
                    cubes[kind].write(axis, k, line if n == 0 else 0.5 * (cubes[kind].read(axis, k) + line))
        smoothed = {id(cube): cube for kind, cube in cubes.items() if kind != "uncertainty"}.values()
        for axis in axes:  # neighbouring lines were predicted apart: make them agree
            for cube in smoothed:
                smooth_across_lines(cube, axis, settings.smooth_lines)
        mask = LineCube(temporaries["mask"], volume.shape, dtype=np.bool_)
        for k in range(volume.shape[0]):
            line_mask = cubes["raw"].read("inline", k) > threshold
            mask.write("inline", k, line_mask)
            salt_per_inline[k] = int(line_mask.sum())
        mask.close()
        salt = int(salt_per_inline.sum())
        shown = int(np.argmax(salt_per_inline))  # the first of the saltiest (the first inline when none has salt)
        save_line_preview(
            paths["preview"],
            scaling.apply(volume.line("inline", shown)).T,
            cubes["probs"].read("inline", shown).T,
            cubes["uncertainty"].read("inline", shown).T if "uncertainty" in cubes else None,
            f"inline {volume.ilines[shown]} (most salt)",
        )
        written = [paths[kind] for kind in (*outputs, "mask", "preview")]
        if volume.kind == "segy":
            axis, count = volume.file_order
            for kind in outputs:
                lines = (cubes[kind].read(axis, k) for k in range(count))
                written.append(write_segy_like(volume, paths["sgy" if kind == "probs" else "uncertainty_sgy"], lines))
        for cube in {id(cube): cube for cube in cubes.values()}.values():
            cube.close()
    return written, salt / int(np.prod(volume.shape)), scaling, dead_samples
