"""Where a volume's traces lie on the map and how far apart its samples are: the grid a surface is written on."""

import logging
from dataclasses import dataclass

import numpy as np
import segyio

from src.utils.errors import UserError

log = logging.getLogger(__name__)
MICRO = 6  # decimals the fitted grid keeps (micrometres, micro-degrees): exact bins stay exact after the fit


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


def traces_xy(segy: segyio.SegyFile) -> np.ndarray:
    """CDP X/Y of every trace (traces, 2), each with its own coordinate scalar (negative: a divisor)."""
    scalar = segy.attributes(segyio.su.scalco)[:].astype(np.float64)
    factor = np.ones_like(scalar)
    factor[scalar > 0] = scalar[scalar > 0]
    factor[scalar < 0] = -1.0 / scalar[scalar < 0]
    xy = np.stack([segy.attributes(segyio.su.cdpx)[:], segy.attributes(segyio.su.cdpy)[:]], 1).astype(np.float64)
    return xy * factor[:, None]


def live_traces(segy: segyio.SegyFile, xy: np.ndarray) -> np.ndarray:
    """Which traces carry a position: not marked dead (trace identification code 2) and not at (0, 0) when others
    are placed."""
    live = segy.attributes(segyio.su.trid)[:] != 2
    placed = np.any(xy != 0, axis=1)
    return live & placed if placed[live].any() else live


def fit_grid(index: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of x, y = origin + inline index * along + crossline index * across over the traces ((N, 2)
    grid indices and positions); returns (origin, along, across, each trace's distance from the fit)."""
    design = np.column_stack([np.ones(len(index)), index.astype(np.float64)])
    solution = np.linalg.lstsq(design, xy, rcond=None)[0]
    residual = np.hypot(*(design @ solution - xy).T)
    return solution[0], solution[1], solution[2], residual


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
        xy = traces_xy(segy)
        live = live_traces(segy, xy)
        index = np.column_stack(
            [
                np.searchsorted(segy.ilines, segy.attributes(iline_byte)[:]),
                np.searchsorted(segy.xlines, segy.attributes(xline_byte)[:]),
            ]
        )
        ilines, xlines = tuple(int(v) for v in segy.ilines), tuple(int(v) for v in segy.xlines)
    return regular_grid(geometry, index[live], xy[live], ilines, xlines, zori, zinc)


def regular_grid(geometry, index, xy, ilines, xlines, zori, zinc) -> Grid:
    """The Grid fitted to the live traces' grid indices and positions, or one clear line when they do not form
    a regular grid of square-cornered bins (more than a quarter of a bin off it, or skewed by over a degree)."""
    if len(np.unique(index[:, 0])) < 2 or len(np.unique(index[:, 1])) < 2:
        raise UserError(
            f"geometry={geometry} has live traces on fewer than two inlines or crosslines, too few to measure "
            "spacing from: give bodies.spacing.inline and bodies.spacing.crossline in metres, and no geometry"
        )
    origin, along, across, residual = fit_grid(index, xy)
    xinc, yinc = float(np.hypot(*along)), float(np.hypot(*across))
    if min(xinc, yinc) < 1e-6:
        raise UserError(
            f"geometry={geometry} has no CDP X/Y that differ between neighbouring traces: give "
            "bodies.spacing.inline and bodies.spacing.crossline in metres, and no geometry"
        )
    skew = abs(90.0 - float(np.degrees(np.arccos(np.clip(along @ across / (xinc * yinc), -1, 1)))))
    if residual.max() > 0.25 * min(xinc, yinc) or skew > 1.0:
        raise UserError(
            f"geometry={geometry}'s CDP X/Y do not form a regular grid: the best fit of its {len(xy)} live "
            f"traces ({xinc:.2f} x {yinc:.2f} m bins) leaves one {residual.max():.1f} m off and its axes "
            f"{skew:.1f} degrees from square; check the coordinate bytes and scalar, or give bodies.spacing "
            "instead of geometry"
        )
    log.info(
        "survey grid fitted to %d live traces: %.3f x %.3f m bins, rotation %.3f degrees; traces off it by "
        "%.2f m rms, %.2f m at most",
        len(xy),
        xinc,
        yinc,
        float(np.degrees(np.arctan2(along[1], along[0]))),
        float(np.sqrt(np.mean(residual**2))),
        float(residual.max()),
    )
    yflip = 1 if along[0] * across[1] - along[1] * across[0] > 0 else -1
    rotation = float(np.degrees(np.arctan2(along[1], along[0])))
    x, y, xinc, yinc, rotation = (round(float(v), MICRO) for v in (*origin, xinc, yinc, rotation))
    return Grid(ilines, xlines, x, y, xinc, yinc, rotation, yflip, zori, zinc)
