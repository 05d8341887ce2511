"""The train task's settings, checked once from the composed config before any work: every shipped recipe
passes, and each bad value is one line naming the key and what to do."""

import pytest

from conftest import compose_config
from src.tasks.train_settings import TrainSettings
from src.utils.errors import UserError


def settings(*overrides):
    return TrainSettings.from_config(compose_config("train", *overrides))


@pytest.mark.parametrize("recipe", [[], ["experiment=cpu_fast"], ["experiment=seed"], ["debug=tiny"]])
def test_the_shipped_recipes_pass(recipe):
    checked = settings(*recipe)
    assert checked.ensemble.top_k >= 1 and checked.oof.batch_size >= 1


def test_the_values_are_typed_and_kept():
    checked = settings("experiment=cpu_fast")
    assert checked.ensemble.stretch == 0.3 and checked.ensemble.top_k == 3 and checked.follows_budget
    assert checked.loss.switch_at == 0.6 and checked.max_time == "00:00:30:00"


@pytest.mark.parametrize(
    "override, line",
    [
        ("ensemble.top_k=0", "ensemble.top_k=0: use a whole number of snapshots, 1 or more"),
        ("ensemble.decay=0", "ensemble.decay=0: use a weight ratio above 0"),
        ("ensemble.mode=mean", "ensemble.mode=mean is not one of weights, predictions"),
        ("ensemble.stretch=1.5", "ensemble.stretch=1.5: use the last share of the budget"),
        ("+ensemble.topk=3", "ensemble.topk is not one of the ensemble settings: they are top_k, decay, mode, stretch"),
        ("oof.batch_size=0", "oof.batch_size=0: use a whole number of tiles, 1 or more"),
        ("oof.tta=maybe", "oof.tta=maybe: use true or false"),
        ("loss.switch_epoch=-1", "loss.switch_epoch=-1: use a whole number of epochs, 0 or more"),
        ("loss.switch_at=1.5", "loss.switch_at=1.5: use a share of the budget above 0 and below 1"),
        ("+loss.swich_at=0.5", "loss.swich_at is not one of the loss settings: they are first, second, switch_epoch"),
        ("batch_size=0", "batch_size=0: use a whole number of tiles, 1 or more"),
        ("fold=-1", "fold=-1: use a whole number of folds, 0 or more"),
        ("val_threshold=1", "val_threshold=1: use a probability above 0 and below 1"),
        ("trainer.max_time=30min", "trainer.max_time=30min is not a wall-clock budget: write DD:HH:MM:SS"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_key(override, line):
    with pytest.raises(UserError) as error:
        settings("experiment=cpu_fast", override)
    assert str(error.value).startswith(line) and "\n" not in str(error.value)


def test_a_budget_with_no_end_is_refused_before_any_work():
    with pytest.raises(UserError, match="trainer.max_epochs=-1 .* gives the training budget no end, which "):
        settings("experiment=cpu_fast", "trainer.max_epochs=-1", "trainer.max_time=null")
