"""Predicting an MDIO store in blocks of lines, so that any number of workers can share the work (one process:
src/tasks/predict.py; a Dask cluster: src/inference/cluster.py) and give the same answer as the one-machine path
that predicts a volume a line at a time (src/sections/prediction_files.py).

The work is a list of stages, each a set of independent blocks of whole lines along one axis, one chunk of
lines wide, so a block writes whole chunks of its arrays and no two blocks write the same chunk (no locks):
  predict along predict.axis (both: inlines, then crosslines averaged with them, as the one-machine path does),
  smooth across predict.smooth_lines lines along each axis (a block reads that many lines either side: its
  halo), then assemble the store's variables (probability, mask, uncertainty) along the inlines.
Each stage writes its own arrays in the store's `blocks` group, and each block, once written, sets its own
element (a chunk of one) of the stage's completion record, so a job killed and run again does only the blocks
not yet written. The arithmetic is the one-machine path's, line for line (src/sections/smoothing.py's
weighted_mean), so the answer does not depend on how the blocks are shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from src.sections.mdio_store import read_lines, write_lines
from src.sections.smoothing import line_weights, weighted_mean

WORK = "blocks"  # the group of a store under construction that holds the stages' arrays and records
SMOOTHED = ("raw", "probs")  # the maps smoothed across lines (the uncertainty is not, as on one machine)


@dataclass(frozen=True)
class Stage:
    """One pass over the volume. kind: predict | smooth | assemble; reads/writes: map -> work array name."""

    index: int
    kind: str
    axis: str
    reads: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kind} {self.axis}s"

    @property
    def record(self) -> str:
        return f"{WORK}/done.{self.index}"


@dataclass(frozen=True)
class Job:
    """What every block needs besides its lines: the store under construction, its shape, the amplitude-to-grey
    rule, the threshold and the smoothing radius."""

    store: str
    shape: tuple
    scaling: object
    threshold: float
    radius: int


@dataclass(frozen=True)
class Block:
    stage: Stage
    index: int
    start: int
    stop: int


def plan_stages(kinds, axis, radius) -> list[Stage]:
    """The stages of a prediction whose predictor gives `kinds`, along predict.axis `axis`, smoothed over
    `radius` lines (0: not smoothed)."""
    axes = ("inline", "crossline") if axis == "both" else (axis,)
    stages, current = [], {}
    for n, along in enumerate(axes):
        writes = {kind: f"{WORK}/{kind}.{len(stages)}" for kind in kinds}
        stages.append(Stage(len(stages), "predict", along, dict(current) if n else {}, writes))
        current = writes
    smoothed = [kind for kind in SMOOTHED if kind in kinds]
    for along in axes if radius > 0 else ():
        writes = {kind: f"{WORK}/{kind}.{len(stages)}" for kind in smoothed}
        stages.append(Stage(len(stages), "smooth", along, {kind: current[kind] for kind in smoothed}, writes))
        current = {**current, **writes}
    stages.append(Stage(len(stages), "assemble", "inline", current, {}))
    return stages


def stage_blocks(stage, shape, chunks) -> list[Block]:
    """A stage's blocks: one chunk of lines each along its axis."""
    dim = 0 if stage.axis == "inline" else 1
    step = chunks[dim]
    return [Block(stage, n, start, min(start + step, shape[dim])) for n, start in enumerate(range(0, shape[dim], step))]


def create_work_arrays(group, stages, shape, chunks) -> None:
    """The stages' arrays (float32, chunked like the amplitudes) and completion records (a chunk per block)."""
    for stage in stages:
        for name in stage.writes.values():
            if name not in group:
                group.create_array(name, shape=shape, chunks=chunks, dtype=np.float32, fill_value=0)
        blocks = len(stage_blocks(stage, shape, chunks))
        if stage.record not in group:
            group.create_array(stage.record, shape=(blocks,), chunks=(1,), dtype=bool, fill_value=False)
    if f"{WORK}/dead" not in group:  # samples without amplitude, counted by the first stage's blocks
        blocks = len(stage_blocks(stages[0], shape, chunks))
        group.create_array(f"{WORK}/dead", shape=(blocks,), chunks=(1,), dtype=np.int64, fill_value=0)
        group.create_array(f"{WORK}/salt", shape=(shape[0],), chunks=(chunks[0],), dtype=np.int64, fill_value=0)


