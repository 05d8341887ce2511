"""The TrainingBudget callback: feeds the run's Budget from the trainer, and stops training when it is spent.

It gives the module a Budget at setup (steps from the trainer, the clock from Lightning's Timer, which a test may
drive; under DDP every rank takes the largest share, once per step). The time kept back from a time budget is what
follows the last step: the final validation, checkpoints and pictures (timed at the earlier epoch ends), then the
work after training, priced from validation's seconds per tile. Lightning validates when a run is stopped, so
stopping at the full share leaves that validation inside the time kept back.
"""

import logging

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Timer

from src.callbacks.budget import Budget

log = logging.getLogger(__name__)
EPOCH_END_MARGIN = 1.5  # epoch ends vary; keeping back 1.5 of the longest seen lets the schedule end before the Timer
# A tile predicted after training (float32 always, BatchNorm recompute or out-of-fold, checkpoints loaded, pictures
# drawn) costs this many validation tiles: 2.5 where validation ran in bf16 (measured 2.4 on a 2-core AVX-512 BF16
# EPYC: 32 ms a tile against 13), 1.25 where it ran in float32 as well.
AFTER_TRAINING_COST = {"bf16": 2.5, "other": 1.25}


class TrainingBudget(pl.Callback):
    """Keeps the module's Budget (`pl_module.budget`) fed, measures what is kept back, stops training when the
    budget is spent and says which limit ended it. `keep_back_for(tiles)` prices the work after training."""

    def __init__(self) -> None:
        self.budget: Budget | None = None
        self.epoch_end_seconds = 0.0  # the longest epoch end seen (validation, checkpoints), kept back from the time
        self.seconds_per_tile = 0.0  # the latest validation's seconds per tile: the price of work after training
        self.after_training_tiles = 0
        self._timer: Timer | None = None
        self._last_step_end = None
        self._validated = False
        self._validation = None  # [clock at its start, tiles seen] of the validation under way
        self._after_cost = AFTER_TRAINING_COST["other"]
        self._warned_too_small = False

    def keep_back_for(self, tiles: int) -> None:
        """Keep back from a time budget what predicting `tiles` tiles after training takes."""
        self.after_training_tiles = tiles

    def setup(self, trainer, pl_module, stage) -> None:
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        self._timer = timer if timer is not None and timer.time_remaining() is not None else None
        self._after_cost = AFTER_TRAINING_COST["bf16" if "bf16" in str(trainer.precision) else "other"]
        self.budget = Budget(
            steps=lambda: trainer.global_step,
            planned_steps=lambda: trainer.estimated_stepping_batches,
            clock=self.clock,
            seconds=self._timer.time_elapsed() + self._timer.time_remaining() if self._timer else None,
            agree=lambda share: largest_over_ranks(trainer, share),
        )
        self._price()
        pl_module.budget = self.budget

    def clock(self) -> float:
        """Seconds of training so far, on the Timer's clock (a test may drive it); 0 without a time budget."""
        return self._timer.time_elapsed() if self._timer else 0.0

    def after_training_seconds(self) -> float:
        return self._after_cost * self.after_training_tiles * self.seconds_per_tile

    def _price(self) -> None:
        """What the budget keeps back from its time: an epoch end (with a margin) and the work after training."""
        if self.budget is not None:
            self.budget.kept_back = EPOCH_END_MARGIN * self.epoch_end_seconds + self.after_training_seconds()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._validated and self._last_step_end is not None:  # the first step after an epoch end
            self.epoch_end_seconds = max(self.epoch_end_seconds, self.clock() - self._last_step_end)
            self._price()
        self._validated = False
        self.budget.share()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._last_step_end = self.clock()
        if self.budget.share() >= 1.0:
            trainer.should_stop = True  # its final validation still runs, within the time kept back for it

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._validated = True
            self._validation = [self.clock(), 0]

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self._validation is not None:
            self._validation[1] += len(batch["x"])

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._validation is None:
            return
        started, tiles = self._validation
        if tiles and self._timer:
            self.seconds_per_tile = (self.clock() - started) / tiles
            self._price()
            self.warn_if_too_small()
        self._validation = None
        self.budget.refresh()  # the clock moved on: the next step takes the share again

    def warn_if_too_small(self) -> None:
        """Once the work after training is priced (at the first validation: the earliest its speed is known), say
        when it takes half the time budget or more, and which budget would leave training at least half."""
        after, budget = self.after_training_seconds(), self.budget.seconds
        if self._warned_too_small or not self.after_training_tiles or after < 0.5 * budget:
            return
        self._warned_too_small = True
        log.warning(
            "trainer.max_time (%.0f s) is too small for this run: the work after training (%d tiles, about %.0f s "
            "here at %.1f ms a validation tile) takes %.0f%% of it%s; trainer.max_time of at least %.0f s leaves "
            "training half",
            budget,
            self.after_training_tiles,
            after,
            1000 * self.seconds_per_tile,
            100 * after / budget,
            ", so the run will end past its budget" if after >= budget else "",
            2 * after,
        )

    def on_train_end(self, trainer, pl_module) -> None:
        if self._timer and self.after_training_tiles:
            log.info(
                "%s ended training at %.0f s of the time budget; %.0f s kept back for %d tiles predicted after "
                "training (%.1f ms a tile in validation)",
                ending_limit(trainer),
                self.clock(),
                self.after_training_seconds(),
                self.after_training_tiles,
                1000 * self.seconds_per_tile,
            )

    def state_dict(self) -> dict:
        return {"epoch_end_seconds": self.epoch_end_seconds, "seconds_per_tile": self.seconds_per_tile}

    def load_state_dict(self, state_dict) -> None:
        self.epoch_end_seconds = state_dict["epoch_end_seconds"]
        self.seconds_per_tile = state_dict.get("seconds_per_tile", 0.0)
        self._price()


def largest_over_ranks(trainer, share: float) -> float:
    """The largest of every DDP rank's share (their clocks differ a little); the share itself on one process."""
    if trainer.world_size == 1:
        return share
    value = torch.tensor(share, dtype=torch.float64, device=trainer.strategy.root_device)
    return float(trainer.strategy.reduce(value, reduce_op="max"))


def ending_limit(trainer) -> str:
    """Which limit ended training: the epochs, early stopping or the time budget."""
    if trainer.max_epochs is not None and trainer.max_epochs > 0 and trainer.current_epoch >= trainer.max_epochs:
        return f"trainer.max_epochs={trainer.max_epochs}"
    if any(c.stopped_epoch for c in trainer.early_stopping_callbacks):
        return "early stopping"
    return "the time budget"
