"""Where a volume's traces lie on the map and how far apart its samples are: the grid a surface is written on."""

from dataclasses import dataclass

import numpy as np
import segyio

from src.utils.errors import UserError


@dataclass(frozen=True)
class Grid:
    """A regular map grid over (inline, crossline), as xtgeo's RegularSurface takes it: the first trace at
    (xori, yori), inlines `xinc` apart along `rotation` (degrees anticlockwise from east), crosslines `yinc` apart at
    90 degrees to that (yflip -1: at -90), and the depth of sample k = zori + k * zinc (zinc None: samples)."""

    ilines: tuple
    xlines: tuple
    xori: float
    yori: float
    xinc: float
    yinc: float
    rotation: float
    yflip: int
    zori: float
    zinc: float | None

    def depth(self, samples: np.ndarray) -> np.ndarray:
        return self.zori + np.asarray(samples, np.float64) * (self.zinc if self.zinc is not None else 1.0)

    @property
    def voxel_m3(self) -> float | None:
        return None if self.zinc is None else self.xinc * self.yinc * self.zinc


def trace_xy(segy: segyio.SegyFile, index: int) -> np.ndarray:
    """CDP X/Y of a trace, with the header's coordinate scalar (negative: a divisor)."""
    header = segy.header[index]
    scalar = header[segyio.su.scalco] or 1
    factor = float(scalar) if scalar > 0 else 1.0 / -scalar
    return np.array([header[segyio.su.cdpx], header[segyio.su.cdpy]], np.float64) * factor


def grid_of(shape: tuple, geometry: str | None, spacing: dict, iline_byte: int = 189, xline_byte: int = 193) -> Grid:
    """The grid of a (inline, crossline, samples) cube: from the SEG-Y it was predicted from (`geometry`: its
    inline/crossline numbers and CDP X/Y), else from `spacing` ({inline, crossline} metres, origin 0, no
    rotation). spacing.sample (metres per sample) and spacing.depth_origin give depths; without them depths are
    sample numbers and volumes are not in m^3."""
    zori, zinc = float(spacing.get("depth_origin") or 0.0), spacing.get("sample")
    if geometry is None:
        if not spacing.get("inline") or not spacing.get("crossline"):
            raise UserError(
                "bodies need the survey's trace spacing: give geometry=<the SEG-Y the mask was predicted "
                "from>, or bodies.spacing.inline and bodies.spacing.crossline in metres"
            )
        return Grid(
            tuple(range(shape[0])),
            tuple(range(shape[1])),
            0.0,
            0.0,
            float(spacing["inline"]),
            float(spacing["crossline"]),
            0.0,
            1,
            zori,
            zinc,
        )
    if min(shape[:2]) < 2:
        raise UserError(
            f"a {tuple(shape)} cube has no neighbouring traces both ways to measure spacing from: give "
            "bodies.spacing.inline and bodies.spacing.crossline in metres, and no geometry"
        )
    try:
        segy = segyio.open(str(geometry), "r", iline=iline_byte, xline=xline_byte)
    except (OSError, RuntimeError) as error:
        raise UserError(
            f"geometry={geometry} cannot be read as a structured SEG-Y ({error}): give the SEG-Y the "
            "mask was predicted from, or bodies.spacing instead"
        ) from None
    with segy:
        if (len(segy.ilines), len(segy.xlines), len(segy.samples)) != tuple(shape):
            raise UserError(
                f"geometry={geometry} is {(len(segy.ilines), len(segy.xlines), len(segy.samples))} "
                f"(inline, crossline, samples), the mask is {tuple(shape)}: give the SEG-Y the mask "
                "was predicted from"
            )
        inline_sorted = segy.sorting == segyio.TraceSortingFormat.INLINE_SORTING
        first = trace_xy(segy, 0)
        along = trace_xy(segy, shape[1] if inline_sorted else 1) - first  # the next inline's first trace
        across = trace_xy(segy, 1 if inline_sorted else shape[0]) - first  # the next crossline's
        ilines, xlines = tuple(int(v) for v in segy.ilines), tuple(int(v) for v in segy.xlines)
    xinc, yinc = float(np.hypot(*along)), float(np.hypot(*across))
    if not xinc or not yinc:
        raise UserError(
            f"geometry={geometry} has no CDP X/Y that differ between neighbouring traces: give "
            "bodies.spacing.inline and bodies.spacing.crossline in metres, and no geometry"
        )
    yflip = 1 if along[0] * across[1] - along[1] * across[0] > 0 else -1
    rotation = float(np.degrees(np.arctan2(along[1], along[0])))
    return Grid(ilines, xlines, float(first[0]), float(first[1]), xinc, yinc, rotation, yflip, zori, zinc)
