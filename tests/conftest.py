"""Fixtures: generated data, configs composed with Hydra's compose API, tasks run in this process (fast), and
run_cli, which runs an entry point in a subprocess for what only the command line shows (one-line errors, exit
codes, DDP's re-launch, Hydra's launchers)."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict
from pytorch_lightning.callbacks import Timer
from pytorch_lightning.trainer.states import RunningStage

from src.utils.config import CONFIG_DIR  # importing it registers the resolvers the configs use

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # before src imports albumentations
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing download fails at once

torch.set_num_threads(2)
PROJECT = Path(__file__).resolve().parents[1]
SHARED_TGS = PROJECT.parent / "shared" / "tgs"
TRAINING_FIXTURES = {"synthetic_root", "trained_run", "shared_tgs"}  # a test asking for one trains or reads real data


def pytest_collection_modifyitems(config, items):
    """The fast tier, `pytest -m "not slow"`, is the unit tests of the pure pieces: every test that trains a
    network or reads the real data (it asks, directly or through another fixture, for one of
    TRAINING_FIXTURES) is marked slow, as are the subprocess tests, which say so themselves."""
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def compose_config(name, *overrides, run_dir=None):
    """A task's config as its entry point composes it from `overrides`, with Hydra's output dir at `run_dir`."""
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose(name, overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.RUN
        if run_dir is not None:
            cfg.hydra.runtime.output_dir = str(run_dir)
    return cfg


def loss_terms(**weights):
    """{name: term spec} with these weights, each term's class as conf/loss/*.yaml name it."""
    import yaml

    catalogue = {}
    for path in sorted((Path(CONFIG_DIR) / "loss").glob("*.yaml")):
        loss = yaml.safe_load(path.read_text())
        for phase in ("first", "second"):
            catalogue |= {
                name: {k: v for k, v in spec.items() if k != "weight"} for name, spec in (loss.get(phase) or {}).items()
            }
    return {name: {**catalogue[name], "weight": weight} for name, weight in weights.items()}


def run_task(task, cfg):
    """Run a task function in this process as Hydra's entry point would: HydraConfig set, the composed config
    saved as <output dir>/.hydra/config.yaml (later tasks read a run's config from there)."""
    HydraConfig.instance().set_config(cfg)
    if cfg.hydra.runtime.get("output_dir"):
        saved = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        (Path(cfg.hydra.runtime.output_dir) / ".hydra").mkdir(parents=True, exist_ok=True)
        OmegaConf.save(saved, Path(cfg.hydra.runtime.output_dir) / ".hydra" / "config.yaml")
    return task(cfg)


def train_run(run_dir, *overrides):
    """Train in this process under debug=tiny (the `overrides` after it); returns the run folder."""
    from src.tasks.train import train

    run_task(train, compose_config("train", "debug=tiny", *overrides, run_dir=run_dir))
    return Path(run_dir)


def use_the_ensemble(run_dir):
    """Let a run use its snapshot ensemble even where it scored below its best snapshot (tiny runs often do):
    for tests of what is made from the ensemble (graphs, averages), not of that choice."""
    import yaml

    path = Path(run_dir) / "ensemble.yaml"
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if k not in ("use", "why")}))
    return Path(run_dir)


class StopAfterEpoch(pl.Callback):
    """Interrupts a run after `epoch` (0-based), as a crash or a killed job would (tests add it by _target_)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            trainer.should_stop = True


class PauseAtEpoch(pl.Callback):
    """Stands still at the start of `epoch` (after the epoch before it was saved), writing `ready` first: the
    point where a test kills the process, the same on any machine."""

    def __init__(self, epoch, ready):
        self.epoch, self.ready = epoch, Path(ready)

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            self.ready.write_text("paused")
            while True:
                time.sleep(1)


class RecordLearningRate(pl.Callback):
    """Writes {global step: learning rate} of every training step to lrs.json in the run folder (lrs-rankN.json
    for DDP rank N > 0)."""

    def __init__(self):
        self.lrs = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs[trainer.global_step] = trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_end(self, trainer, pl_module):
        name = "lrs.json" if trainer.global_rank == 0 else f"lrs-rank{trainer.global_rank}.json"
        (Path(trainer.default_root_dir) / name).write_text(json.dumps(self.lrs))


class VirtualClock(Timer):
    """Lightning's Timer (the time budget, as trainer.max_time makes it) on a clock the test drives: every training
    step takes `step_seconds` (`other_rank_step_seconds` on DDP ranks > 0) and every validation
    `validation_seconds`, however fast the machine is. Tests add it by _target_ with the budget in `seconds`."""

    def __init__(self, seconds, step_seconds=1.0, validation_seconds=0.0, other_rank_step_seconds=None):
        super().__init__(duration=timedelta(seconds=seconds), interval="step", verbose=False)
        self.now = 0.0
        self.step_seconds, self.validation_seconds = step_seconds, validation_seconds
        self.other_rank_step_seconds = other_rank_step_seconds

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        other = trainer.global_rank > 0 and self.other_rank_step_seconds is not None
        self.now += self.other_rank_step_seconds if other else self.step_seconds

    def on_validation_start(self, trainer, pl_module):
        super().on_validation_start(trainer, pl_module)
        if not trainer.sanity_checking:
            self.now += self.validation_seconds

    def time_elapsed(self, stage=RunningStage.TRAINING):
        return self.now + self._offset if stage == RunningStage.TRAINING else super().time_elapsed(stage)


def validated_epochs(run_dir):
    """The epochs whose val/map a run's CSV log holds."""
    metrics = pd.read_csv(Path(run_dir) / "logs" / "metrics.csv")
    return sorted(metrics.dropna(subset=["val/map"]).epoch.astype(int).unique())


def run_cli(*args, timeout=600):
    """Run an entry point of the project in a subprocess (which can name this file's callbacks by _target_);
    return the CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PROJECT / "tests")}
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout
    )


def last_line(result):
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    from src.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("data") / "synthetic", n_train=40, n_test=12, seed=3)


@pytest.fixture(scope="session")
def shared_tgs():
    if not (SHARED_TGS / "train.csv").exists():
        pytest.skip(f"real TGS data not found at {SHARED_TGS}")
    return SHARED_TGS


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, synthetic_root):
    """One tiny training run on synthetic data, shared by the inference, tuning and section tests."""
    return train_run(tmp_path_factory.mktemp("run") / "fold0", f"data.root={synthetic_root}")
