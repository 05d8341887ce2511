"""The training budget's pieces without a Trainer: the Budget (steps and a clock in, the share out), the LR that
follows it, and the callbacks that act only in its last stretch."""

import math
from types import SimpleNamespace

import pytest
import torch

from src.callbacks.budget import Budget, BudgetLR
from src.callbacks.snapshots import SnapshotCheckpoint
from src.callbacks.stretch import StretchEarlyStopping, ValidateLessOftenEarly
from src.utils.errors import UserError


class Run:
    """Steps and a clock a test sets by hand."""

    def __init__(self):
        self.steps, self.seconds = 0, 0.0

    def budget(self, planned=100.0, seconds=None, agree=None):
        kwargs = {"agree": agree} if agree else {}
        return Budget(lambda: self.steps, lambda: planned, lambda: self.seconds, seconds, **kwargs)


def test_a_step_budget_is_the_share_of_the_planned_steps():
    run = Run()
    budget = run.budget(planned=200)
    run.steps = 50
    assert budget.share() == 0.25
    run.steps = 400
    assert budget.share() == 1.0  # never past the end


def test_a_time_budget_counts_the_time_left_after_what_is_kept_back():
    run = Run()
    budget = run.budget(planned=math.inf, seconds=100.0)
    budget.kept_back = 20.0
    run.steps, run.seconds = 1, 40.0
    assert budget.share() == 0.5  # 40 of the 80 seconds training may use


def test_the_larger_of_steps_and_time_is_the_share():
    run = Run()
    budget = run.budget(planned=10, seconds=100.0)
    run.steps, run.seconds = 8, 10.0
    assert budget.share() == 0.8
    run.steps, run.seconds = 9, 95.0
    assert budget.share() == 0.95


def test_the_share_is_taken_once_a_step_until_refreshed():
    run = Run()
    budget = run.budget(planned=math.inf, seconds=100.0)
    run.steps, run.seconds = 1, 10.0
    assert budget.share() == 0.1
    run.seconds = 30.0  # a validation, say: no step taken
    assert budget.share() == 0.1
    budget.refresh()
    assert budget.share() == 0.3


def test_the_share_never_goes_back_when_what_is_kept_back_is_priced_lower():
    run = Run()
    budget = run.budget(planned=math.inf, seconds=100.0)
    budget.kept_back = 50.0
    run.steps, run.seconds = 1, 30.0
    assert budget.share() == 0.6
    budget.kept_back = 10.0  # a later validation ran faster: 30 s is now a third of the time training may use
    run.steps = 2
    assert budget.share() == 0.6
    run.steps, run.seconds = 3, 63.0
    assert budget.share() == 0.7


def test_every_process_takes_the_agreed_share_of_a_time_budget_only():
    run = Run()
    asked = []

    def largest(share):
        asked.append(share)
        return 0.9

    timed = run.budget(planned=math.inf, seconds=100.0, agree=largest)
    run.steps, run.seconds = 1, 50.0
    assert timed.share() == 0.9 and asked == [0.5]
    steps_only = run.budget(planned=10, agree=largest)
    assert steps_only.share() == 0.1 and asked == [0.5]  # steps agree by themselves


def test_the_last_stretch_begins_at_its_share():
    run = Run()
    budget = run.budget(planned=100)
    run.steps = 69
    assert not budget.in_last(0.3)
    run.steps = 70
    assert budget.in_last(0.3) and budget.in_last(1.0)


def test_a_time_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive number of seconds"):
        Run().budget(seconds=0.0)


def test_the_learning_rate_follows_the_budget_to_its_floor():
    run = Run()
    budget = run.budget(planned=100)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = BudgetLR(optimizer, warmup=0.1, floor=0.01)
    schedule.follow(budget.share)
    lrs = []
    for step in (5, 10, 55, 100):
        run.steps = step
        schedule.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.505, 1.0, 0.505, 0.01])
    assert "_share" not in schedule.state_dict()  # the link is no state: a resume makes it again


def stretch_run(share, should_stop=False, sanity=False):
    run = Run()
    budget = run.budget(planned=100)
    run.steps = round(100 * share)
    trainer = SimpleNamespace(should_stop=should_stop, sanity_checking=sanity, check_val_every_n_epoch=1)
    return trainer, SimpleNamespace(budget=budget)


def test_snapshots_are_kept_in_the_last_stretch_only():
    snapshots = SnapshotCheckpoint(stretch=0.3, monitor="val/map", mode="max", save_top_k=3)
    snapshots.on_validation_start(*stretch_run(0.5))
    assert snapshots.save_top_k == 0
    snapshots.on_validation_start(*stretch_run(0.5, should_stop=True))  # a stopped run's last validation counts
    assert snapshots.save_top_k == 3
    snapshots.on_validation_start(*stretch_run(0.2))
    snapshots.on_validation_start(*stretch_run(0.8))
    assert snapshots.save_top_k == 3


def test_without_a_budget_every_validation_is_in_the_stretch():
    snapshots = SnapshotCheckpoint(stretch=0.3, monitor="val/map", mode="max", save_top_k=2)
    snapshots.on_validation_start(SimpleNamespace(should_stop=False, sanity_checking=False), SimpleNamespace())
    assert snapshots.save_top_k == 2


def test_early_stopping_patience_counts_in_the_stretch_only():
    stopping = StretchEarlyStopping(stretch=0.3, monitor="val/map", mode="max", patience=2)
    stopping.wait_count = 1
    stopping.on_validation_start(*stretch_run(0.5))
    assert stopping.wait_count == 0
    stopping.wait_count = 1
    stopping.on_validation_start(*stretch_run(0.9))
    assert stopping.wait_count == 1


def test_validation_is_sparse_before_the_stretch_and_every_epoch_in_it():
    sparse = ValidateLessOftenEarly(stretch=0.3, every=4)
    trainer, module = stretch_run(0.5)
    sparse.on_train_batch_end(trainer, module, None, None, 0)
    assert trainer.check_val_every_n_epoch == 4
    trainer, module = stretch_run(0.8)
    sparse.on_train_batch_end(trainer, module, None, None, 0)
    assert trainer.check_val_every_n_epoch == 1


@pytest.mark.parametrize("stretch", [0, 1.5, -0.1, "half", True])
def test_a_stretch_outside_the_budget_is_one_clear_error(stretch):
    with pytest.raises(UserError, match=f"ensemble.stretch={stretch}: use the last share"):
        SnapshotCheckpoint(stretch=stretch, monitor="val/map", save_top_k=1)


@pytest.mark.parametrize("every", [0, 1.5, True])
def test_a_validation_interval_under_one_epoch_is_one_clear_error(every):
    with pytest.raises(UserError, match=f"callbacks.early_validation.every={every}: use a whole number"):
        ValidateLessOftenEarly(every=every)
