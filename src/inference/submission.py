"""The Kaggle submission file, written atomically."""

from pathlib import Path

import pandas as pd

from src.data.rle import rle_encode
from src.utils.atomic import atomic_path


def write_submission(ids, masks, path) -> Path:
    frame = pd.DataFrame({"id": list(ids), "rle_mask": [rle_encode(m) for m in masks]})
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path
