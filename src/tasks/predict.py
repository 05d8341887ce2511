"""The predict task: salt probabilities for whole sections and volumes, written back in the input's form."""
import json
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.inference.backends import build_backend, needs_depth
from src.sections.scaling import amplitude_to_grey
from src.sections.tiling import section_probs
from src.sections.volumes import overlay, read_seismic, save_npy, save_png, write_segy_like
from src.utils.atomic import write_text
from src.utils.errors import UserError

log = logging.getLogger(__name__)


def depth_function(backend, p):
    if not any(needs_depth(pre) for pre in backend.preprocesses):
        return lambda row: 0.0
    if p.depth_origin is None or p.depth_step is None:
        raise UserError("this model uses the depth channel: pass predict.depth_origin (depth of the first row) "
                        "and predict.depth_step (depth per row), in the units of the training depths.csv")
    return lambda row: p.depth_origin + row * p.depth_step


def sections_of(volume, axis):
    """(sections as (depth, traces) images, a function putting predicted sections back into a volume)."""
    if axis == "inline":
        return [volume[i].T for i in range(volume.shape[0])], lambda s: np.stack([x.T for x in s], axis=0)
    if axis == "crossline":
        return [volume[:, j].T for j in range(volume.shape[1])], lambda s: np.stack([x.T for x in s], axis=1)
    raise UserError(f"predict.axis={axis} is not one of inline, crossline, both")


def predict_volume(grey, predict_one, axis):
    if axis == "both":
        return 0.5 * (predict_volume(grey, predict_one, "inline") + predict_volume(grey, predict_one, "crossline"))
    sections, assemble = sections_of(grey, axis)
    return assemble([predict_one(s) for s in tqdm(sections, desc=f"{axis} sections", unit="section")])


def predict(cfg):
    p = cfg.predict
    seismic = read_seismic(cfg.input, p.iline_byte, p.xline_byte)
    backend = build_backend(cfg.ckpt, cfg.snapshots, cfg.tta == "hflip", cfg.backend)
    depth_of_row = depth_function(backend, p)
    grey, scaling = amplitude_to_grey(seismic.data, *p.clip_percentiles)

    def predict_one(section):
        return section_probs(section, backend, depth_of_row, p.overlap, p.taper, p.batch_size)

    if grey.ndim == 2:
        probs = predict_one(grey)  # images and SEG-Y lines are (samples, traces) already
    else:
        probs = predict_volume(grey, predict_one, p.axis)
    mask = probs > cfg.threshold
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [out.with_name(out.name + ".probs.npy"), out.with_name(out.name + ".mask.npy")]
    save_npy(probs.astype(np.float32), written[0])
    save_npy(mask, written[1])
    if probs.ndim == 2:
        written += [out.with_name(out.name + ".probs.png"), out.with_name(out.name + ".overlay.png")]
        save_png(np.round(probs * 255).astype(np.uint8), written[2])
        save_png(overlay(grey, mask), written[3])
    if seismic.kind == "segy":
        written.append(write_segy_like(seismic, probs, out.with_name(out.name + ".sgy")))
    meta = {"input": str(seismic.path), "shape": list(probs.shape), "scaling": scaling, "threshold": cfg.threshold,
            "backend": cfg.backend, "ckpt": str(cfg.ckpt), "tta": cfg.tta, "axis": p.axis, "overlap": p.overlap,
            "taper": p.taper, "salt_fraction": float(mask.mean())}
    write_text(out.with_name(out.name + ".json"), json.dumps(meta, indent=2))
    log.info("wrote %s (salt in %.1f%% of the samples)", ", ".join(str(w) for w in written), 100 * mask.mean())
    return [str(w) for w in written]
