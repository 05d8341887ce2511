"""The bodies task: the salt bodies of a predicted mask cube, their statistics (bodies.csv), labels (bodies.npy), a
map (bodies.png), and each large body's top- and base-of-salt surfaces for interpretation software."""

import logging
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from src.interpretation.bodies import Bodies, label_bodies
from src.interpretation.geometry import Grid, grid_of, regular_grid
from src.interpretation.surfaces import FORMATS, regular_surface, write_surface
from src.sections.line_cube import LineCube, open_user_cube
from src.sections.mdio_store import StoreCube
from src.utils.atomic import atomic_path
from src.utils.errors import UserError
from src.utils.plots import save_body_maps

__all__ = ["bodies"]
log = logging.getLogger(__name__)


def open_mask(path: Path, threshold: float) -> tuple[LineCube | StoreCube, Callable[[int], np.ndarray]]:
    """(the cube, mask_line(k) -> (crossline, samples) bool) of a mask or probability .npy cube, or of an MDIO
    prediction store's mask, read a line at a time."""
    cube = open_user_cube(
        path, "input", "mask (bool) or probability (float)", "a mask cube from predict.py (<out>.mask.npy)", "mask"
    )
    if isinstance(cube, StoreCube):
        return cube, lambda k: cube.read("inline", k) > 0
    if not (cube.dtype == np.bool_ or np.issubdtype(cube.dtype, np.floating)):
        cube.close()
        raise UserError(
            f"input={path} holds {cube.dtype} values, not a mask (bool) or probabilities (float): pass "
            "predict.py's <out>.mask.npy"
        )
    if cube.dtype == np.bool_:
        return cube, lambda k: cube.read("inline", k)
    return cube, lambda k: cube.read("inline", k) > threshold


def survey_grid(cfg, cube) -> Grid:
    """The map grid: from geometry=, else an MDIO store's own coordinates (unless bodies.spacing is given), else
    bodies.spacing."""
    spacing = dict(cfg.bodies.spacing)
    if cfg.geometry is None and isinstance(cube, StoreCube) and not spacing.get("inline"):
        index, xy, ilines, xlines = cube.live_positions()
        zori, zinc = float(spacing.get("depth_origin") or 0.0), spacing.get("sample")
        return regular_grid(cube.path, index, xy, ilines, xlines, zori, zinc)
    return grid_of(cube.shape, cfg.geometry, spacing, cfg.iline_byte, cfg.xline_byte)


def body_table(found: Bodies, grid: Grid) -> pd.DataFrame:
    """One row per body: size, volume (m^3 when the sample spacing is known), the lines and depths it spans. With
    no body the table keeps its header, so it still reads as the table it is."""
    columns = ["body", "voxels", *(["volume_m3"] if grid.voxel_m3 is not None else [])]
    columns += ["inline_first", "inline_last", "crossline_first", "crossline_last", "top", "base"]
    rows = []
    for body in found.bodies:
        row = {"body": body.id, "voxels": body.voxels}
        if grid.voxel_m3 is not None:
            row["volume_m3"] = body.voxels * grid.voxel_m3
        row |= {
            "inline_first": grid.ilines[body.inlines[0]],
            "inline_last": grid.ilines[body.inlines[1]],
            "crossline_first": grid.xlines[body.crosslines[0]],
            "crossline_last": grid.xlines[body.crosslines[1]],
            "top": float(grid.depth(body.samples[0])),
            "base": float(grid.depth(body.samples[1])),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def bodies(cfg: DictConfig) -> list[str]:
    """Label the salt bodies of the mask cube `cfg.input` (6-connected, at least bodies.min_voxels), write their
    table, labels and map into `cfg.out` (and, with bodies.cleaned_mask, the mask of the kept bodies only), and the
    top- and base-of-salt surfaces of the largest bodies.surfaces ones on the survey's map grid (from
    cfg.geometry, the SEG-Y predicted, or bodies.spacing). Returns the paths written."""
    settings = cfg.bodies
    if settings.format not in FORMATS:
        raise UserError(f"bodies.format={settings.format} is not one of {', '.join(FORMATS)}")
    cube, mask_line = open_mask(Path(cfg.input).expanduser(), cfg.threshold)
    shape = cube.shape
    try:
        grid = survey_grid(cfg, cube)
        out = Path(cfg.out).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        # each cube appears whole or not at all; the cleaned mask (salt only where a body of at least
        # min_voxels is: the 3D clean-up) comes from the same pass as the labels
        cleaned = out / "cleaned.mask.npy" if settings.cleaned_mask else None
        with atomic_path(out / "bodies.npy") as labels_tmp, ExitStack() as stack:
            cleaned_tmp = stack.enter_context(atomic_path(cleaned)) if cleaned is not None else None
            found = label_bodies(
                mask_line, shape, labels_tmp, settings.min_voxels, settings.surfaces, cleaned_path=cleaned_tmp
            )
    finally:
        cube.close()
    written = [out / "bodies.npy", out / "bodies.csv", out / "bodies.png", *([cleaned] if cleaned else [])]
    with atomic_path(written[1]) as tmp:
        body_table(found, grid).to_csv(tmp, index=False)
    footprint = np.zeros(shape[:2], np.int64)
    for k in range(len(found.top) - 1, -1, -1):  # the largest body on top where bodies overlap in map view
        footprint[~np.isnan(found.top[k])] = k + 1
    unit = "m" if grid.zinc is not None else "samples"
    save_body_maps(
        written[2],
        footprint,
        grid.depth(found.top[0]) if len(found.top) else np.full(shape[:2], np.nan),
        unit,
        len(found.bodies),
    )
    for body in found.bodies:
        if body.inlines == (0, shape[0] - 1) and body.crosslines == (0, shape[1] - 1):
            log.warning(
                "body %d spans the whole survey (every inline and crossline): a mask of salt nearly everywhere, "
                "or bodies joined through the edges; check the threshold (threshold=%s) and the prediction",
                body.id,
                cfg.threshold,
            )
    for k in range(len(found.top)):
        for name, samples in (("top_salt", found.top[k]), ("base_salt", found.base[k])):
            surface = regular_surface(grid, samples, f"{name} body {k + 1}")
            written += write_surface(surface, out / f"{name}_body{k + 1}", settings.format)
    volume = sum(b.voxels for b in found.bodies)
    log.info(
        "%d salt bodies of at least %d voxels (%d voxels in all); surfaces of the largest %d; wrote %s",
        len(found.bodies),
        settings.min_voxels,
        volume,
        len(found.top),
        out,
    )
    return [str(p) for p in written]
