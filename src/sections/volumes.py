"""Reading sections and volumes (PNG/TIFF, .npy, SEG-Y) and writing probabilities back in the same form.

Layout used throughout: a 2D section is an image, rows = depth/time, columns = traces; a 3D volume is
(inline, crossline, samples) as segyio's cube. SEG-Y files without clean inline/crossline geometry are read
with ignore_geometry=True as one section of traces in file order, and written back in that order.
"""
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import segyio

from src.utils.atomic import atomic_path
from src.utils.errors import UserError

IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".jpg", ".jpeg"}
SEGY_SUFFIXES = {".sgy", ".segy"}


@dataclass
class Seismic:
    data: np.ndarray                 # (H, W) section or (inline, crossline, samples) volume
    kind: str                        # image | npy | segy
    path: Path
    segy: dict = field(default_factory=dict)  # how to write back: structured, sorting, iline/xline bytes


def read_seismic(path, iline_byte=189, xline_byte=193):
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"input {path} not found: pass a PNG/TIFF image, a .npy array or a SEG-Y file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise UserError(f"cannot read image {path}: corrupt or not an image")
        return Seismic(image[..., 0] if image.ndim == 3 else image, "image", path)
    if suffix == ".npy":
        data = np.load(path, allow_pickle=False)
        if data.ndim not in (2, 3):
            raise UserError(f"{path} has shape {data.shape}: expected a 2D section (depth, traces) or a 3D "
                            "volume (inline, crossline, samples)")
        return Seismic(data, "npy", path)
    if suffix in SEGY_SUFFIXES:
        return read_segy(path, iline_byte, xline_byte)
    raise UserError(f"unknown input type {path.suffix} for {path}: use .png/.tif, .npy or .sgy/.segy")


def read_segy(path, iline_byte, xline_byte):
    try:
        with segyio.open(str(path), "r", iline=iline_byte, xline=xline_byte) as f:
            traces = f.trace.raw[:]
            inline_sorted = f.sorting == segyio.TraceSortingFormat.INLINE_SORTING
            shape = (len(f.ilines), len(f.xlines)) if inline_sorted else (len(f.xlines), len(f.ilines))
            if len(f.offsets) > 1 or shape[0] * shape[1] != len(traces):
                raise ValueError("pre-stack or irregular")
            cube = traces.reshape(*shape, -1)
            if not inline_sorted:
                cube = cube.transpose(1, 0, 2)
            return Seismic(cube, "segy", path, {"structured": True, "inline_sorted": inline_sorted,
                                                "iline": iline_byte, "xline": xline_byte})
    except (ValueError, RuntimeError, KeyError):
        pass  # no clean geometry: read as a line of traces
    try:
        with segyio.open(str(path), "r", ignore_geometry=True) as f:
            return Seismic(f.trace.raw[:].T, "segy", path, {"structured": False})
    except (ValueError, RuntimeError, OSError) as error:
        raise UserError(f"cannot read SEG-Y {path} ({error}): check the file, or set predict.iline_byte and "
                        "predict.xline_byte") from None


def write_segy_like(source, probs, out):
    """A SEG-Y with the source's headers and geometry, IEEE float samples (format 5) holding `probs`."""
    if source.segy.get("structured"):
        cube = probs if source.segy["inline_sorted"] else probs.transpose(1, 0, 2)
        traces = cube.reshape(-1, cube.shape[-1])
        open_args = {"iline": source.segy["iline"], "xline": source.segy["xline"]}
    else:
        traces = probs.T
        open_args = {"ignore_geometry": True}
    with segyio.open(str(source.path), "r", **open_args) as src:
        spec = segyio.tools.metadata(src)
        spec.format = 5  # an integer source format would truncate probabilities
        with atomic_path(out) as tmp:
            with segyio.create(str(tmp), spec) as dst:
                dst.text[0] = src.text[0]
                dst.bin = src.bin
                dst.bin.update(format=5)
                for i in range(src.tracecount):
                    dst.header[i] = src.header[i]
                    dst.trace[i] = np.ascontiguousarray(traces[i], dtype=np.float32)
    return out


def save_npy(array, out):
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)


def save_png(image_u8, out):
    with atomic_path(out) as tmp:
        if not cv2.imwrite(str(tmp) + ".png", image_u8):
            raise UserError(f"could not write {out}")
        Path(str(tmp) + ".png").replace(tmp)


def overlay(grey_u8, mask, alpha=0.4):
    """The section in grey with salt tinted red, for a person to look at."""
    rgb = np.repeat(grey_u8[..., None], 3, axis=2).astype(np.float32)
    red = np.array([40, 40, 230], np.float32)  # BGR for OpenCV
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * red
    return rgb.astype(np.uint8)
