"""Every `experiment=` preset trains, evaluates and writes its run folder under debug=tiny (in this process)."""

import re

import numpy as np
import pytest

from conftest import PROJECT, train_run

EXPERIMENTS = sorted(p.stem for p in (PROJECT / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs_under_the_debug_config(experiment, synthetic_root, tmp_path):
    run = train_run(tmp_path / experiment, f"data.root={synthetic_root}", f"experiment={experiment}")
    for name in ("checkpoints/last.ckpt", "ensemble.yaml", "oof.npz", "curves.png", "validation.png"):
        assert (run / name).exists(), name
    assert 0 <= float(np.load(run / "oof.npz")["map_ensemble"]) <= 1


def test_the_presets_are_the_ones_the_docs_name():
    reference = (PROJECT / "docs" / "reference" / "configuration.md").read_text()
    row = next(line for line in reference.splitlines() if line.startswith("| `experiment` |"))
    named = re.findall(r"`([a-z_]+)`", row.split("|")[2])  # the options column of the Configuration table
    assert sorted(named) == EXPERIMENTS
    readme = (PROJECT / "README.md").read_text()
    for experiment in EXPERIMENTS:  # and README shows each in a command
        assert f"experiment={experiment}" in readme, experiment
