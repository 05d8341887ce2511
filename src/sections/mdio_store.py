"""MDIO, TGS's chunked seismic store (SEG-Y <-> Zarr v3 with the trace headers), through MDIO's own API: SEG-Y
in (`segy_to_mdio`) and out (`mdio_to_segy`), a store read as a Volume, and the store a prediction writes beside
it (the input's grid, headers and trace_mask; probability, mask and uncertainty chunked like the amplitudes).

MDIO reads its settings from environment variables (MDIO__IMPORT__...), so ingest sets those it needs for the
call. Its ingest and export run in processes on this machine.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from src.sections.scaling import trace_picks
from src.utils.errors import UserError

AMPLITUDE = "amplitude"
NEEDED = (AMPLITUDE, "trace_mask", "headers")  # what a store must hold to be predicted and written back
PREDICTIONS = {"probability": np.float32, "mask": np.uint8, "uncertainty": np.float32}


def is_mdio(path) -> bool:
    return Path(path).suffix.lower() == ".mdio"


def segy_spec(iline_byte, xline_byte, sample_format=None) -> object:
    """SEG-Y rev 1 with the inline and crossline numbers (and CDP X/Y) where this file keeps them; `sample_format`:
    the binary header's sample format code, for writing (MDIO writes the spec's format, whatever the header says)."""
    from segy.schema import HeaderField
    from segy.schema.format import ScalarType
    from segy.schema.trace import TraceDataSpec
    from segy.standards import get_segy_standard
    from segy.standards.codes import DataSampleFormatCode

    fields = [
        HeaderField(name="inline", byte=iline_byte, format="int32"),
        HeaderField(name="crossline", byte=xline_byte, format="int32"),
        HeaderField(name="cdp_x", byte=181, format="int32"),
        HeaderField(name="cdp_y", byte=185, format="int32"),
    ]
    data = None
    if sample_format is not None:
        data = TraceDataSpec(format=ScalarType[DataSampleFormatCode(int(sample_format)).name])
    return get_segy_standard(1.0).customize(trace_header_fields=fields, trace_data_spec=data)


@contextmanager
def mdio_environment(cpus) -> None:
    """MDIO's settings for one call: keep the SEG-Y text and binary headers (so the store goes back to SEG-Y)
    and use `cpus` processes; the environment is restored afterwards."""
    wanted = {
        "MDIO__IMPORT__SAVE_SEGY_FILE_HEADER": "true",
        "MDIO__IMPORT__CPU_COUNT": str(cpus),
        "MDIO__EXPORT__CPU_COUNT": str(cpus),
    }
    before = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def segy_to_store(segy, out, iline_byte=189, xline_byte=193, chunks=(128, 128, 128), domain="time", cpus=None) -> Path:
    """A post-stack 3D SEG-Y -> an MDIO store at `out` (written beside it, then renamed: an existing `out` is
    replaced only by a finished store)."""
    from mdio import segy_to_mdio
    from mdio.builder.template_registry import get_template

    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    template = get_template(f"PostStack3D{domain.capitalize()}")
    template.full_chunk_shape = tuple(int(c) for c in chunks)
    try:
        with mdio_environment(cpus or os.cpu_count()):
            segy_to_mdio(segy_spec(iline_byte, xline_byte), template, Path(segy), partial, overwrite=True)
    except Exception as error:  # MDIO and segy raise their own types for files they cannot grid
        shutil.rmtree(partial, ignore_errors=True)
        raise UserError(
            f"cannot ingest SEG-Y {segy} into MDIO ({type(error).__name__}: {error}): check that it is a post-stack "
            "3D volume, and its inline/crossline header bytes (iline_byte, xline_byte)"
        ) from None
    ascii_text_header(partial)
    replace_directory(partial, out)
    return out


def ascii_text_header(store) -> None:
    """Characters of the SEG-Y text header that did not decode (segyio's own default header ends in one) become
    spaces, or MDIO's export refuses the header later."""
    import zarr

    attrs = zarr.open_group(str(store), mode="r+")["segy_file_header"].attrs
    text = attrs["textHeader"]
    clean = "".join(c if c.isascii() else " " for c in text)
    if clean != text:
        attrs["textHeader"] = clean


def store_to_segy(store, out, iline_byte=189, xline_byte=193, cpus=None) -> Path:
    """An MDIO store (its default variable: the amplitudes, or a prediction's probability) -> SEG-Y with the headers
    the store keeps, written to a temporary name and renamed."""
    from mdio import mdio_to_segy

    from src.utils.atomic import atomic_path

    dataset = open_store(store, option="input", variable=None)
    sample_format = dataset["segy_file_header"].attrs["binaryHeader"]["data_sample_format"]
    dataset.close()
    with atomic_path(out) as tmp, mdio_environment(cpus or os.cpu_count()):
        mdio_to_segy(segy_spec(iline_byte, xline_byte, sample_format), Path(store), Path(tmp))
    return Path(out)


def replace_directory(new, target) -> None:
    """`new` takes `target`'s name; an old `target` is moved aside first and removed only after the rename."""
    new, target = Path(new), Path(target)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def open_store(path, option="input", variable=AMPLITUDE) -> object:
    """The MDIO store at `path` as a lazy xarray Dataset, or one clear line: missing, not MDIO, or without what
    prediction needs (`variable`, None: the store's default one; trace_mask, headers)."""
    from mdio import open_mdio

    path = Path(path).expanduser()
    if not path.is_dir():
        raise UserError(f"{option}={path} not found: pass an MDIO store (python ingest.py input=volume.sgy out={path})")
    try:
        dataset = open_mdio(path)
    except Exception as error:  # zarr and xarray raise many types for a folder that is not a store
        raise UserError(
            f"{option}={path} is not an MDIO store ({type(error).__name__}): make one with python ingest.py "
            f"input=volume.sgy out={path}"
        ) from None
    variable = variable or dataset.attrs.get("attributes", {}).get("defaultVariableName", AMPLITUDE)
    missing = [name for name in (variable, *NEEDED[1:]) if name not in dataset.variables]
    if missing:
        raise UserError(
            f"{option}={path} is a Zarr store without {', '.join(missing)}: it is not an MDIO post-stack volume; "
            f"make one with python ingest.py input=volume.sgy out={path}"
        )
    if dataset[variable].ndim != 3:
        raise UserError(
            f"{option}={path} holds a {dataset[variable].ndim}-D {variable}: expected a 3D post-stack volume"
        )
    return dataset


class MdioVolume:
    """An MDIO store read like a Volume (src/sections/readers.py): lines (inline, crossline, samples) on demand,
    dead traces (trace_mask false) as NaN, which prediction counts and leaves without salt."""

    kind = "mdio"

    def __init__(self, path, option="input") -> None:
        import zarr

        self.path = Path(path)
        self.dataset = open_store(self.path, option)
        self.amplitude = zarr.open_array(str(self.path / AMPLITUDE), mode="r")
        self.trace_mask = np.asarray(self.dataset["trace_mask"].values, dtype=bool)
        dims = self.dataset[AMPLITUDE].dims
        self.ilines = np.asarray(self.dataset[dims[0]].values)
        self.xlines = np.asarray(self.dataset[dims[1]].values)
        self.shape = tuple(self.amplitude.shape)
        self.chunks = tuple(self.amplitude.chunks)
        self.segy = {}

    def line(self, axis, k) -> np.ndarray:
        return self.block(axis, k, k + 1)[0]

    def block(self, axis, start, stop) -> np.ndarray:
        """Lines start..stop-1 along `axis` as (lines, traces, samples) float32, dead traces NaN."""
        return dead_as_nan(
            read_lines(self.amplitude, axis, start, stop), read_lines(self.trace_mask, axis, start, stop)
        )

    def sample_traces(self, n=2000, seed=0) -> np.ndarray:
        """Up to `n` live traces (n, samples), the same picks as a Volume of the same grid when none is dead."""
        picks = trace_picks(self.shape, n, seed)
        inline, crossline = picks // self.shape[1], picks % self.shape[1]
        live = self.trace_mask[inline, crossline]
        if not live.any():
            raise UserError(f"{self.path}: its trace_mask marks every trace dead: nothing to predict")
        samples = np.arange(self.shape[2])[None, :]
        traces = self.amplitude.vindex[inline[live][:, None], crossline[live][:, None], samples]
        return np.asarray(traces, dtype=np.float32)

    @property
    def file_order(self) -> tuple[str, int]:
        return "inline", self.shape[0]

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self) -> MdioVolume:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class StoreCube:
    """One variable of an MDIO store (a prediction's mask, probability or uncertainty) read a line at a time, as a
    LineCube (src/sections/line_cube.py) is; `option` names the setting in messages."""

    def __init__(self, path, variable, option="input") -> None:
        import zarr

        self.path = Path(path).expanduser()
        self.dataset = open_store(self.path, option, variable)
        self.array = zarr.open_array(str(self.path / variable), mode="r")
        self.shape, self.dtype = tuple(self.array.shape), self.array.dtype

    def read(self, axis, k) -> np.ndarray:
        return read_lines(self.array, axis, k, k + 1)[0]

    def live_positions(self) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
        """(grid indices (N, 2), CDP X/Y (N, 2), inline numbers, crossline numbers) of the live traces: the map
        grid of a store, as a structured SEG-Y's headers give it."""
        live = np.asarray(self.dataset["trace_mask"].values, dtype=bool)
        xy = np.stack([self.dataset["cdp_x"].values[live], self.dataset["cdp_y"].values[live]], 1)
        dims = self.dataset["trace_mask"].dims
        numbers = tuple(tuple(int(v) for v in self.dataset[dim].values) for dim in dims)
        return np.argwhere(live), xy.astype(np.float64), *numbers

    def close(self) -> None:
        self.dataset.close()