def pending(group, stage, blocks) -> list[Block]:
    """The blocks of `stage` whose completion record is not set."""
    done = group[stage.record][:]
    return [block for block in blocks if not done[block.index]]


def predict_lines(volume, predictor, scaling, block) -> tuple[dict, int]:
    """The predictor's maps of the block's lines, each (lines, traces, samples), as the one-machine path makes
    them: a line at a time, samples without amplitude set to no salt; a line without a live trace is not
    predicted. Returns (maps, samples without amplitude)."""
    amplitudes = volume.block(block.stage.axis, block.start, block.stop)
    dead = ~np.isfinite(amplitudes)
    maps = {kind: np.zeros(amplitudes.shape, np.float32) for kind in predictor.kinds}
    for n, line in enumerate(amplitudes):
        if dead[n].all():
            continue
        for kind, section in predictor(scaling.apply(line).T).items():
            predicted = section.T  # sections are (samples, traces)
            predicted[dead[n]] = 0.0
            maps[kind][n] = predicted
    return maps, int(dead.sum())


def smoothed_lines(array, axis, start, stop, count, radius) -> np.ndarray:
    """Lines start..stop-1 of `array` along `axis`, each the weighted mean of the lines within `radius` of it
    (read with that halo), as smooth_across_lines makes them."""
    first, last = max(0, start - radius), min(count, stop + radius)
    lines = read_lines(array, axis, first, last)
    weights = line_weights(radius)
    out = np.empty((stop - start, *lines.shape[1:]), np.float32)
    for k in range(start, stop):
        low, high = max(0, k - radius), min(count - 1, k + radius)
        window = [lines[j - first] for j in range(low, high + 1)]
        out[k - start] = weighted_mean(window, weights[low - k + radius : high - k + radius + 1])
    return out


def run_block(volume, predictor, job: Job, block: Block) -> int:
    """Do one block and set its completion record. Returns what it counted: samples without amplitude (first
    stage), salty samples (assemble), else 0."""
    import zarr

    group = zarr.open_group(job.store, mode="r+")
    stage = block.stage
    counted = 0
    if stage.kind == "predict":
        maps, counted = predict_lines(volume, predictor, job.scaling, block)
        for kind, name in stage.writes.items():
            values = maps[kind]
            if kind in stage.reads:  # both directions: the mean of the crossline and the inline predictions
                values = 0.5 * (read_lines(group[stage.reads[kind]], stage.axis, block.start, block.stop) + values)
            write_lines(group[name], stage.axis, block.start, values)
        if stage.index == 0:
            group[f"{WORK}/dead"][block.index] = counted
    elif stage.kind == "smooth":
        count = job.shape[0 if stage.axis == "inline" else 1]
        for kind, name in stage.writes.items():
            values = smoothed_lines(group[stage.reads[kind]], stage.axis, block.start, block.stop, count, job.radius)
            write_lines(group[name], stage.axis, block.start, values)
    else:
        raw = read_lines(group[stage.reads["raw"]], "inline", block.start, block.stop)
        probs = (
            read_lines(group[stage.reads["probs"]], "inline", block.start, block.stop)
            if "probs" in stage.reads
            else raw
        )
        mask = raw > job.threshold
        group["probability"][block.start : block.stop] = probs
        group["mask"][block.start : block.stop] = mask.astype(np.uint8)
        if "uncertainty" in stage.reads:
            group["uncertainty"][block.start : block.stop] = read_lines(
                group[stage.reads["uncertainty"]], "inline", block.start, block.stop
            )
        salt = mask.sum(axis=(1, 2))
        group[f"{WORK}/salt"][block.start : block.stop] = salt
        counted = int(salt.sum())
    group[stage.record][block.index] = True
    return counted


def store_path(out) -> Path:
    """The MDIO store a prediction of an MDIO input writes: <out>.mdio."""
    out = Path(out)
    return out.with_name(out.name + ".mdio")
