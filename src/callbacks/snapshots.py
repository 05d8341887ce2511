"""The snapshots a run keeps for its ensemble: from the last stretch of its budget, kept across a resume into a new
run folder."""

import logging
import shutil
from pathlib import Path

from pytorch_lightning.callbacks import ModelCheckpoint

from src.callbacks.stretch import check_stretch, in_stretch
from src.utils.atomic import atomic_path

log = logging.getLogger(__name__)


class SnapshotCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint for the K best snapshots by val/map, which also carries them over when a run
    resumes into another folder (Hydra gives every command its own). Lightning forgets the snapshots a checkpoint
    lists when their folder differs from this run's, so the ensemble would hold only those saved after the resume;
    here they are copied into this run's checkpoints folder and ranked with the new ones. Snapshots are kept from
    the last `stretch` of the training budget only (src/callbacks/stretch.py)."""

    def __init__(self, stretch: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stretch = check_stretch(stretch)
        self.top_k = self.save_top_k

    def on_validation_start(self, trainer, pl_module) -> None:
        """Keep the best snapshots of this validation only in the stretch (Lightning saves them after it)."""
        if not trainer.sanity_checking:
            self.save_top_k = self.top_k if in_stretch(trainer, pl_module, self.stretch) else 0

    @property
    def state_key(self) -> str:  # ModelCheckpoint's, so runs saved before this class existed still resume
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)

    def load_state_dict(self, state_dict: dict) -> None:
        old = state_dict.get("dirpath")
        if old and self.dirpath and Path(old).resolve() != Path(self.dirpath).resolve():
            state_dict = self._carried_over(state_dict, Path(self.dirpath))
        super().load_state_dict(state_dict)

    def _carried_over(self, state_dict: dict, dirpath: Path) -> dict:
        """`state_dict` with its snapshots copied into `dirpath` (those still on disk) and its paths pointing there."""
        kept = {}
        for path, score in state_dict.get("best_k_models", {}).items():
            source, target = Path(path), dirpath / Path(path).name
            if not source.is_file():
                log.warning("snapshot %s of the resumed run is gone: the ensemble goes on without it", source)
                continue
            if not target.exists():
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)
            kept[str(target)] = score
        log.info("resumed into %s: %d snapshot(s) of the earlier run carried over", dirpath, len(kept))
        ranked = sorted(kept, key=lambda p: float(kept[p]), reverse=self.mode == "max")
        return {
            **state_dict,
            "dirpath": str(dirpath),
            "best_k_models": kept,
            "best_model_path": ranked[0] if ranked else "",
            "best_model_score": kept[ranked[0]] if ranked else None,
            "kth_best_model_path": ranked[-1] if ranked else "",
            "kth_value": kept[ranked[-1]] if ranked else state_dict.get("kth_value"),
            "last_model_path": "",
        }
