"""Training progress where output is not a terminal (a log file, CI, a batch job): one log line an epoch, in place
of Lightning's rich progress bar, which draws there in fragments."""

import logging
import time

from pytorch_lightning.callbacks import ProgressBar

log = logging.getLogger(__name__)


class EpochLines(ProgressBar):
    """A progress bar that says, at the end of each training epoch (its validation included), the epoch, its
    batches and seconds, and the metrics the bar would show."""

    def __init__(self) -> None:
        super().__init__()
        self._enabled, self._started = True, None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.monotonic()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not self._enabled or self._started is None:
            return
        metrics = {k: v for k, v in self.get_metrics(trainer, pl_module).items() if k != "v_num"}
        shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(metrics.items()))
        epochs = "" if trainer.max_epochs in (None, -1) else f"/{trainer.max_epochs}"
        log.info(
            "epoch %d%s: %d batches in %.0f s; %s",
            trainer.current_epoch + 1,
            epochs,
            self.total_train_batches,
            time.monotonic() - self._started,
            shown or "nothing logged yet",
        )
