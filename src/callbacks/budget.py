"""The training budget: how much of it is spent, for schedules that follow the budget rather than epochs.

The budget is trainer.max_time or trainer.max_epochs (with limit_train_batches), whichever ends first, so one
recipe fits any machine: the share spent is the larger of the steps taken and the time used, the time counted
against the budget less what is kept back for the work after the last step. The LR (BudgetLR) and the loss
(loss.switch_at) follow the share; snapshots are kept from its last stretch only, where the learning rate has
annealed and averaging them pays (Li, Yumer & Ramanan, "Budgeted Training", ICLR 2020; src/callbacks/stretch.py).
The TrainingBudget callback (src/callbacks/budget_tracker.py) feeds a Budget from the trainer.
"""

import math
from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class Budget:
    """The share of a training budget spent, 0 to 1: steps and a clock in, the share out.

    `steps()` is the steps taken, `planned_steps()` those the epochs allow (infinite or 0: no step limit), `clock()`
    the seconds used of a budget of `seconds` (None: no time limit). `kept_back` seconds of the budget are not for
    training steps (what follows the last one must end by the deadline too). `agree(share)` is the share every
    process takes (under DDP the largest of their clocks', so they stop, validate and schedule together); it is
    asked once per step, as the share is, and again after refresh(). The share never goes back: when what is kept
    back is priced lower (a validation ran faster than the first), the schedules wait for the clock instead of
    stepping back (the loss would switch back and forth)."""

    def __init__(
        self,
        steps: Callable[[], int],
        planned_steps: Callable[[], float],
        clock: Callable[[], float] = lambda: 0.0,
        seconds: float | None = None,
        agree: Callable[[float], float] = lambda share: share,
    ) -> None:
        if seconds is not None and not seconds > 0:
            raise ValueError(f"a time budget of {seconds} s: give a positive number of seconds, or None for none")
        self._steps, self._planned_steps, self._clock, self._agree = steps, planned_steps, clock, agree
        self.seconds = seconds
        self.kept_back = 0.0
        self._taken: tuple[int, float] | None = None
        self._highest = 0.0

    @property
    def timed(self) -> bool:
        return self.seconds is not None

    def spent(self, steps: int, elapsed: float) -> float:
        """The share spent after `steps` steps and `elapsed` seconds, on this process."""
        planned = self._planned_steps()
        by_steps = steps / planned if math.isfinite(planned) and planned > 0 else 0.0
        if not self.timed:
            return min(by_steps, 1.0)
        return min(max(by_steps, elapsed / max(self.seconds - self.kept_back, 1e-9)), 1.0)

    def share(self) -> float:
        """The share spent that every process takes, taken once per step (and again after refresh())."""
        step = self._steps()
        if self._taken is None or self._taken[0] != step:
            share = self.spent(step, self._clock())
            self._highest = max(self._highest, self._agree(share) if self.timed else share)
            self._taken = (step, self._highest)
        return self._taken[1]

    def refresh(self) -> None:
        """Take the share again at the next ask, though no step was taken (the clock moved on in a validation)."""
        self._taken = None

    def in_last(self, stretch: float) -> bool:
        """Whether the last `stretch` of the budget has begun."""
        return self.share() >= 1.0 - stretch


class BudgetLR(LambdaLR):
    """The learning rate by the share of the training budget spent (budget_lr_factor), stepped every batch; it
    follows the run's Budget from configure_optimizers (configured as scheduler=budget, `_partial_`)."""

    needs_training_budget = True  # SaltModule refuses it without a Budget (the TrainingBudget callback makes it)

    def __init__(self, optimizer: Optimizer, warmup: float = 0.05, floor: float = 0.01, shape: str = "linear") -> None:
        self._share: Callable[[], float] = lambda: 0.0  # until follow(): the LR the run starts with
        super().__init__(optimizer, lambda _: budget_lr_factor(self._share(), warmup, floor, shape))

    def follow(self, share: Callable[[], float]) -> None:
        self._share = share

    def state_dict(self) -> dict:
        """LambdaLR's state without the link to the budget (a function, not state: follow() makes it again)."""
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
