"""The train task: data, module, callbacks and trainer from the config; fit; then out-of-fold evaluation."""

import logging
import os
import time
from pathlib import Path

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig

from src.callbacks.budget_tracker import TrainingBudget
from src.callbacks.epoch_lines import EpochLines
from src.data.build import build_datamodule
from src.data.datamodule import TGSDataModule, load_unlabelled
from src.ensemble.members import load_members
from src.inference.out_of_fold import evaluate_out_of_fold
from src.models.checkpoint import read_checkpoint
from src.models.module import SaltModule
from src.ssl.mixing import PseudoLabelled, SemiSupervised, Unlabelled
from src.ssl.pseudo import pseudo_labels
from src.tasks.train_settings import TrainSettings
from src.utils.config import to_plain
from src.utils.errors import UserError
from src.utils.progress import in_terminal
from src.utils.run_folder import RunFolder

log = logging.getLogger(__name__)


def build_module(cfg, preprocess, ignore_value=None, start=None) -> SaltModule:
    """The LightningModule; from `start` (fine-tuning) it takes the network's architecture and weights."""
    module = SaltModule(
        model=start.hparams.model if start is not None else to_plain(cfg.model),
        loss=to_plain(cfg.loss),
        optimizer=to_plain(cfg.optimizer),
        scheduler=to_plain(cfg.scheduler),
        preprocess=preprocess.to_dict(),
        val_threshold=cfg.val_threshold,
        channels_last=cfg.channels_last,
        ssl=to_plain(cfg.ssl) if cfg.ssl.mode else None,
        deep_supervision_weights=to_plain(cfg.deep_supervision_weights),
        ignore_value=ignore_value,
    )
    if start is not None:
        module.net.load_state_dict(start.net.state_dict())
    return module


def starting_network(init) -> SaltModule | None:
    """The one network a fine-tuning run starts from: a .ckpt, or a run's ensemble when it is one network."""
    if init is None:
        return None
    members, _ = load_members(init)
    if len(members) != 1:
        raise UserError(
            f"init={init} stands for {len(members)} networks: pass one .ckpt, or a run whose ensemble is "
            "one network (ensemble.mode=weights)"
        )
    log.info("starting from %s", init)
    return members[0][0]


def semi_supervised(cfg, datamodule) -> SemiSupervised:
    """The DataModule with its semi-supervised tiles: pseudo-labelled ones mixed into training, or unlabelled ones
    for the mean teacher. Validation stays on the labelled fold either way."""
    if cfg.ssl.mode not in ("pseudo", "mean_teacher"):
        raise UserError(f"ssl.mode={cfg.ssl.mode} is not one of pseudo, mean_teacher (or ssl=none)")
    if not isinstance(datamodule, TGSDataModule):
        raise UserError(
            f"ssl={cfg.ssl.mode} works on Kaggle-layout tiles, not on {type(datamodule).__name__}'s: train it "
            "with ssl=none"
        )
    datamodule.prepare_data()
    root = datamodule.root
    if cfg.ssl.mode == "pseudo":
        images, depths, masks, _ = pseudo_labels(cfg.ssl, root, cfg.ssl.cache_dir)
        return SemiSupervised(datamodule, pseudo=PseudoLabelled(images, depths, masks, cfg.ssl.ratio))
    _, images, depths = load_unlabelled(root, cfg.ssl.unlabelled)
    return SemiSupervised(datamodule, unlabelled=Unlabelled(images, depths, cfg.ssl.unlabelled_batch_size))


def after_training_tiles(settings: TrainSettings, datamodule) -> int:
    """Tiles predicted after training: the training tiles (ensemble.bn_tiles of them) once when snapshots are
    weight-averaged (BatchNorm recompute), and the validation tiles by the best snapshot and by the ensemble, twice
    each with hflip TTA."""
    several, bn_tiles = settings.ensemble.top_k > 1, settings.ensemble.bn_tiles
    bn = min(len(datamodule.train_idx), bn_tiles or len(datamodule.train_idx))
    bn = bn if several and settings.ensemble.mode == "weights" else 0
    return bn + len(datamodule.val_idx) * (2 if settings.oof.tta else 1) * (2 if several else 1)


def resume_from(resume, run: RunFolder) -> str | None:
    """The checkpoint `resume=` continues from: `last` is this run folder's last.ckpt (none yet: a fresh start,
    so a re-queued job can pass it from its first launch); a path as given. Without resume=, a run folder that
    already holds a last.ckpt is started over, with a warning naming resume=last."""
    if resume == "last":
        if run.last_checkpoint.is_file():
            log.info("resume=last: continuing from %s", run.last_checkpoint)
            return str(run.last_checkpoint)
        log.info("resume=last: %s holds no checkpoints/last.ckpt yet, so training starts from scratch", run.path)
        return None
    if resume is None and run.last_checkpoint.is_file():
        log.warning(
            "%s already holds a training checkpoint: starting over (its snapshots are replaced); pass resume=last "
            "to continue it instead",
            run.path,
        )
    return resume


