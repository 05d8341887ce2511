"""The tune task: the built-in grid search (single run) or one setting of a Hydra sweep (multirun)."""

import logging
import time
from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from src.callbacks.sweep_summary import SWEEP_RESULT
from src.inference.calibration import calibrate
from src.inference.postproc import postprocess_batch
from src.inference.tuning import gather_oof, grid_search
from src.metrics.kaggle_map import kaggle_map
from src.utils.atomic import write_text
from src.utils.errors import UserError
from src.utils.plots import save_threshold_plot
from src.utils.run_folder import RunFolder

log = logging.getLogger(__name__)


def check_both_classes(truth, run, tiles) -> None:
    """A threshold, size cut-offs or a temperature fitted on out-of-fold pixels of one class would mean nothing."""
    if truth.any() and not truth.all():
        return
    raise UserError(
        f"the out-of-fold predictions under {run} ({tiles} tiles) hold {'salt only' if truth.any() else 'no salt'}: "
        "nothing can be tuned or calibrated on them; validate on tiles with salt and without (for a survey, a fold "
        "whose block of lines holds salt)"
    )


def tune(cfg: DictConfig) -> float:
    """Fit the post-processing on the out-of-fold predictions under `cfg.run`: the grid search and the
    temperature that calibrates the probabilities (postproc.yaml, tuning.png and calibration.png there), or, in a
    Hydra sweep, one setting (its result.yaml). Returns the OOF mAP of the best setting, or of this sweep job's
    setting."""
    ids, probs, truth, valid = gather_oof(cfg.run)
    check_both_classes(truth if valid is None else truth[valid], cfg.run, len(ids))
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        params = OmegaConf.to_container(cfg.postproc)
        score = kaggle_map(postprocess_batch(probs, **params), truth, valid)
        write_text(Path(HydraConfig.get().runtime.output_dir) / SWEEP_RESULT, yaml.safe_dump({**params, "map": score}))
        log.info("%s -> OOF mAP %.4f on %d tiles", params, score, len(ids))
        return score
    start = time.perf_counter()
    table = grid_search(
        probs, truth, cfg.grid.threshold, cfg.grid.min_component, cfg.grid.min_mask, cfg.postproc.fill_holes, valid
    )
    best = table.iloc[0]
    default = kaggle_map(probs > 0.5, truth, valid)
    print(f"{len(table)} settings on {len(ids)} out-of-fold tiles in {time.perf_counter() - start:.1f} s")
    print(table.head(cfg.top).to_string(index=False))
    print(f"OOF mAP: threshold 0.5 alone {default:.4f} -> tuned {best['map']:.4f}")
    chosen = {
        "threshold": float(best.threshold),
        "min_component": int(best.min_component),
        "min_mask": int(best.min_mask),
        "fill_holes": int(cfg.postproc.fill_holes),
        "oof_map": float(best["map"]),
        "oof_map_threshold_0.5": float(default),
        "n_tiles": int(len(ids)),
    }
    run = RunFolder(Path(cfg.run).expanduser())
    chosen.update(calibrate(run.path, run.calibration_picture))
    write_text(run.postproc, yaml.safe_dump(chosen))
    save_threshold_plot(table, run.tuning_picture)
    log.info(
        "saved %s, %s and %s in %s (infer.py uses all of it by default, predict.py its threshold and temperatures)",
        run.postproc.name,
        run.tuning_picture.name,
        run.calibration_picture.name,
        run.path,
    )
    return float(best["map"])
