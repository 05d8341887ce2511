"""A prediction of an MDIO store, written as an MDIO store: <out>.mdio with the input's grid, headers and
trace_mask and variables probability, mask and uncertainty, built in <out>.mdio.partial and renamed when whole.
A partial store left by a killed job, made with the same settings, is taken up where it stopped."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from src.inference.line_blocks import WORK, Job, create_work_arrays, pending, plan_stages, stage_blocks, store_path
from src.sections.mdio_store import create_prediction_store, replace_directory
from src.utils.plots import save_line_preview

log = logging.getLogger(__name__)


def open_partial(volume, partial, kinds, provenance) -> tuple[object, bool]:
    """(the store under construction, whether it was taken up): an existing partial store made with the same
    `provenance` is resumed, any other is started anew."""
    import zarr

    if partial.is_dir():
        try:
            group = zarr.open_group(str(partial), mode="r+")
            if group.attrs.get("salt_prediction") == provenance and WORK in group:
                return group, True
        except Exception:  # noqa: BLE001 - whatever a half-written folder is, it is started anew
            pass
        shutil.rmtree(partial)
    outputs = ("probability", "mask", *(("uncertainty",) if "uncertainty" in kinds else ()))
    create_prediction_store(volume, partial, outputs, {"salt_prediction": json.dumps(provenance)})
    group = zarr.open_group(str(partial), mode="r+")
    group.attrs["salt_prediction"] = provenance
    return group, False


def predict_store(
    volume, runner, predictor_kinds, scaling, threshold, settings, out, provenance, preview
) -> tuple[Path, float, int, int]:
    """Predict the MDIO `volume` block by block with `runner` (in this process or on a cluster), written to
    <out>.mdio, and a picture of its saltiest inline to `preview`. `provenance`: what made it (JSON-able),
    stored in the dataset and compared on a restart. Returns (the store, salt share, samples without amplitude,
    blocks skipped as already written)."""
    final = store_path(out)
    partial = final.with_name(final.name + ".partial")
    group, resumed = open_partial(volume, partial, predictor_kinds, provenance)
    stages = plan_stages(predictor_kinds, settings.axis, settings.smooth_lines)
    create_work_arrays(group, stages, volume.shape, volume.chunks)
    job = Job(str(partial), volume.shape, scaling, threshold, settings.smooth_lines)
    skipped = total = 0
    for stage in stages:
        blocks = stage_blocks(stage, volume.shape, volume.chunks)
        todo = pending(group, stage, blocks)
        skipped, total = skipped + len(blocks) - len(todo), total + len(blocks)
        if todo:
            runner.run(job, todo, desc=stage.name)
    if resumed:
        log.info("took up %s: %d of %d blocks were already written and were skipped", partial, skipped, total)
    salt_per_inline = group[f"{WORK}/salt"][:]
    dead = int(group[f"{WORK}/dead"][:].sum())
    shown = int(np.argmax(salt_per_inline))  # the first of the saltiest
    save_line_preview(
        preview,
        scaling.apply(volume.line("inline", shown)).T,
        np.asarray(group["probability"][shown]).T,
        np.asarray(group["uncertainty"][shown]).T if "uncertainty" in group else None,
        f"inline {volume.ilines[shown]} (most salt)",
    )
    shutil.rmtree(Path(partial) / WORK)
    replace_directory(partial, final)
    return final, float(salt_per_inline.sum()) / float(np.prod(volume.shape)), dead, skipped
