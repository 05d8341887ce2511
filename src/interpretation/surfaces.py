"""Top- and base-of-salt surfaces in the formats interpretation software reads, written by xtgeo: IRAP (binary or
ASCII) grids on the survey's map grid, and XYZ points."""

import logging
from pathlib import Path

import numpy as np
import xtgeo

from src.interpretation.geometry import Grid
from src.utils.atomic import atomic_path

FORMATS = {"irap_binary": ".gri", "irap_ascii": ".irap"}
logging.getLogger("xtgeo").setLevel(logging.WARNING)  # its INFO lines narrate its own internals


def regular_surface(grid: Grid, samples: np.ndarray, name: str) -> xtgeo.RegularSurface:
    """A surface of depths on the grid from an (inline, crossline) map of sample numbers (NaN: no salt there)."""
    depths = np.ma.masked_invalid(grid.depth(samples))
    return xtgeo.RegularSurface(
        ncol=len(grid.ilines),
        nrow=len(grid.xlines),
        xinc=grid.xinc,
        yinc=grid.yinc,
        xori=grid.xori,
        yori=grid.yori,
        yflip=grid.yflip,
        rotation=grid.rotation,
        values=depths,
        ilines=list(grid.ilines),
        xlines=list(grid.xlines),
        name=name,
    )


def write_surface(surface: xtgeo.RegularSurface, stem: Path, fmt: str) -> list[Path]:
    """The surface as `stem` + the format's suffix and as XYZ points (`stem`.xyz), each written whole or not at all."""
    grid_path, points_path = stem.with_name(stem.name + FORMATS[fmt]), stem.with_name(stem.name + ".xyz")
    with atomic_path(grid_path) as tmp:
        surface.to_file(tmp, fformat=fmt)
    with atomic_path(points_path) as tmp:
        xtgeo.points_from_surface(surface).to_file(tmp, fformat="xyz")
    return [grid_path, points_path]
