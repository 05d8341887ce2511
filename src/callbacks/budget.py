"""The training budget: how much of it is spent, for a schedule that follows the budget rather than epochs.

The budget is trainer.max_time or trainer.max_epochs (with limit_train_batches), whichever ends first, so one
recipe fits any machine: the share spent is the larger of the time used and the steps taken. Training stops so
that what follows its last step (the final validation, checkpoints and pictures, timed at the earlier epoch
ends; then the work after training, priced from validation's seconds per tile) still ends by the deadline
(Lightning validates when a run is stopped); snapshots for the ensemble are
kept from the last stretch of the budget only, where the learning rate has annealed and averaging them pays
(Li, Yumer & Ramanan, "Budgeted Training", ICLR 2020). Early stopping's patience counts in that stretch only: before
it the learning rate is high by design, and a run stopped there would keep no snapshot. For the same reason
validation before the stretch only draws the curves, so it can run every `validate_every_early`-th epoch there,
giving its time back to training (in the stretch, and when the run stops, it runs after every epoch).
"""

import logging
import math
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, Timer
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

log = logging.getLogger(__name__)
EPOCH_END_MARGIN = 1.5  # epoch ends vary; keeping back 1.5 of the longest seen lets the schedule end before the Timer
# A tile predicted after training (float32 always, BatchNorm recompute or out-of-fold, checkpoints loaded, pictures
# drawn) costs this many validation tiles: 2.5 where validation ran in bf16 (measured 2.4 on a 2-core AVX-512 BF16
# EPYC: 32 ms a tile against 13), 1.25 where it ran in float32 as well.
AFTER_TRAINING_COST = {"bf16": 2.5, "other": 1.25}


