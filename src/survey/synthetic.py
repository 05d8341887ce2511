"""A synthetic 3D survey with salt, for demos, tests and benchmarks (no download needed).

setting="easy": layered reflectivity (dipping, gently folded beds) convolved with a Ricker wavelet; one or two
salt bodies (wobbly ellipsoids) that replace the layers with weak chaotic reflections, with a bright positive
top and a negative base; band-limited noise. Two labelled inlines are enough to segment it (IoU 0.99).

setting="hard" models what makes real salt hard to pick: several bodies of different sizes; a rugose top (the
body's outline roughened at a short scale); sediments dragged up against the flanks and truncated there; an
interior whose weak reflections have the sediments' texture and dips rather than a texture of its own; a dim
base; diffraction hyperbolas from scatterers along the top of salt; a wavelet whose peak period changes across
the survey; noise that grows with depth.

Written as an inline-sorted SEG-Y with real geometry headers (inline and crossline numbers, CDP coordinates,
sample interval) and a label volume (uint8, 1 = salt) on the same grid.
"""

import json
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter

from src.sections.writers import save_npy, write_segy_volume
from src.utils.atomic import write_text

FIRST_INLINE, FIRST_CROSSLINE = 1000, 2000
SETTINGS = ("easy", "hard")


def ricker(peak_samples=8.0, length=41) -> np.ndarray:
    """A Ricker wavelet whose peak period is `peak_samples` samples."""
    t = (np.arange(length) - length // 2) / peak_samples
    return ((1 - 2 * (np.pi * t) ** 2) * np.exp(-((np.pi * t) ** 2))).astype(np.float32)


def layered_reflectivity(rng, shape, uplift=None) -> np.ndarray:
    """Beds whose depth shifts with a dip and gentle folds across the survey; sparse reflection coefficients.
    `uplift` (inline, crossline, samples), in samples: beds dragged up by that much (against a salt flank)."""
    n_il, n_xl, n_s = shape
    series = rng.laplace(0, 0.08, n_s * 2) * (rng.uniform(size=n_s * 2) < 0.35)
    il, xl = np.meshgrid(np.arange(n_il), np.arange(n_xl), indexing="ij")
    shift = (
        rng.uniform(-0.15, 0.15) * il
        + rng.uniform(-0.15, 0.15) * xl
        + rng.uniform(2, 8) * np.sin(il / rng.uniform(15, 40) + rng.uniform(0, 6.3)) * np.cos(xl / rng.uniform(15, 40))
    )
    depth_index = np.arange(n_s)[None, None, :] + shift[..., None] - shift.min() + n_s // 4
    if uplift is not None:
        depth_index = depth_index + uplift
    return series[np.clip(depth_index.astype(int), 0, n_s * 2 - 1)].astype(np.float32)


def wobbly_ellipsoid(rng, shape, centre, radii, rugosity=0.0) -> np.ndarray:
    """A boolean cube: an ellipsoid whose outline wobbles at a large scale, and is roughened at a scale of a few
    samples by `rugosity` (a rugose top)."""
    il, xl, z = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij", sparse=True)
    wobble = gaussian_filter(rng.normal(0, 1, shape), sigma=max(shape) / 8) * 6
    if rugosity:  # a field of unit spread, a few samples across: the outline only (distance ~1) moves
        rough = gaussian_filter(rng.normal(0, 1, shape), sigma=2.0)
        wobble = wobble + rugosity * rough / rough.std()
    distance = (
        ((il - centre[0]) / radii[0]) ** 2 + ((xl - centre[1]) / radii[1]) ** 2 + ((z - centre[2]) / radii[2]) ** 2
    )
    return distance < 1 + wobble


def salt_bodies(rng, shape, count) -> np.ndarray:
    """A boolean cube: `count` wobbly ellipsoids below the first quarter of the section (they may merge)."""
    n_il, n_xl, n_s = shape
    salt = np.zeros(shape, bool)
    for _ in range(count):
        centre = rng.uniform([0.2 * n_il, 0.2 * n_xl, 0.45 * n_s], [0.8 * n_il, 0.8 * n_xl, 0.75 * n_s])
        radii = rng.uniform([0.15 * n_il, 0.15 * n_xl, 0.15 * n_s], [0.35 * n_il, 0.35 * n_xl, 0.3 * n_s])
        salt |= wobbly_ellipsoid(rng, shape, centre, radii)
    return salt


def separate_bodies(rng, shape, count, rugosity) -> np.ndarray:
    """A boolean cube: `count` rugose bodies of different sizes, one in each cell of a 2-row grid over the map so
    that they stay apart, at different depths."""
    n_il, n_xl, n_s = shape
    columns = -(-count // 2)
    cell = np.array([n_il / 2, n_xl / columns])
    salt = np.zeros(shape, bool)
    for b in range(count):
        corner = np.array([b % 2, b // 2]) * cell
        centre = np.append(corner + rng.uniform(0.4, 0.6, 2) * cell, rng.uniform(0.45, 0.7) * n_s)
        radii = np.append(rng.uniform(0.35, 1.0) * 0.38 * cell, rng.uniform(0.07, 0.2) * n_s)
        salt |= wobbly_ellipsoid(rng, shape, centre, radii, rugosity)
    return salt


def top_and_base(salt) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last salt sample of each run of salt along every trace (bool cubes)."""
    above = np.concatenate([np.zeros(salt.shape[:2] + (1,), bool), salt[..., :-1]], axis=2)
    below = np.concatenate([salt[..., 1:], np.zeros(salt.shape[:2] + (1,), bool)], axis=2)
    return salt & ~above, salt & ~below


def diffractions(rng, top, count) -> np.ndarray:
    """Reflectivity of `count` point scatterers on the top of salt, each spread as a diffraction hyperbola along
    its inline: t(x) = sqrt(t0^2 + (x / v)^2), weaker away from its apex."""
    out = np.zeros(top.shape, np.float32)
    points = np.argwhere(top)
    if not len(points):
        return out
    n_xl, n_s = top.shape[1:]
    xl = np.arange(n_xl)
    for i, j, k in points[rng.choice(len(points), min(count, len(points)), replace=False)]:
        t = np.sqrt(k**2 + ((xl - j) / rng.uniform(0.6, 1.2)) ** 2).astype(int)
        keep = t < n_s
        out[i, xl[keep], t[keep]] += rng.choice([-1, 1]) * 0.25 * np.exp(-np.abs(xl[keep] - j) / 25)
    return out


def convolve_lateral_wavelet(reflectivity, periods) -> np.ndarray:
    """Each inline convolved with a Ricker wavelet of its own peak period (a wavelet that changes across the
    survey)."""
    return np.stack(
        [convolve1d(line, ricker(period), axis=1, mode="nearest") for line, period in zip(reflectivity, periods)]
    )


def make_survey(shape=(40, 120, 120), seed=0, bodies=2, noise=0.15, setting="easy") -> tuple[np.ndarray, np.ndarray]:
    """(amplitudes float32 (inline, crossline, samples), labels uint8 (1 = salt)) of the `setting` (easy, hard)."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown synthetic survey setting {setting!r}: use {', '.join(SETTINGS)}")
    rng = np.random.default_rng(seed)
    if setting == "easy":
        reflectivity = layered_reflectivity(rng, shape)
        salt = salt_bodies(rng, shape, bodies)
        reflectivity[salt] = rng.normal(0, 0.015, int(salt.sum()))  # weak, chaotic inside the salt
        top, base = top_and_base(salt)
        reflectivity[top] += 0.5  # the bright top of salt
        reflectivity[base] -= 0.3
        amplitudes = convolve1d(reflectivity, ricker(), axis=2, mode="nearest")
        amplitudes += noise * amplitudes.std() * gaussian_filter(rng.normal(0, 1, shape), sigma=(0.8, 0.8, 1.2))
        return (1000 * amplitudes).astype(np.float32), salt.astype(np.uint8)
    salt = separate_bodies(rng, shape, bodies + 2, rugosity=0.15)
    near = gaussian_filter(salt.astype(np.float32), sigma=(4, 4, 2))  # closeness to salt, 0..1
    reflectivity = layered_reflectivity(rng, shape, uplift=12 * near)  # beds dragged up along the flanks
    inside = layered_reflectivity(rng, shape)  # the sediments' own texture and dips, weakened and broken up
    broken = gaussian_filter(rng.uniform(size=shape), sigma=2) > 0.5
    reflectivity[salt] = 0.35 * inside[salt] * broken[salt]
    top, base = top_and_base(salt)
    reflectivity[top] += rng.uniform(0.15, 0.45, int(top.sum()))  # a top of salt of uneven strength
    reflectivity[base] -= 0.06  # a dim base
    reflectivity += diffractions(rng, top, count=max(shape[0] * 3, 20))
    periods = np.linspace(rng.uniform(5, 7), rng.uniform(9, 12), shape[0])
    amplitudes = convolve_lateral_wavelet(reflectivity, periods)
    depth_gain = np.linspace(0.5, 2.0, shape[2], dtype=np.float32)  # noise grows with depth
    amplitudes += 0.35 * amplitudes.std() * depth_gain * gaussian_filter(rng.normal(0, 1, shape), sigma=(0.8, 0.8, 1.2))
    return (1000 * amplitudes).astype(np.float32), salt.astype(np.uint8)


def generate_survey(folder, shape=(40, 120, 120), seed=0, bodies=2, setting="easy") -> Path:
    """Write seismic.sgy and labels.npy (plus survey.json, the settings) into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    amplitudes, labels = make_survey(shape, seed, bodies, setting=setting)
    ilines = np.arange(FIRST_INLINE, FIRST_INLINE + shape[0])
    xlines = np.arange(FIRST_CROSSLINE, FIRST_CROSSLINE + shape[1])
    write_segy_volume(folder / "seismic.sgy", amplitudes, ilines, xlines)
    save_npy(labels, folder / "labels.npy")
    write_text(
        folder / "survey.json",
        json.dumps(
            {
                "shape": list(shape),
                "seed": seed,
                "bodies": bodies,
                "setting": setting,
                "salt_fraction": float(labels.mean()),
            }
        ),
    )
    return folder


def ensure_survey(seismic, spec) -> None:
    """Generate the synthetic survey `spec` ({shape, seed, setting}: data.survey.synthetic) names at `seismic`,
    unless that file is there."""
    if spec and not Path(seismic).exists():
        generate_survey(
            Path(seismic).parent,
            shape=tuple(spec["shape"]),
            seed=spec["seed"],
            setting=spec.get("setting", "easy"),
        )
