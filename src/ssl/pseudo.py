"""Pseudo-labels: a teacher ensemble predicts unlabelled tiles; confident tiles join training with their
thresholded masks (1st place's rule: most pixels far from 0.5). Cached on disk under the teacher's identity."""

import hashlib
import logging
from pathlib import Path

import numpy as np

from src.data.datamodule import load_unlabelled
from src.ensemble.cache_key import members_key
from src.ensemble.members import load_networks, resolve_members
from src.inference.backends import predict_tiles
from src.utils.atomic import atomic_path

log = logging.getLogger(__name__)


def confident_tiles(probs, low, high, fraction) -> np.ndarray:
    """Boolean (N,): tiles where at least `fraction` of the pixels have p < low or p > high."""
    sure = (probs < low) | (probs > high)
    return sure.reshape(len(probs), -1).mean(axis=1) >= fraction


def teacher_identity(paths, ids, images, depths, params) -> str:
    """A key that changes when any teacher checkpoint's content or weight, the unlabelled tiles (names, pixels,
    depths) or the selection rule change."""
    tiles = hashlib.sha256("|".join(ids).encode() + images.tobytes() + depths.tobytes()).hexdigest()
    return members_key(paths, kind="pseudo_labels", tiles=tiles, **params)[:16]


def pseudo_labels(ssl_cfg, root, cache_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(images uint8, depths, masks bool, ids) of the confident unlabelled tiles, from cache when possible."""
    paths, _ = resolve_members(ssl_cfg.teacher, ssl_cfg.teacher_snapshots)
    ids, images, depths = load_unlabelled(root, ssl_cfg.unlabelled)
    params = {k: float(ssl_cfg[k]) for k in ("low", "high", "confident_fraction", "threshold")}
    params["tta"] = bool(ssl_cfg.tta)
    cache = Path(cache_dir) / f"pseudo-{teacher_identity(paths, ids, images, depths, params)}.npz"
    if cache.exists():
        log.info("pseudo-labels from cache %s", cache)
        stored = np.load(cache)
        keep = stored["keep"]
        probs = None
    else:
        members = load_networks(paths)
        probs = predict_tiles(members, images, depths, tta=ssl_cfg.tta, desc="teacher")
        keep = confident_tiles(probs, ssl_cfg.low, ssl_cfg.high, ssl_cfg.confident_fraction)
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(
                    handle,
                    keep=keep,
                    masks=probs[keep] > ssl_cfg.threshold,
                    ids=np.array(ids)[keep],
                    teacher=[str(p) for p, _ in paths],
                )
        stored = np.load(cache)
    log.info("pseudo-labels: %d of %d unlabelled tiles confident", int(keep.sum()), len(ids))
    return images[keep], depths[keep], stored["masks"], list(np.array(ids)[keep])
