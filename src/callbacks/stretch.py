"""What happens only in the last stretch of the training budget, where the learning rate has annealed.

Before it the learning rate is high by design: a snapshot kept there would not be worth averaging, early stopping
there would stop a run that has kept no snapshot, and val/map only draws the curves, so validation can run less
often and give its time to training. The stretch is the last `stretch` share of the module's Budget (the
TrainingBudget callback makes it; without one, every epoch counts as in the stretch) and the end of a stopped run.
"""

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping

from src.utils.config import is_number, is_whole_number
from src.utils.errors import UserError


def check_stretch(stretch) -> float:
    if not is_number(stretch) or not 0 < stretch <= 1:
        raise UserError(
            f"ensemble.stretch={stretch}: use the last share of the budget snapshots are kept from, above 0 and at "
            "most 1 (1: from the start)"
        )
    return float(stretch)


def in_stretch(trainer: pl.Trainer, pl_module: pl.LightningModule, stretch: float) -> bool:
    """Whether training is in the last `stretch` of its budget, or stopping."""
    budget = getattr(pl_module, "budget", None)
    return budget is None or budget.in_last(stretch) or trainer.should_stop


class ValidateLessOftenEarly(pl.Callback):
    """Before the last stretch validate every `every`-th epoch only; in it, and when the run stops, every epoch.
    Configured as callbacks.early_validation."""

    def __init__(self, stretch: float = 1.0, every: int = 1) -> None:
        if not is_whole_number(every) or every < 1:
            raise UserError(
                f"callbacks.early_validation.every={every}: use a whole number of epochs, 1 (every epoch) or more"
            )
        self.stretch, self.every = check_stretch(stretch), int(every)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every > 1:
            # Lightning reads this right after this hook, and applies the epoch rule even to a run that stops in
            # the middle of an epoch
            trainer.check_val_every_n_epoch = 1 if in_stretch(trainer, pl_module, self.stretch) else self.every


class StretchEarlyStopping(EarlyStopping):
    """Lightning's EarlyStopping whose patience counts in the last stretch only: before it, every validation
    starts the count again (the best score is still tracked)."""

    def __init__(self, stretch: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stretch = check_stretch(stretch)

    @property
    def state_key(self) -> str:  # EarlyStopping's, so runs saved before this class existed still resume
        return super().state_key.replace(type(self).__qualname__, EarlyStopping.__qualname__, 1)

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking and not in_stretch(trainer, pl_module, self.stretch):
            self.wait_count = 0
