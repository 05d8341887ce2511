"""Hydra callback: after a tune.py sweep, gather every job's result.yaml into summary.csv in the sweep dir."""

from pathlib import Path

import pandas as pd
import yaml
from hydra.experimental.callback import Callback

from src.utils.atomic import atomic_path

SWEEP_RESULT = "result.yaml"  # one tune.py sweep job's setting and score, in its job folder


class SweepSummary(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = [yaml.safe_load(p.read_text()) for p in sorted(sweep_dir.glob(f"*/{SWEEP_RESULT}"))]
        if not rows:
            return
        frame = pd.DataFrame(rows).sort_values("map", ascending=False)
        with atomic_path(sweep_dir / "summary.csv") as tmp:
            frame.to_csv(tmp, index=False)
        print(f"sweep summary ({len(frame)} settings) -> {sweep_dir / 'summary.csv'}")
        print(frame.head(10).to_string(index=False))
