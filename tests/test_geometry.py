"""The map grid of a SEG-Y is fitted to all its live traces: real-world coordinates (integer metres, centimetres),
rotations, flipped crossline axes and either trace sorting give the survey's bins and corners, and traces that do
not form a grid are one clear line."""

import math

import numpy as np
import pytest
import segyio

from src.interpretation.geometry import grid_of
from src.utils.errors import UserError

SHAPE = (60, 40, 4)  # inlines, crosslines, samples
ORIGIN = (500000.0, 6000000.0)


def corner(i, j, dx, dy, rotation, flip):
    """The map position of grid node (i, j): inlines dx apart along `rotation`, crosslines dy apart at +-90."""
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    return ORIGIN[0] + i * dx * c - flip * j * dy * s, ORIGIN[1] + i * dx * s + flip * j * dy * c


def write_survey(path, dx, dy, rotation, scalar, flip=1, inline_sorted=True, jitter=0.0, dead=()):
    """A structured SEG-Y on that grid, its CDP X/Y stored with coordinate scalar `scalar` (1: whole metres,
    -100: centimetres), traces in inline or crossline order, `dead` (i, j) traces marked dead at (0, 0)."""
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format = 189, 193, 5
    spec.sorting = (
        segyio.TraceSortingFormat.INLINE_SORTING if inline_sorted else segyio.TraceSortingFormat.CROSSLINE_SORTING
    )
    spec.ilines, spec.xlines, spec.samples = (
        list(range(1, SHAPE[0] + 1)),
        list(range(10, 10 + SHAPE[1])),
        list(range(SHAPE[2])),
    )
    nodes = [(i, j) for i in range(SHAPE[0]) for j in range(SHAPE[1])]
    if not inline_sorted:
        nodes = sorted(nodes, key=lambda ij: (ij[1], ij[0]))
    noise = np.random.default_rng(0).uniform(-jitter, jitter, (len(nodes), 2))
    units = 1 if scalar == 1 else -scalar
    with segyio.create(str(path), spec) as f:
        for k, (i, j) in enumerate(nodes):
            x, y = np.array(corner(i, j, dx, dy, rotation, flip)) + noise[k]
            header = {segyio.su.iline: i + 1, segyio.su.xline: 10 + j, segyio.su.scalco: scalar}
            if (i, j) in dead:
                header |= {segyio.su.trid: 2, segyio.su.cdpx: 0, segyio.su.cdpy: 0}
            else:
                header |= {segyio.su.cdpx: round(x * units), segyio.su.cdpy: round(y * units)}
            f.header[k] = header
            f.trace[k] = np.zeros(SHAPE[2], np.float32)
    return path


@pytest.mark.parametrize(
    "scalar, rotation, flip, inline_sorted",
    [
        (1, 31.7, 1, True),  # whole metres: one neighbour pair is off by the rounding, the whole grid is not
        (1, -58.0, -1, False),
        (-100, 120.0, 1, False),
        (-100, 0.0, -1, True),
    ],
)
def test_the_grid_is_fitted_to_every_trace(tmp_path, scalar, rotation, flip, inline_sorted):
    path = write_survey(
        tmp_path / "survey.sgy", 25.0, 12.5, rotation, scalar, flip, inline_sorted, dead={(0, 0), (0, 1)}
    )
    grid = grid_of(SHAPE, path, {"sample": 4.0})
    assert grid.xinc == pytest.approx(25.0, abs=0.01) and grid.yinc == pytest.approx(12.5, abs=0.01)
    assert (grid.rotation - rotation + 180) % 360 - 180 == pytest.approx(0, abs=0.01)
    assert grid.yflip == flip
    assert grid.voxel_m3 == pytest.approx(25.0 * 12.5 * 4.0, rel=1e-3)
    far = corner(SHAPE[0] - 1, SHAPE[1] - 1, 25.0, 12.5, rotation, flip)
    c, s = math.cos(math.radians(grid.rotation)), math.sin(math.radians(grid.rotation))
    i, j = SHAPE[0] - 1, SHAPE[1] - 1
    fitted = (
        grid.xori + i * grid.xinc * c - grid.yflip * j * grid.yinc * s,
        grid.yori + i * grid.xinc * s + grid.yflip * j * grid.yinc * c,
    )
    assert math.dist(far, fitted) < 1.0  # metres, at the far corner (the dead first trace is not the origin used)


def test_traces_that_do_not_form_a_grid_are_one_clear_line(tmp_path):
    path = write_survey(tmp_path / "survey.sgy", 25.0, 12.5, 10.0, -100, jitter=8.0)
    with pytest.raises(UserError, match=r"do not form a regular grid: .* live traces .* m off"):
        grid_of(SHAPE, path, {})
