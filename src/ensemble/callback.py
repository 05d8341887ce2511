"""The Lightning callback that writes a run's ensemble.yaml when training ends."""

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint

from src.ensemble.spec import rank_snapshots, write_ensemble
from src.utils.run_folder import RunFolder


class SnapshotEnsemble(pl.Callback):
    """At fit end, rank the snapshots kept by the ModelCheckpoint that monitors `monitor` and write
    ensemble.yaml (checkpoint, val score, weight decay^i) in the run dir, for evaluation and infer.py."""

    def __init__(self, decay=0.8, mode="weights", monitor="val/map") -> None:
        self.decay, self.mode, self.monitor = decay, mode, monitor

    def on_fit_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        keepers = [
            c
            for c in trainer.checkpoint_callbacks
            if isinstance(c, ModelCheckpoint) and c.monitor == self.monitor and c.best_k_models
        ]
        if keepers:
            write_ensemble(
                RunFolder(Path(trainer.default_root_dir)),
                rank_snapshots(keepers[0].best_k_models),
                self.decay,
                self.mode,
            )