def read_lines(array, axis, start, stop) -> np.ndarray:
    """Lines start..stop-1 along `axis` (inline: the first dimension, crossline: the second) of a zarr or numpy
    array, the lines first: (lines, traces[, samples])."""
    return np.asarray(array[start:stop] if axis == "inline" else np.moveaxis(array[:, start:stop], 1, 0))


def write_lines(array, axis, start, values) -> None:
    stop = start + len(values)
    if axis == "inline":
        array[start:stop] = values
    else:
        array[:, start:stop] = np.moveaxis(values, 0, 1)


def dead_as_nan(values, live) -> np.ndarray:
    values = np.array(values, dtype=np.float32)
    values[~np.asarray(live, dtype=bool)] = np.nan
    return values


def create_prediction_store(volume: MdioVolume, path, kinds, attributes) -> dict:
    """A new MDIO store at `path`: the input's grid, coordinates, headers, trace_mask and SEG-Y file headers, and
    empty variables `kinds` (of PREDICTIONS) chunked like the amplitudes, with `attributes` (what made them) on
    each; `probability` is its default variable, so its SEG-Y export writes the probabilities. Returns the zarr
    arrays by name."""
    import zarr
    from mdio import to_mdio

    copied = volume.dataset.drop_vars([AMPLITUDE, *(["raw_headers"] if "raw_headers" in volume.dataset else [])])
    copied.attrs["attributes"] = {**copied.attrs.get("attributes", {}), "defaultVariableName": "probability"}
    to_mdio(copied, Path(path), mode="w")
    group = zarr.open_group(str(path), mode="r+")
    dims = list(volume.dataset[AMPLITUDE].dims)
    coordinates = volume.dataset[AMPLITUDE].encoding.get("coordinates")
    arrays = {}
    for kind in kinds:
        arrays[kind] = group.create_array(
            kind,
            shape=volume.shape,
            chunks=volume.chunks,
            dtype=PREDICTIONS[kind],
            fill_value=0,
            dimension_names=dims,
            attributes={**attributes, **({"coordinates": coordinates} if coordinates else {})},
        )
    return arrays
