"""The infer task: ensemble the networks behind `ckpt`, predict the tiles, post-process, write a submission."""

import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from src.data.datamodule import load_unlabelled
from src.ensemble.members import plan_ensemble
from src.inference.backends import backend_probs, build_backend
from src.inference.onnx import graph_settings
from src.inference.postproc import postprocess_batch
from src.inference.postproc_settings import PostprocSettings
from src.inference.submission import write_submission
from src.inference.tuning import gather_oof
from src.metrics.kaggle_map import kaggle_map
from src.utils.atomic import atomic_path, check_writable_file, remove_stale_temporaries
from src.utils.config import command_line_keys
from src.utils.errors import UserError
from src.utils.run_folder import POSTPROC_FILE, tuned_postproc

log = logging.getLogger(__name__)


def choose_postproc(cfg) -> tuple[dict, str]:
    """(values, where they came from): tuned values from the ckpt's postproc.yaml,
    except keys given on the command line; the config's defaults when nothing was tuned."""
    chosen = OmegaConf.to_container(cfg.postproc)
    overridden = {key.split(".", 1)[1] for key in command_line_keys() if key.startswith("postproc.")}
    tuned, source = (
        (graph_settings(cfg.ckpt), cfg.ckpt) if Path(cfg.ckpt).suffix == ".onnx" else tuned_postproc(cfg.ckpt)
    )
    if tuned:
        chosen.update({k: v for k, v in tuned.items() if k in chosen and k not in overridden})
        origin = f"tuned on out-of-fold predictions, from {source}"
    else:
        origin = f"the defaults (no {POSTPROC_FILE} in the run or the folder above it: tune.py makes one)"
    if overridden:
        origin += f"; {', '.join(sorted(overridden))} from the command line"
    return PostprocSettings.checked(chosen, origin).as_dict(), origin


def oof_estimate(ckpt, params) -> tuple[float, int] | None:
    """(mAP, tiles) of the post-processing `params` on the out-of-fold predictions of the runs under `ckpt`, the
    setting actually used rather than the one tuned; None for a .ckpt file or runs without oof.npz."""
    if Path(ckpt).expanduser().is_file():
        return None
    try:
        ids, probs, truth, valid = gather_oof(ckpt)
    except UserError:
        return None
    return kaggle_map(postprocess_batch(probs, **params), truth, valid), len(ids)


def data_root(cfg, runs) -> Path:
    if cfg.data.root:
        return Path(cfg.data.root).expanduser()
    saved = runs[0].config
    if not saved.exists():
        raise UserError(
            f"no data.root given and {saved} is missing: pass data.root=PATH (a folder with test/images and depths.csv)"
        )
    data = OmegaConf.load(saved).data
    if "survey" in data or "root" not in data:
        raise UserError(
            f"ckpt={cfg.ckpt} was trained on a survey ({runs[0].path}): predict its seismic with predict.py "
            "(infer.py writes Kaggle submissions for TGS tiles)"
        )
    return Path(data.root)


def infer(cfg: DictConfig) -> str:
    """Predict the unlabelled tiles under the data folder with the networks `cfg.ckpt` stands for (folds x
    snapshots, hflip TTA, the tuned post-processing) and write a Kaggle submission to `cfg.out` (probabilities
    beside it as .probs.npy). Returns the submission's path."""
    for path in (Path(cfg.out), Path(cfg.out).with_suffix(".probs.npy")):
        check_writable_file(path)  # before any tile is predicted
        remove_stale_temporaries(path)
    plan = plan_ensemble(cfg.ckpt, cfg.snapshots)
    backend = build_backend(plan, cfg.tta == "hflip", cfg.backend)
    root = data_root(cfg, plan.run_folders)
    ids, images, depths = load_unlabelled(root, cfg.data.images)
    params, origin = choose_postproc(cfg)
    log.info(
        "ensembling %s, TTA %s, %s backend", plan.describe(), cfg.tta, type(backend).__name__.removesuffix("Backend")
    )
    log.info("post-processing %s: %s", params, origin)
    estimate = oof_estimate(cfg.ckpt, params)
    if estimate is not None:
        log.info("out-of-fold estimate of the score with this post-processing: %.4f over %d tiles", *estimate)
    probs = backend_probs(backend, images, depths, cfg.batch_size, desc=f"predict {root.name}")
    masks = postprocess_batch(probs, **params)
    out = write_submission(ids, masks, Path(cfg.out))
    if cfg.save_probs:
        with atomic_path(Path(cfg.out).with_suffix(".probs.npy")) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, probs)
    log.info("wrote %s: %d tiles, %d with salt", out, len(ids), int(masks.any(axis=(1, 2)).sum()))
    return str(out)
