"""Reading sections and volumes (PNG/TIFF, .npy, SEG-Y) a line at a time, so that memory stays far below the size
of a large volume (results go back in the same form: src/sections/writers.py).

Layout used throughout: a 2D section is an image, rows = depth/time, columns = traces; a 3D volume is
(inline, crossline, samples) as segyio's cube. A 2D input (image, .npy section, a SEG-Y with one inline or one
crossline, or a SEG-Y without clean geometry, read as traces in file order) is held in memory as a Section; a
3D one (.npy memory-mapped, structured SEG-Y) is a Volume read line by line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import segyio

from src.data.io import grey_levels
from src.sections.mdio_store import MdioVolume, is_mdio
from src.sections.scaling import trace_picks
from src.utils.errors import UserError

IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".jpg", ".jpeg"}
SEGY_SUFFIXES = {".sgy", ".segy"}
AXES = ("inline", "crossline")


@dataclass
class Section:
    data: np.ndarray  # (samples, traces)
    kind: str  # image | npy | segy
    path: Path
    segy: dict = field(default_factory=dict)  # SEG-Y geometry to write back: iline/xline bytes or ignore_geometry


class Volume:
    """A 3D cube (inline, crossline, samples), memory-mapped (.npy) or read from a structured SEG-Y on demand."""

    def __init__(self, path, iline_byte=189, xline_byte=193) -> None:
        self.path = Path(path)
        self.kind = "npy" if self.path.suffix.lower() == ".npy" else "segy"
        self.segy = {"iline": iline_byte, "xline": xline_byte}
        if self.kind == "npy":
            self._array = np.load(self.path, mmap_mode="r")
            self.shape = self._array.shape
            self.ilines, self.xlines = np.arange(self.shape[0]), np.arange(self.shape[1])
        else:
            self._file = segyio.open(str(self.path), "r", iline=iline_byte, xline=xline_byte)
            self.ilines, self.xlines = np.asarray(self._file.ilines), np.asarray(self._file.xlines)
            self.shape = (len(self.ilines), len(self.xlines), len(self._file.samples))
            self.inline_sorted = self._file.sorting == segyio.TraceSortingFormat.INLINE_SORTING

    def line(self, axis, k) -> np.ndarray:
        """The k-th (0-based) inline (crossline, samples) or crossline (inline, samples) as float32."""
        if self.kind == "npy":
            return np.asarray(self._array[k] if axis == "inline" else self._array[:, k], dtype=np.float32)
        lines = self._file.iline if axis == "inline" else self._file.xline
        return np.asarray(lines[(self.ilines if axis == "inline" else self.xlines)[k]], dtype=np.float32)

    def sample_traces(self, n=2000, seed=0) -> np.ndarray:
        """Up to `n` traces (n, samples) drawn evenly at random, for amplitude statistics."""
        picks = trace_picks(self.shape, n, seed)
        if self.kind == "npy":
            return np.stack([np.asarray(self._array[i // self.shape[1], i % self.shape[1]]) for i in picks])
        trace_of = (
            (lambda i: i)
            if self.inline_sorted
            else (lambda i: (i % self.shape[1]) * self.shape[0] + i // self.shape[1])
        )
        return np.stack([self._file.trace[int(trace_of(i))] for i in picks])

    @property
    def file_order(self) -> Iterator[np.ndarray]:
        """(axis, count): the lines whose traces follow one another in the file."""
        axis = "inline" if self.kind == "npy" or self.inline_sorted else "crossline"
        return axis, self.shape[0] if axis == "inline" else self.shape[1]

    def close(self) -> None:
        if self.kind == "segy":
            self._file.close()

    def __enter__(self) -> Volume:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_volume(path, iline_byte=189, xline_byte=193, option="data.survey.seismic") -> Volume | MdioVolume:
    """A 3D volume known to be one (a survey's seismic or label cube): .npy, structured SEG-Y or MDIO store."""
    return MdioVolume(Path(path).expanduser(), option) if is_mdio(path) else Volume(path, iline_byte, xline_byte)


def check_input(path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"input {path} not found: pass a PNG/TIFF image, a .npy array, a SEG-Y file or an MDIO store")
    return path


def open_seismic(path, iline_byte=189, xline_byte=193, option="predict") -> Section | Volume | MdioVolume:
    """A Section (2D, in memory) or a Volume (3D, read a line at a time; an MDIO store: MdioVolume) for any
    supported input. `option`: the config prefix of the header bytes, for the error messages (predict or
    data.survey)."""
    if is_mdio(path):
        return MdioVolume(Path(path).expanduser(), "input" if option == "predict" else f"{option}.seismic")
    path = check_input(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise UserError(f"cannot read image {path}: corrupt or not an image")
        return checked_section(Section(grey_levels(image), "image", path))
    if suffix == ".npy":
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as error:
            raise UserError(f"cannot read {path} ({error}): save it with numpy.save") from None
        if data.ndim == 2:
            return checked_section(Section(np.asarray(data), "npy", path))
        if data.ndim == 3:
            return Volume(path)
        raise UserError(
            f"{path} has shape {data.shape}: expected a 2D section (depth, traces) or a 3D "
            "volume (inline, crossline, samples)"
        )
    if suffix in SEGY_SUFFIXES:
        return open_segy(path, iline_byte, xline_byte, option)
    raise UserError(f"unknown input type {path.suffix} for {path}: use .png/.tif, .npy, .sgy/.segy or .mdio")


def checked_section(section) -> Section:
    """A section with samples to predict, else one clear error."""
    if section.data.size == 0:
        raise UserError(f"{section.path} holds an empty section (shape {section.data.shape}): nothing to predict")
    if not np.issubdtype(section.data.dtype, np.number) or section.data.dtype == np.bool_:
        raise UserError(f"{section.path} holds {section.data.dtype} values, not amplitudes or grey levels")
    return section


def open_segy(path, iline_byte, xline_byte, option="predict") -> Section | Volume:
    """A structured SEG-Y as a Volume, or a Section when it holds one line; without geometry in its headers (or
    pre-stack), a Section of its traces in file order. Headers that name a 3D grid the traces do not fill in order
    are refused with the reason, never read as one long 2D line."""
    try:
        with segyio.open(str(path), "r", iline=iline_byte, xline=xline_byte) as f:
            if len(f.offsets) > 1:
                raise ValueError("pre-stack")
            if len(f.ilines) > 1 and len(f.xlines) > 1:
                structured = True
            else:  # a 2D line: one inline or one crossline
                return Section(f.trace.raw[:].T, "segy", path, {"iline": iline_byte, "xline": xline_byte})
    except (ValueError, RuntimeError, KeyError):
        structured = False
    if structured:
        return Volume(path, iline_byte, xline_byte)
    try:
        with segyio.open(str(path), "r", ignore_geometry=True) as f:
            problem = grid_problem(f.attributes(iline_byte)[:], f.attributes(xline_byte)[:], iline_byte, xline_byte)
            if problem is None:
                return Section(f.trace.raw[:].T, "segy", path, {"ignore_geometry": True})
    except (ValueError, RuntimeError, OSError, KeyError) as error:
        raise UserError(
            f"cannot read SEG-Y {path} ({error}): check the file, or set {option}.iline_byte and {option}.xline_byte"
        ) from None
    raise UserError(
        f"SEG-Y {path}: {problem}. A volume is read when each trace of its grid is there once, sorted by "
        f"inline or by crossline: regularise it in your software, or set {option}.iline_byte and "
        f"{option}.xline_byte if its line numbers are in other header bytes"
    )


def grid_problem(ilines, xlines, iline_byte, xline_byte) -> str | None:
    """Why a SEG-Y whose traces carry these inline and crossline numbers (one per trace, in file order) is not a
    regular volume (missing or repeated traces, or an order that is neither inline nor crossline sorting); None
    when they name no grid (one line, or no line numbers)."""
    ilines, xlines = np.asarray(ilines), np.asarray(xlines)
    n_il, n_xl = len(np.unique(ilines)), len(np.unique(xlines))
    if n_il < 2 or n_xl < 2:
        return None
    grid = (
        f"its headers (bytes {iline_byte}, {xline_byte}) name {n_il} inlines x {n_xl} crosslines = {n_il * n_xl} traces"
    )
    pairs = len(set(zip(ilines.tolist(), xlines.tolist())))
    if pairs < len(ilines):
        return f"{grid}, but {len(ilines) - pairs} traces repeat an (inline, crossline) pair"
    if pairs < n_il * n_xl:
        return f"{grid}, but {n_il * n_xl - pairs} of them are missing"
    return f"{grid}, all there, but not sorted by inline or by crossline"
