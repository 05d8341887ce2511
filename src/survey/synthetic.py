"""A synthetic 3D survey with salt, for demos, tests and benchmarks (no download needed).

Layered reflectivity (dipping, gently folded beds, finer with depth) convolved with a Ricker wavelet; one or two
salt bodies (wobbly ellipsoids) that replace the layers with weak chaotic reflections, with a bright positive
top and a negative base; band-limited noise. Written as an inline-sorted SEG-Y with real geometry headers
(inline and crossline numbers, CDP coordinates, sample interval) and a label volume (uint8, 1 = salt) on the
same grid.
"""

import json
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter

from src.sections.writers import save_npy, write_segy_volume
from src.utils.atomic import write_text

FIRST_INLINE, FIRST_CROSSLINE = 1000, 2000


def ricker(peak_samples=8.0, length=41) -> np.ndarray:
    """A Ricker wavelet whose peak period is `peak_samples` samples."""
    t = (np.arange(length) - length // 2) / peak_samples
    return ((1 - 2 * (np.pi * t) ** 2) * np.exp(-((np.pi * t) ** 2))).astype(np.float32)


def layered_reflectivity(rng, shape) -> np.ndarray:
    """Beds whose depth shifts with a dip and gentle folds across the survey; sparse reflection coefficients."""
    n_il, n_xl, n_s = shape
    series = rng.laplace(0, 0.08, n_s * 2) * (rng.uniform(size=n_s * 2) < 0.35)
    il, xl = np.meshgrid(np.arange(n_il), np.arange(n_xl), indexing="ij")
    shift = (
        rng.uniform(-0.15, 0.15) * il
        + rng.uniform(-0.15, 0.15) * xl
        + rng.uniform(2, 8) * np.sin(il / rng.uniform(15, 40) + rng.uniform(0, 6.3)) * np.cos(xl / rng.uniform(15, 40))
    )
    depth_index = np.arange(n_s)[None, None, :] + shift[..., None] - shift.min() + n_s // 4
    return series[np.clip(depth_index.astype(int), 0, n_s * 2 - 1)].astype(np.float32)


def salt_bodies(rng, shape, count) -> np.ndarray:
    """A boolean cube: `count` wobbly ellipsoids, below the first quarter of the section."""
    n_il, n_xl, n_s = shape
    il, xl, z = np.meshgrid(np.arange(n_il), np.arange(n_xl), np.arange(n_s), indexing="ij", sparse=True)
    salt = np.zeros(shape, bool)
    for _ in range(count):
        centre = rng.uniform([0.2 * n_il, 0.2 * n_xl, 0.45 * n_s], [0.8 * n_il, 0.8 * n_xl, 0.75 * n_s])
        radii = rng.uniform([0.15 * n_il, 0.15 * n_xl, 0.15 * n_s], [0.35 * n_il, 0.35 * n_xl, 0.3 * n_s])
        wobble = gaussian_filter(rng.normal(0, 1, shape), sigma=max(shape) / 8) * 6
        distance = (
            ((il - centre[0]) / radii[0]) ** 2 + ((xl - centre[1]) / radii[1]) ** 2 + ((z - centre[2]) / radii[2]) ** 2
        )
        salt |= distance < 1 + wobble
    return salt


def make_survey(shape=(40, 120, 120), seed=0, bodies=2, noise=0.15) -> tuple[np.ndarray, np.ndarray]:
    """(amplitudes float32 (inline, crossline, samples), labels uint8 (1 = salt))."""
    rng = np.random.default_rng(seed)
    reflectivity = layered_reflectivity(rng, shape)
    salt = salt_bodies(rng, shape, bodies)
    reflectivity[salt] = rng.normal(0, 0.015, int(salt.sum()))  # weak, chaotic inside the salt
    top = salt & ~np.concatenate([np.zeros(shape[:2] + (1,), bool), salt[..., :-1]], axis=2)
    base = salt & ~np.concatenate([salt[..., 1:], np.zeros(shape[:2] + (1,), bool)], axis=2)
    reflectivity[top] += 0.5  # the bright top of salt
    reflectivity[base] -= 0.3
    amplitudes = convolve1d(reflectivity, ricker(), axis=2, mode="nearest")
    amplitudes += noise * amplitudes.std() * gaussian_filter(rng.normal(0, 1, shape), sigma=(0.8, 0.8, 1.2))
    return (1000 * amplitudes).astype(np.float32), salt.astype(np.uint8)


def generate_survey(folder, shape=(40, 120, 120), seed=0, bodies=2) -> Path:
    """Write seismic.sgy and labels.npy (plus survey.json, the settings) into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    amplitudes, labels = make_survey(shape, seed, bodies)
    ilines = np.arange(FIRST_INLINE, FIRST_INLINE + shape[0])
    xlines = np.arange(FIRST_CROSSLINE, FIRST_CROSSLINE + shape[1])
    write_segy_volume(folder / "seismic.sgy", amplitudes, ilines, xlines)
    save_npy(labels, folder / "labels.npy")
    write_text(
        folder / "survey.json",
        json.dumps({"shape": list(shape), "seed": seed, "bodies": bodies, "salt_fraction": float(labels.mean())}),
    )
    return folder


def ensure_survey(survey: dict) -> None:
    """Generate the synthetic survey ({shape, seed}) a data.survey config names, unless its seismic file is there."""
    spec = survey.get("synthetic")
    if spec and not Path(survey["seismic"]).exists():
        generate_survey(Path(survey["seismic"]).parent, shape=tuple(spec["shape"]), seed=spec["seed"])