def check_resume(resume, max_epochs) -> None:
    """A resume= checkpoint must be a full training checkpoint (last.ckpt), read as data, never running code, and
    must not have trained more epochs than trainer.max_epochs allows (Lightning refuses it with a traceback)."""
    if resume is None:
        return
    checkpoint = read_checkpoint(Path(resume).expanduser())
    if "optimizer_states" not in checkpoint:
        raise UserError(
            f"resume={resume} is not a full training checkpoint (a snapshot keeps weights only): resume "
            "from the run's checkpoints/last.ckpt, or start from its weights with init="
        )
    done = int(checkpoint.get("epoch", -1)) + 1  # saved at the end of its epoch (0-based)
    if max_epochs not in (None, -1) and done > max_epochs:
        raise UserError(
            f"resume={resume} has trained {done} epochs, more than trainer.max_epochs={max_epochs}: pass "
            f"trainer.max_epochs={done + 1} or more to train on (or {done} to only evaluate it)"
        )


def check_ddp_launch(cfg) -> None:
    """Lightning starts DDP's other processes by running this command again, which a Hydra sweep cannot host
    (each process would run the whole sweep). On SLURM the processes are SLURM's tasks instead."""
    if (
        str(cfg.trainer.get("strategy")).startswith("ddp")
        and HydraConfig.get().mode == RunMode.MULTIRUN
        and "SLURM_PROCID" not in os.environ
    ):
        raise UserError(
            f"trainer.strategy={cfg.trainer.strategy} cannot run inside a -m sweep here: train one fold "
            "per command (e.g. a shell loop over fold=0..4), or sweep on SLURM with "
            "hydra/launcher=submitit_slurm and hydra.launcher.tasks_per_node=<GPUs per node>"
        )


def epoch_batches(trainer, datamodule) -> int:
    """The training batches an epoch holds on each process, at least (the last, partial one may be dropped): a
    logging interval above it would log nothing within an epoch (and Lightning warns of it at every short run)."""
    batches = max(1, len(datamodule.train_idx) // (datamodule.batch_size * trainer.world_size))
    limit = trainer.limit_train_batches
    return min(batches, limit) if isinstance(limit, int) else max(1, int(batches * limit))


def train(cfg: DictConfig) -> float | None:
    """Train one fold as the composed train config `cfg` says (data, model, loss, budget, callbacks, trainer), in
    Hydra's run folder; then predict its validation fold with the best snapshot and the ensemble (oof.npz,
    validation.png).

    Returns the out-of-fold val/map at threshold 0.5 of what the run uses (its ensemble, or its best snapshot
    where the ensemble scored worse); None on DDP ranks other than 0, or when no
    snapshot was validated."""
    settings = TrainSettings.from_config(cfg)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    resume = resume_from(cfg.resume, RunFolder(run_dir))
    check_resume(resume, cfg.trainer.get("max_epochs"))
    check_ddp_launch(cfg)
    started = time.monotonic()
    pl.seed_everything(cfg.seed, workers=True)
    start = starting_network(cfg.init)
    datamodule = build_datamodule(cfg, RunFolder(run_dir), reference=start.preprocess if start is not None else None)
    training_data = semi_supervised(cfg, datamodule) if cfg.ssl.mode else datamodule
    datamodule.setup()
    module = build_module(cfg, datamodule.preprocess, datamodule.ignore_value, start)
    log_plan(cfg, datamodule, module, run_dir)
    callbacks = [instantiate(c) for c in cfg.callbacks.values()] + ([] if in_terminal() else [EpochLines()])
    for budget in (c for c in callbacks if isinstance(c, TrainingBudget)):
        budget.keep_back_for(after_training_tiles(settings, datamodule))
    loggers = [instantiate(c) for c in cfg.logger.values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    trainer.log_every_n_steps = min(trainer.log_every_n_steps, epoch_batches(trainer, datamodule))
    trainer.fit(module, datamodule=training_data, ckpt_path=resume, weights_only=True)
    if not trainer.is_global_zero:
        return None
    trained = time.monotonic()
    score = evaluate_out_of_fold(cfg, run_dir, datamodule, trainer.loggers)
    log.info(
        "train task: fold %d, %s (%s): out-of-fold mAP %s; %s in all (trainer.max_time=%s covers training and the "
        "%s after it); files in %s",
        cfg.fold,
        type(module.net).__name__,
        cfg.encoder.name,
        "not measured (no snapshot was validated)" if score is None else f"{score:.4f} at 0.5",
        clock_time(time.monotonic() - started),
        cfg.trainer.get("max_time"),
        clock_time(time.monotonic() - trained),
        run_dir,
    )
    return score


def log_plan(cfg, datamodule, module, run_dir) -> None:
    """Say at the start what will be trained, on what, for how long, and where it goes."""
    data = cfg.data.survey.seismic if "survey" in cfg.data else cfg.data.get("root")
    max_time = cfg.trainer.get("max_time")
    epochs = cfg.trainer.get("max_epochs")
    budget = (
        f"trainer.max_time={max_time} or max_epochs={epochs}, whichever ends first (the time covers the work after "
        "training too)"
        if max_time
        else f"trainer.max_epochs={epochs} (how long that takes is said after the first epoch)"
    )
    log.info(
        "training fold %d of %s: %d training and %d validation tiles; network %s (%s, %.1f M parameters); %s; "
        "run folder %s",
        cfg.fold,
        data,
        len(datamodule.train_idx),
        len(datamodule.val_idx),
        module.hparams.model["_target_"].rsplit(".", 1)[-1],
        module.hparams.model.get("encoder_name", "its own encoder"),
        sum(p.numel() for p in module.net.parameters()) / 1e6,
        budget,
        run_dir,
    )


def clock_time(seconds) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"
