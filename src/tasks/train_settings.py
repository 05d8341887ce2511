"""The train task's own settings (fold, seed, batch size, the budget's limits, ensemble, oof, the loss schedule),
typed and checked once before any work: each bad value is one line naming the key and what to do. The classes a
config names by `_target_` (network, loss terms, optimizer, callbacks) check their own arguments; the data,
survey and predict groups have their own settings classes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hydra.utils import get_class

from src.callbacks.stretch import check_stretch
from src.utils.config import is_number, is_whole_number, typed_settings
from src.utils.errors import UserError

MAX_TIME = re.compile(r"\d+:\d{1,2}:\d{1,2}:\d{1,2}")


def whole(value, key, least, what) -> None:
    if not is_whole_number(value) or value < least:
        raise UserError(f"{key}={value}: use a whole number of {what}, {least} or more")


@dataclass(frozen=True)
class EnsembleSettings:
    top_k: int = 10
    decay: float = 0.8
    mode: str = "weights"
    stretch: float = 1.0
    bn_tiles: int | None = None

    def check(self) -> None:
        whole(self.top_k, "ensemble.top_k", 1, "snapshots")
        if self.bn_tiles is not None:
            whole(self.bn_tiles, "ensemble.bn_tiles", 1, "training tiles (or null: all)")
        if not is_number(self.decay) or not 0 < self.decay <= 1:
            raise UserError(f"ensemble.decay={self.decay}: use a weight ratio above 0 and at most 1 (1: equal weights)")
        if self.mode not in ("weights", "predictions"):
            raise UserError(f"ensemble.mode={self.mode} is not one of weights, predictions")
        check_stretch(self.stretch)


@dataclass(frozen=True)
class OofSettings:
    tta: bool = True
    batch_size: int = 64
    grid_tiles: int = 12

    def check(self) -> None:
        if not isinstance(self.tta, bool):
            raise UserError(f"oof.tta={self.tta}: use true or false")
        whole(self.batch_size, "oof.batch_size", 1, "tiles")
        whole(self.grid_tiles, "oof.grid_tiles", 1, "tiles")


@dataclass(frozen=True)
class LossSchedule:
    """The loss group's phases (each term a class that checks its own arguments) and when the second begins."""

    first: Mapping | None = None
    second: Mapping | None = None
    switch_epoch: int | None = None
    switch_at: float | None = None

    def check(self) -> None:
        if not self.first:
            raise UserError("loss.first is empty: the first phase needs a term, e.g. loss=budget (conf/loss/*.yaml)")
        if self.switch_epoch is not None:
            whole(self.switch_epoch, "loss.switch_epoch", 0, "epochs")
        if self.switch_at is not None and (not is_number(self.switch_at) or not 0 < self.switch_at < 1):
            raise UserError(f"loss.switch_at={self.switch_at}: use a share of the budget above 0 and below 1 (or null)")


@dataclass(frozen=True)
class TrainSettings:
    fold: int
    seed: int
    batch_size: int
    val_threshold: float
    max_time: str | Mapping | None
    endless: bool  # trainer.max_epochs=-1 with no max_steps or max_time
    follows_budget: bool  # the LR schedule follows the share of the budget spent
    ensemble: EnsembleSettings
    oof: OofSettings
    loss: LossSchedule

    @classmethod
    def from_config(cls, cfg) -> TrainSettings:
        trainer = cfg.trainer
        settings = cls(
            fold=cfg.fold,
            seed=cfg.seed,
            batch_size=cfg.batch_size,
            val_threshold=cfg.val_threshold,
            max_time=trainer.get("max_time"),
            endless=trainer.get("max_epochs") == -1
            and trainer.get("max_steps", -1) in (None, -1)
            and trainer.get("max_time") is None,
            follows_budget=follows_budget(cfg.scheduler),
            ensemble=typed_settings(EnsembleSettings, cfg.ensemble, "ensemble"),
            oof=typed_settings(OofSettings, cfg.oof, "oof"),
            loss=typed_settings(LossSchedule, cfg.loss, "loss"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        whole(self.fold, "fold", 0, "folds")
        whole(self.seed, "seed", 0, "seeds")
        whole(self.batch_size, "batch_size", 1, "tiles")
        if not is_number(self.val_threshold) or not 0 < self.val_threshold < 1:
            raise UserError(f"val_threshold={self.val_threshold}: use a probability above 0 and below 1")
        check_max_time(self.max_time)
        self.check_budget_has_an_end()

    def check_budget_has_an_end(self) -> None:
        """The budget schedule, loss.switch_at and a snapshot stretch follow the share of the budget spent, which
        stays 0 for a run with no end."""
        follows = [
            name
            for name, used in (
                ("scheduler=budget", self.follows_budget),
                ("loss.switch_at", self.loss.switch_at is not None),
                ("ensemble.stretch<1", self.ensemble.stretch < 1),
            )
            if used
        ]
        if self.endless and follows:
            raise UserError(
                f"trainer.max_epochs=-1 with no trainer.max_time or max_steps gives the training budget no "
                f"end, which {', '.join(follows)} follow: set trainer.max_time=DD:HH:MM:SS or "
                "trainer.max_epochs=N"
            )


def check_max_time(value) -> None:
    """A string trainer.max_time must be Lightning's "DD:HH:MM:SS". (Lightning also takes a mapping such as
    {hours: 1}, passed on as it is.)"""
    if value is not None and not isinstance(value, Mapping) and not MAX_TIME.fullmatch(str(value).strip()):
        raise UserError(
            f"trainer.max_time={value} is not a wall-clock budget: write DD:HH:MM:SS, "
            "e.g. trainer.max_time=00:00:30:00 for 30 minutes (null for none)"
        )


def follows_budget(scheduler_cfg) -> bool:
    target = scheduler_cfg.get("scheduler", {}).get("_target_") if scheduler_cfg else None
    return target is not None and getattr(get_class(target), "needs_training_budget", False)
