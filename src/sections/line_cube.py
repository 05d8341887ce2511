"""A cube written and read a line at a time, whatever its size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from src.sections.mdio_store import StoreCube, is_mdio
from src.utils.errors import UserError


class LineCube:
    """A .npy cube on disk (inline, crossline, samples) written and read a line at a time with plain file I/O, so
    neither the cube nor a memory map of it is held in memory (a map's pages would count in the process's
    resident memory as it reads through the cube)."""

    def __init__(self, path, shape, dtype=np.float32) -> None:
        self.path, self.shape, self.dtype = Path(path), tuple(shape), np.dtype(dtype)
        with open(self.path, "wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": self.dtype.str, "fortran_order": False, "shape": self.shape}
            )
            self.header = handle.tell()
            handle.truncate(self.header + int(np.prod(self.shape)) * self.dtype.itemsize)
        self.handle = open(self.path, "r+b")

    @classmethod
    def existing(cls, path: str | Path) -> LineCube:
        """An existing .npy cube opened to be read a line at a time; ValueError when the file is not a C-ordered
        3D .npy array of plain numbers."""
        cube = cls.__new__(cls)
        cube.path = Path(path)
        cube.handle = open(cube.path, "rb")
        try:
            version = np.lib.format.read_magic(cube.handle)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(cube.handle)
            if fortran_order or len(shape) != 3 or dtype.hasobject:
                raise ValueError(f"a {len(shape)}-D {dtype} array{' in Fortran order' if fortran_order else ''}")
        except Exception:
            cube.handle.close()
            raise
        cube.shape, cube.dtype, cube.header = tuple(shape), dtype, cube.handle.tell()
        return cube

    def _trace_offset(self, i, j) -> int:
        return self.header + (i * self.shape[1] + j) * self.shape[2] * self.dtype.itemsize

    def write(self, axis, k, values) -> None:
        """values: (crossline, samples) for an inline, (inline, samples) for a crossline."""
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if axis == "inline":
            self.handle.seek(self._trace_offset(k, 0))
            self.handle.write(values.tobytes())
            return
        for i, trace in enumerate(values):
            self.handle.seek(self._trace_offset(i, k))
            self.handle.write(trace.tobytes())

    def read(self, axis, k) -> np.ndarray:
        if axis == "inline":
            self.handle.seek(self._trace_offset(k, 0))
            count = self.shape[1] * self.shape[2]
            return np.frombuffer(self.handle.read(count * self.dtype.itemsize), self.dtype).reshape(self.shape[1:])
        out = np.empty((self.shape[0], self.shape[2]), self.dtype)
        for i in range(self.shape[0]):
            self.handle.seek(self._trace_offset(i, k))
            out[i] = np.frombuffer(self.handle.read(self.shape[2] * self.dtype.itemsize), self.dtype)
        return out

    def close(self) -> None:
        self.handle.close()


def open_user_cube(path: Path, key: str, holds: str, what: str, variable: str) -> LineCube | StoreCube:
    """The existing .npy cube a user named in setting `key` (an MDIO store: its `variable`), or one clear error:
    missing, or not a 3D cube of plain numbers. holds: what it should hold, for the error (e.g. "mask (bool) or
    probability (float)"); what: what to pass instead (e.g. "predict.py's <out>.mask.npy")."""
    if is_mdio(path):
        return StoreCube(path, variable, key)
    if not path.is_file():
        raise UserError(f"{key}={path} not found: pass {what}")
    try:
        return LineCube.existing(path)
    except (ValueError, OSError) as error:
        raise UserError(
            f"{key}={path} is not a 3D {holds} cube (inline, crossline, samples) ({error}): pass {what}"
        ) from None
