"""The files a prediction of a section or a volume writes, beside `<out>`: probabilities, mask, uncertainty,
pictures and, for SEG-Y input, SEG-Y with the source's headers. A volume is predicted, written and smoothed a
line at a time (probabilities go to disk as they come), so memory stays far below the volume's size; every file
is written to a temporary name and renamed."""

from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from src.sections.line_cube import LineCube
from src.sections.pictures import overlay, save_png
from src.sections.readers import AXES
from src.sections.smoothing import smooth_across_lines
from src.sections.writers import save_npy, write_segy_like
from src.utils.atomic import atomic_path, check_writable_file, remove_stale_temporaries
from src.utils.plots import save_line_preview
from src.utils.progress import progress

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


def output_paths(out) -> dict[str, Path]:
    """<out>.<suffix> of every output, each checked writable before any work, with the temporary files of an
    earlier killed run of the same output removed."""
    out = Path(out)
    paths = {kind: out.with_name(f"{out.name}.{suffix}") for kind, suffix in OUTPUTS.items()}
    for path in paths.values():
        check_writable_file(path)
        remove_stale_temporaries(path)
    return paths


def predict_section_file(source, predict_section, threshold, paths, scaling) -> tuple[list[Path], float, int]:
    """A 2D input: probabilities, mask, pictures, and a SEG-Y line back for a SEG-Y line. `predict_section`: grey
    section -> its maps (src/inference/section_predictor.py); `scaling`: amplitudes to grey (None: grey already).
    Returns (paths written, salt share, samples that were not finite)."""
    grey = source.data if scaling is None else scaling.apply(source.data)
    maps = predict_section(grey)
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
    return written, float(mask.mean()), int(dead.sum())


def predict_volume_file(volume, predict_section, threshold, settings, paths, scaling) -> tuple[list[Path], float, int]:
    """A 3D input, a line at a time: along `predict.axis` (both: the mean of the two directions), probabilities
    and uncertainty written to disk as each line comes; the probabilities smoothed across `predict.smooth_lines`
    neighbouring lines; then the mask (from the smoothed probabilities as trained), a picture of the inline with
    the most salt and, for SEG-Y, SEG-Y files with the source's headers. `predict_section.kinds`: the maps it
    gives. Returns (paths written, salt share, samples that were not finite)."""
    kinds = predict_section.kinds
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
            for k in progress(range(count), desc=f"{axis} sections", unit="section"):
                amplitudes = volume.line(axis, k)
                dead = ~np.isfinite(amplitudes)
                dead_samples += int(dead.sum()) if n == 0 else 0
                for kind, section in predict_section(scaling.apply(amplitudes).T).items():
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
    return written, salt / int(np.prod(volume.shape)), dead_samples
