"""Adding a dataset or a loss is one Python file plus one YAML file (docs/how-to/extend.md): both written
here, in a folder of the test's own, and trained with through the ordinary train task."""

import textwrap

import numpy as np

from conftest import train_run

TOY_DATA = '''
import numpy as np

from src.data.datamodule import TileDataModule, TileSet
from src.data.preprocess import Preprocess


class ToyTiles(TileDataModule):
    """Tiles made in memory: a bright square is salt."""

    def __init__(self, *, n_tiles, **settings):
        super().__init__(**settings)
        self.n_tiles = n_tiles

    def load_tiles(self):
        rng = np.random.default_rng(self.seed)
        images = rng.integers(0, 100, (self.n_tiles, 101, 101)).astype(np.uint8)
        images[::2, 30:70, 30:70] = 220
        folds = np.arange(self.n_tiles) % self.n_folds
        return TileSet(
            ids=[f"toy{k}" for k in range(self.n_tiles)],
            images=images,
            masks=images > 200,
            depths=np.full(self.n_tiles, 300.0, np.float32),
            train_idx=np.flatnonzero(folds != self.fold),
            val_idx=np.flatnonzero(folds == self.fold),
            preprocess=Preprocess.fit(images, [0.0, 1000.0], self.channels, self.input_size),
        )
'''

TOY_LOSS = '''
import torch
from torch import nn

CALLS = []


class SoftL1(nn.Module):
    """Mean absolute difference between the probabilities and the target."""

    def __init__(self, ignore_index=None):
        super().__init__()

    def forward(self, logits, target):
        CALLS.append(len(logits))
        return (torch.sigmoid(logits) - target).abs().mean()
'''


def test_a_dataset_and_a_loss_written_as_one_file_and_one_yaml_each_train(tmp_path, monkeypatch):
    code, conf = tmp_path / "code", tmp_path / "conf"
    for folder in (code, conf / "data", conf / "loss"):
        folder.mkdir(parents=True)
    (code / "toy_data.py").write_text(TOY_DATA)
    (code / "toy_loss.py").write_text(TOY_LOSS)
    (conf / "data" / "toy.yaml").write_text(
        textwrap.dedent("""\
        _target_: toy_data.ToyTiles
        n_tiles: 24
        n_folds: 3
        split_file: null
        channels: [image, depth, coord]
        input_size: 128
        num_workers: 0
        """)
    )
    (conf / "loss" / "toy.yaml").write_text("first:\n  soft_l1: {_target_: toy_loss.SoftL1, weight: 1.0}\n")
    monkeypatch.syspath_prepend(str(code))

    run = train_run(tmp_path / "run", f"hydra.searchpath=[file://{conf}]", "data=toy", "loss=toy")

    import toy_loss

    assert toy_loss.CALLS  # the toy loss is what training (and validation) computed
    oof = np.load(run / "oof.npz")
    assert sorted(oof["ids"]) == sorted(f"toy{k}" for k in range(0, 24, 3))  # fold 0 of the toy tiles
    assert (run / "checkpoints" / "last.ckpt").exists() and (run / "validation.png").exists()
