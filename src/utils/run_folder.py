"""The files of a training run folder, named in one place: train.py writes them, every task reads them."""

from dataclasses import dataclass
from pathlib import Path

import yaml

POSTPROC_FILE = "postproc.yaml"  # tune.py's choice, in a run folder or in the multirun folder above its runs


@dataclass(frozen=True)
class RunFolder:
    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def weight_average(self) -> Path:
        """The average of all the snapshots, written after training in ensemble.mode=weights."""
        return self.checkpoints / "weight_average.ckpt"

    def best_n_average(self, n) -> Path:
        """The average of the best n snapshots, made on first use (snapshots=n)."""
        return self.checkpoints / f"weight_average_top{n}.ckpt"

    @property
    def ensemble_file(self) -> Path:
        return self.path / "ensemble.yaml"

    @property
    def oof(self) -> Path:
        return self.path / "oof.npz"

    @property
    def folds(self) -> Path:
        return self.path / "folds.csv"

    @property
    def split_picture(self) -> Path:
        """A survey run's map of its folds (src/survey/split.py)."""
        return self.path / "split.png"

    @property
    def config(self) -> Path:
        return self.path / ".hydra" / "config.yaml"

    @property
    def validation_picture(self) -> Path:
        return self.path / "validation.png"

    @property
    def postproc(self) -> Path:
        """tune.py's post-processing choice (in a run folder, or in a multirun folder tuned as a whole)."""
        return self.path / POSTPROC_FILE

    @property
    def calibration_picture(self) -> Path:
        """tune.py's reliability diagram of the out-of-fold probabilities, before and after temperature scaling."""
        return self.path / "calibration.png"

    @property
    def tuning_picture(self) -> Path:
        """tune.py's mAP against threshold, beside its postproc.yaml."""
        return self.path / "tuning.png"


def is_run(path) -> bool:
    return (Path(path) / "checkpoints").is_dir()


def runs_under(path) -> list[RunFolder]:
    """[RunFolder] of a run folder (itself) or of a multirun folder (its run subfolders, sorted)."""
    path = Path(path).expanduser()
    if is_run(path):
        return [RunFolder(path)]
    return [RunFolder(p) for p in sorted(path.iterdir()) if p.is_dir() and is_run(p)] if path.is_dir() else []


def run_of_checkpoint(ckpt) -> RunFolder:
    """The run folder holding a .ckpt (the folder above checkpoints/), else the file's own folder."""
    ckpt = Path(ckpt)
    return RunFolder(ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent)


def tuned_postproc(ckpt) -> tuple[dict | None, Path | None]:
    """(values, file) of the post-processing tune.py saved for this ckpt, or (None, None). Looked for in the
    run (for a .ckpt file, the run that holds it), then the folder above it (a multirun tuned as a whole)."""
    path = Path(ckpt).expanduser()
    run = run_of_checkpoint(path).path if path.is_file() else path
    for folder in (run, run.parent):
        if (folder / POSTPROC_FILE).is_file():
            return yaml.safe_load((folder / POSTPROC_FILE).read_text()), folder / POSTPROC_FILE
    return None, None
