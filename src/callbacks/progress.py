"""How long a run bounded by epochs (no time budget) will take, said once its first epoch is measured."""

import logging
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer

log = logging.getLogger(__name__)


class EpochTimeEstimate(pl.Callback):
    """After the first training epoch (with its validation), log its wall time and what trainer.max_epochs then
    costs. A run under trainer.max_time needs none: its budget is the estimate (train.py says so at the start)."""

    def __init__(self) -> None:
        self._started = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self._started is None:
            self._started = (time.monotonic(), trainer.current_epoch)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        timed = any(isinstance(c, Timer) for c in trainer.callbacks)
        if self._started is None or trainer.current_epoch != self._started[1] or timed:
            return
        seconds = time.monotonic() - self._started[0]
        left = max(trainer.max_epochs - trainer.current_epoch - 1, 0) if trainer.max_epochs not in (None, -1) else None
        if left is not None:
            log.info(
                "epoch %d took %.0f s: the %d epoch(s) left of trainer.max_epochs=%d take about %.0f min more",
                trainer.current_epoch,
                seconds,
                left,
                trainer.max_epochs,
                left * seconds / 60,
            )