class TrainingBudget(pl.Callback):
    """Keeps `fraction`, the share of the budget spent (0 to 1), current at every training step.

    The time budget covers the work after training too (`keep_back_for`: BatchNorm recompute and out-of-fold
    predictions, priced at validation's seconds per tile), so trainer.max_time is about what the user waits. Under
    DDP every rank takes the same share (the largest of their clocks) once per step, so they stop, validate, keep
    snapshots and set the learning rate together."""

    def __init__(self, snapshot_stretch: float = 1.0, validate_every_early: int = 1) -> None:
        self.snapshot_stretch = snapshot_stretch
        self.validate_every_early = validate_every_early
        self.fraction = 0.0
        self.epoch_end_seconds = 0.0  # the longest epoch end seen (validation, checkpoints), kept back from the time
        self.seconds_per_tile = 0.0  # the latest validation's seconds per tile: the price of work after training
        self.after_training_tiles = 0
        self._timer = None
        self._last_step_end = None
        self._validated = False
        self._validation = None  # [clock at its start, tiles seen] of the validation under way
        self._agreed = None  # (global step, share) every rank took at that step
        self._after_cost = AFTER_TRAINING_COST["other"]
        self._top_k = {}
        self._early_stopping = []
        self._warned_too_small = False

    def keep_back_for(self, tiles: int) -> None:
        """Keep back from a time budget what predicting `tiles` tiles after training takes."""
        self.after_training_tiles = tiles

    def on_fit_start(self, trainer, pl_module) -> None:
        """Connect each BudgetLR (made by configure_optimizers, just before) to the share every rank agrees on, and
        take the share the first step starts from. Taking it plans the steps, which sets the training loader up
        (and seeds its augmentation) here, before the later callbacks' fit start: the order a budget run has always
        had, so its augmentation stream is the same as before the schedule became a scheduler class."""
        schedules = [c.scheduler for c in trainer.lr_scheduler_configs if isinstance(c.scheduler, BudgetLR)]
        for schedule in schedules:
            schedule.follow(lambda: self.agreed_spent(trainer))
        if schedules:
            self.fraction = self.agreed_spent(trainer)

    def setup(self, trainer, pl_module, stage) -> None:
        self._timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        self._top_k = {
            c: c.save_top_k for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor
        }
        self._early_stopping = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]
        self._after_cost = AFTER_TRAINING_COST["bf16" if "bf16" in str(trainer.precision) else "other"]

    def timed(self) -> bool:
        return self._timer is not None and self._timer.time_remaining() is not None

    def clock(self) -> float:
        """Seconds of training so far, on the Timer's clock (a test may drive it); 0 without a time budget."""
        return self._timer.time_elapsed() if self.timed() else 0.0

    def after_training_seconds(self) -> float:
        return self._after_cost * self.after_training_tiles * self.seconds_per_tile

    def spent(self, trainer) -> float:
        """Share of the budget spent on this rank: the larger of steps / planned steps and time / (budget - an
        epoch end - the work after training)."""
        planned = trainer.estimated_stepping_batches
        steps = trainer.global_step / planned if math.isfinite(planned) and planned > 0 else 0.0
        if not self.timed():
            return min(steps, 1.0)
        elapsed = self._timer.time_elapsed()
        usable = (
            elapsed
            + self._timer.time_remaining()
            - EPOCH_END_MARGIN * self.epoch_end_seconds
            - self.after_training_seconds()
        )
        return min(max(steps, elapsed / max(usable, 1e-9)), 1.0)

    def agreed_spent(self, trainer) -> float:
        """The share spent that every rank takes: computed once per step (and again after a validation), the largest
        over the ranks when a clock is involved (steps agree by themselves)."""
        step = trainer.global_step
        if self._agreed is None or self._agreed[0] != step:
            share = self.spent(trainer)
            if trainer.world_size > 1 and self.timed():
                share = float(
                    trainer.strategy.reduce(
                        torch.tensor(share, dtype=torch.float64, device=trainer.strategy.root_device), reduce_op="max"
                    )
                )
            self._agreed = (step, share)
        return self._agreed[1]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._validated and self._last_step_end is not None:  # the first step after an epoch end
            self.epoch_end_seconds = max(self.epoch_end_seconds, self.clock() - self._last_step_end)
        self._validated = False
        self.fraction = self.agreed_spent(trainer)

    def in_stretch(self, trainer) -> bool:
        """Whether training is in the last stretch, from the share spent at the latest step."""
        return self.fraction >= 1.0 - self.snapshot_stretch or trainer.should_stop

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.fraction = self.agreed_spent(trainer)
        self._last_step_end = self.clock()
        if self.fraction >= 1.0:
            trainer.should_stop = True  # its final validation still runs, within the time kept back for it
        if self.validate_every_early > 1:
            # Lightning reads this right after this hook, and applies the epoch rule even to a run that stops in
            # the middle of an epoch: in the stretch, and when stopping, every epoch validates
            trainer.check_val_every_n_epoch = 1 if self.in_stretch(trainer) else self.validate_every_early

    def on_validation_start(self, trainer, pl_module) -> None:
        """Let snapshots be kept, and early stopping's patience count, only in the last stretch (before the
        checkpoint callbacks save and before early stopping checks, both after validation)."""
        if trainer.sanity_checking:
            return
        self._validated = True
        self._validation = [self.clock(), 0]
        in_stretch = self.in_stretch(trainer)
        for checkpoint, top_k in self._top_k.items():
            checkpoint.save_top_k = top_k if in_stretch else 0
        if not in_stretch:
            for early_stopping in self._early_stopping:
                early_stopping.wait_count = 0

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if self._validation is not None:
            self._validation[1] += len(batch["x"])

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._validation is None:
            return
        started, tiles = self._validation
        if tiles and self.timed():
            self.seconds_per_tile = (self.clock() - started) / tiles
            self.warn_if_too_small()
        self._validation = None
        self._agreed = None  # the clock moved on: the next step takes the share again

    def warn_if_too_small(self) -> None:
        """Once the work after training is priced (at the first validation: the earliest its speed is known), say
        when it takes half the time budget or more, and which budget would leave training at least half."""
        after = self.after_training_seconds()
        budget = self._timer.time_elapsed() + self._timer.time_remaining()
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

    def ending_limit(self, trainer) -> str:
        """Which limit ended training: the epochs, early stopping or the time budget."""
        if trainer.max_epochs is not None and trainer.max_epochs > 0 and trainer.current_epoch >= trainer.max_epochs:
            return f"trainer.max_epochs={trainer.max_epochs}"
        if any(c.stopped_epoch for c in self._early_stopping):
            return "early stopping"
        return "the time budget"

    def on_train_end(self, trainer, pl_module) -> None:
        if self.timed() and self.after_training_tiles:
            log.info(
                "%s ended training at %.0f s of the time budget; %.0f s kept back for %d tiles predicted after "
                "training (%.1f ms a tile in validation)",
                self.ending_limit(trainer),
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


class BudgetLR(LambdaLR):
    """The learning rate by the share of the training budget spent (budget_lr_factor), stepped every batch; the
    TrainingBudget callback tells it the share at fit start (configured as scheduler=budget, `_partial_`)."""

    needs_training_budget = True  # SaltModule refuses it without the TrainingBudget callback

    def __init__(self, optimizer: Optimizer, warmup: float = 0.05, floor: float = 0.01, shape: str = "linear") -> None:
        self._share: Callable[[], float] = lambda: 0.0  # until follow(): the LR the run starts with
        super().__init__(optimizer, lambda _: budget_lr_factor(self._share(), warmup, floor, shape))

    def follow(self, share: Callable[[], float]) -> None:
        self._share = share

    def state_dict(self) -> dict:
        """LambdaLR's state without the link to the callback (a function, not state: follow() makes it again)."""
        return {k: v for k, v in super().state_dict().items() if k != "_share"}


def budget_lr_factor(fraction, warmup=0.05, floor=0.01, shape="linear") -> float:
    """Multiplier of the peak learning rate when `fraction` of the budget is spent: a linear warm-up from `floor`
    over the first `warmup`, then a linear or cosine decay that reaches `floor` exactly at the end."""
    if fraction < warmup:
        return floor + (1.0 - floor) * fraction / warmup
    t = min((fraction - warmup) / max(1.0 - warmup, 1e-9), 1.0)
    if shape == "linear":
        return 1.0 - (1.0 - floor) * t
    if shape == "cosine":
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))
    raise ValueError(f"unknown budget schedule shape {shape!r}: use linear or cosine")
