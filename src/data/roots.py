"""Where the Kaggle-layout tiles live: the configured folder, or the synthetic one generated on first use."""

from pathlib import Path

from src.data import synthetic as synthetic_tiles


def resolve_root(root: str | Path, synthetic: dict | None = None) -> Path:
    """The data folder as an absolute path, its synthetic tiles ({n_train, n_test, seed}) generated first when
    `synthetic` is given."""
    path = Path(root).expanduser().resolve()
    if synthetic:
        synthetic_tiles.ensure(path, n_train=synthetic["n_train"], n_test=synthetic["n_test"], seed=synthetic["seed"])
    return path
