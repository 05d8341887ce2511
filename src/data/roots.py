"""Where the data lives: the configured Kaggle-layout folder, or the synthetic set generated on first use."""
from pathlib import Path

from src.data import synthetic


def resolve_root(data_cfg):
    root = Path(data_cfg.root).expanduser().resolve()
    if data_cfg.get("synthetic"):
        spec = data_cfg.synthetic
        synthetic.ensure(root, n_train=spec.n_train, n_test=spec.n_test, seed=spec.seed)
    return root
