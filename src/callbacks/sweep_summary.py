"""Hydra callbacks that end a sweep with its summary: a tune.py sweep's settings (summary.csv), a train.py
multirun's folds (runs_summary.csv: each fold's out-of-fold score, their mean, where the runs are)."""

from pathlib import Path

import numpy as np
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


class FoldSummary(Callback):
    """After a train.py multirun: each run's fold and out-of-fold val/map (best snapshot, ensemble, what it uses),
    from its oof.npz, and their mean, printed and saved as runs_summary.csv in the sweep folder."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = []
        for oof_file in sorted(sweep_dir.glob("*/oof.npz")):
            with np.load(oof_file) as oof:
                used = str(oof["used"]) if "used" in oof else "ensemble"
                rows.append(
                    {
                        "run": oof_file.parent.name,
                        "fold": int(oof["fold"]),
                        "tiles": len(oof["ids"]),
                        "map_best_snapshot": float(oof["map_best"]),
                        "map_ensemble": float(oof["map_ensemble"]),
                        "uses": used,
                        "map": float(oof["map_best" if used == "best snapshot" else "map_ensemble"]),
                    }
                )
        if not rows:
            print(f"train multirun in {sweep_dir}: no run wrote oof.npz")
            return
        frame = pd.DataFrame(rows)
        with atomic_path(sweep_dir / "runs_summary.csv") as tmp:
            frame.to_csv(tmp, index=False)
        print(frame.to_string(index=False, float_format="%.4f"))
        print(
            f"{len(frame)} run(s) in {sweep_dir}: mean out-of-fold val/map {frame['map'].mean():.4f} "
            f"(at threshold 0.5; tune.py run={sweep_dir} tunes the post-processing): {sweep_dir / 'runs_summary.csv'}"
        )
