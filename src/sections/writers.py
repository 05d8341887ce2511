"""Writing results in the input's form: SEG-Y with the source's headers, a structured SEG-Y of a cube, .npy;
each file written whole or not at all (src/utils/atomic.py)."""

from pathlib import Path

import numpy as np
import segyio

from src.utils.atomic import atomic_path


def write_segy_like(source, out, lines) -> Path:
    """A SEG-Y with the source's headers and geometry and IEEE float samples (format 5): `lines` yields the traces
    (n, samples) in the source's trace order, a line at a time (Volume.file_order) or all at once (Section)."""
    open_args = source.segy
    with segyio.open(str(source.path), "r", **open_args) as src:
        spec = segyio.tools.metadata(src)
        spec.format = 5  # an integer source format would truncate probabilities
        with atomic_path(out) as tmp:
            with segyio.create(str(tmp), spec) as dst:
                dst.text[0] = src.text[0]
                dst.bin = src.bin
                dst.bin.update(format=5)
                index = 0
                for traces in lines:
                    for trace in traces:
                        dst.header[index] = src.header[index]
                        dst.trace[index] = np.ascontiguousarray(trace, dtype=np.float32)
                        index += 1
    return out


def write_segy_volume(
    path, cube, ilines=None, xlines=None, sample_interval_us=4000, origin=(500000.0, 6000000.0), spacing=(25.0, 12.5)
) -> Path:
    """A structured, inline-sorted SEG-Y (IEEE floats) of a cube (inline, crossline, samples) with real geometry
    headers: inline and crossline numbers (bytes 189, 193), CDP X/Y on a grid (in centimetres: coordinate scalar
    -100), the sample interval."""
    n_il, n_xl, n_s = cube.shape
    ilines = np.arange(1000, 1000 + n_il) if ilines is None else np.asarray(ilines)
    xlines = np.arange(2000, 2000 + n_xl) if xlines is None else np.asarray(xlines)
    spec = segyio.spec()
    spec.iline, spec.xline, spec.format = 189, 193, 5
    spec.sorting = segyio.TraceSortingFormat.INLINE_SORTING
    spec.ilines, spec.xlines, spec.samples = list(ilines), list(xlines), list(range(n_s))
    with atomic_path(path) as tmp:
        with segyio.create(str(tmp), spec) as f:
            f.bin.update(hdt=sample_interval_us, hns=n_s)
            for i, il in enumerate(ilines):
                for j, xl in enumerate(xlines):
                    index = i * n_xl + j
                    f.header[index] = {
                        segyio.su.iline: int(il),
                        segyio.su.xline: int(xl),
                        segyio.su.scalco: -100,
                        segyio.su.cdpx: round(100 * (origin[0] + i * spacing[0])),
                        segyio.su.cdpy: round(100 * (origin[1] + j * spacing[1])),
                        segyio.su.dt: sample_interval_us,
                        segyio.su.ns: n_s,
                    }
                    f.trace[index] = np.ascontiguousarray(cube[i, j], dtype=np.float32)
    return Path(path)


def save_npy(array, out) -> None:
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
