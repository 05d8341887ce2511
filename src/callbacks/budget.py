"""The training budget: how much of it is spent, for a schedule that follows the budget rather than epochs.

The budget is trainer.max_time or trainer.max_epochs (with limit_train_batches), whichever ends first, so one
recipe fits any machine: the share spent is the larger of the time used and the steps taken. Training stops so
that what follows its last step (the final validation, checkpoints and pictures, timed at the earlier epoch
ends) still ends by the deadline (Lightning validates when a run is stopped); snapshots for the ensemble are
kept from the last stretch of the budget only, where the learning rate has annealed and averaging them pays
(Li, Yumer & Ramanan, "Budgeted Training", ICLR 2020). Early stopping's patience counts in that stretch only: before
it the learning rate is high by design, and a run stopped there would keep no snapshot. For the same reason
validation before the stretch only draws the curves, so it can run every `validate_every_early`-th epoch there,
giving its time back to training (in the stretch, and when the run stops, it runs after every epoch).
"""
import math
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, Timer

EPOCH_END_MARGIN = 1.5  # epoch ends vary; keeping back 1.5 of the longest seen lets the schedule end before the Timer


class TrainingBudget(pl.Callback):
    """Keeps `fraction`, the share of the budget spent (0 to 1), current at every training step."""

    def __init__(self, snapshot_stretch: float = 1.0, validate_every_early: int = 1):
        self.snapshot_stretch = snapshot_stretch
        self.validate_every_early = validate_every_early
        self.fraction = 0.0
        self.epoch_end_seconds = 0.0  # the longest epoch end seen (validation, checkpoints), kept back from the time
        self._timer = None
        self._last_step_end = None
        self._validated = False
        self._top_k = {}
        self._early_stopping = []

    def setup(self, trainer, pl_module, stage):
        self._timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        self._top_k = {c: c.save_top_k for c in trainer.checkpoint_callbacks
                       if isinstance(c, ModelCheckpoint) and c.monitor}
        self._early_stopping = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]

    def spent(self, trainer):
        """Share of the budget spent: the larger of steps / planned steps and time / (budget - an epoch end)."""
        planned = trainer.estimated_stepping_batches
        steps = trainer.global_step / planned if math.isfinite(planned) and planned > 0 else 0.0
        if self._timer is None or self._timer.time_remaining() is None:
            return min(steps, 1.0)
        elapsed = self._timer.time_elapsed()
        usable = elapsed + self._timer.time_remaining() - EPOCH_END_MARGIN * self.epoch_end_seconds
        return min(max(steps, elapsed / max(usable, 1e-9)), 1.0)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._validated and self._last_step_end is not None:  # the first step after an epoch end
            self.epoch_end_seconds = max(self.epoch_end_seconds, time.monotonic() - self._last_step_end)
        self._validated = False
        self.fraction = self.spent(trainer)

    def in_stretch(self, trainer):
        """Whether training is in the last stretch, from the share spent at the latest step."""
        return self.fraction >= 1.0 - self.snapshot_stretch or trainer.should_stop

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.fraction = self.spent(trainer)
        self._last_step_end = time.monotonic()
        if self.fraction >= 1.0:
            trainer.should_stop = True  # its final validation still runs, within the time kept back for it
        if self.validate_every_early > 1 and trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            # Lightning reads this right after this hook to decide whether to validate; every rank must agree
            in_stretch = trainer.strategy.reduce_boolean_decision(self.in_stretch(trainer), all=False)
            trainer.check_val_every_n_epoch = 1 if in_stretch else self.validate_every_early

    def on_validation_start(self, trainer, pl_module):
        """Let snapshots be kept, and early stopping's patience count, only in the last stretch (before the
        checkpoint callbacks save and before early stopping checks, both after validation)."""
        if trainer.sanity_checking:
            return
        self._validated = True
        in_stretch = self.in_stretch(trainer)
        for checkpoint, top_k in self._top_k.items():
            checkpoint.save_top_k = top_k if in_stretch else 0
        if not in_stretch:
            for early_stopping in self._early_stopping:
                early_stopping.wait_count = 0

    def state_dict(self):
        return {"epoch_end_seconds": self.epoch_end_seconds}

    def load_state_dict(self, state_dict):
        self.epoch_end_seconds = state_dict["epoch_end_seconds"]


def budget_lr_factor(fraction, warmup=0.05, floor=0.01, shape="linear"):
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
