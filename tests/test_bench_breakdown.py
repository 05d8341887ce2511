"""bench.budget_breakdown reads Lightning's own SimpleProfiler report: the totals it finds are the profiler's."""

import pytest
from pytorch_lightning.profilers import SimpleProfiler

from bench.budget_breakdown import breakdown, profiled

ACTIONS = [
    "run_training_batch",
    "[_TrainingEpochLoop].train_dataloader_next",
    "[Strategy]SingleDeviceStrategy.validation_step",
    "[Callback]SnapshotCheckpoint{'monitor': 'val/map', 'mode': 'max'}.on_validation_end",
    "[Callback]TrainingCurves.on_train_epoch_end",
]


def test_the_report_is_read_back_to_the_profilers_totals(tmp_path):
    profiler = SimpleProfiler(dirpath=tmp_path, filename="profile")
    profiler.setup(stage="fit")
    for repeat, action in enumerate(ACTIONS * 3):
        with profiler.profile(action):
            sum(range(2000 * (repeat + 1)))
    profiler.describe()
    totals = profiled(tmp_path / "fit-profile.txt")
    for action in ACTIONS:
        assert totals[action] == pytest.approx(sum(profiler.recorded_durations[action]), rel=1e-3, abs=1e-5)
    groups = breakdown(totals)
    assert groups["training steps"] == totals["run_training_batch"]
    assert groups["checkpoints"] == totals[ACTIONS[3]] and groups["validation"] == totals[ACTIONS[2]]
    assert groups["other callbacks"] == totals[ACTIONS[4]]
