import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TINY, run_cli
from src.inference.postproc import postprocess_batch
from src.inference.tuning import grid_search
from src.metrics.kaggle_map import kaggle_map


def planted(seed=0, n=300):
    """Truth squares; probabilities that are right only when cut at 0.62, plus specks and noise."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((n, 101, 101), bool)
    probs = np.full((n, 101, 101), 0.1, np.float32)
    for k in range(n):
        if k % 3:
            s = rng.integers(20, 60)
            truth[k, 10:10 + s, 20:20 + s] = True
            probs[k][truth[k]] = 0.7
            probs[k, 10:10 + s, 20 + s:30 + s] = 0.55   # a rim that thresholds below 0.55 wrongly add
        probs[k, 90:94, 90:94] = 0.9                     # a 16-px speck on every tile
    return probs, truth


def test_grid_search_finds_the_planted_best_and_matches_the_slow_path():
    probs, truth = planted()
    table = grid_search(probs, truth, [0.3, 0.5, 0.6, 0.65, 0.8], [0, 5, 20], [0, 10, 30])
    perfect = table[table["map"] > 1 - 1e-9]
    assert len(perfect) and set(perfect.threshold) <= {0.6, 0.65}
    assert ((perfect.min_component == 20) | (perfect.min_mask == 30)).all()  # the speck must go
    assert table.iloc[0]["map"] == pytest.approx(1.0)
    for row in table.sample(8, random_state=0).itertuples():
        masks = postprocess_batch(probs, threshold=row.threshold, min_component=row.min_component,
                                  min_mask=row.min_mask)
        assert row.map == pytest.approx(kaggle_map(masks, truth))


@pytest.fixture(scope="module")
def two_fold_multirun(tmp_path_factory, synthetic_root):
    """Two folds trained in parallel processes by Hydra's joblib launcher."""
    sweep = tmp_path_factory.mktemp("multirun")
    result = run_cli("train.py", "-m", "fold=0,1", "data.n_folds=2", f"data.root={synthetic_root}", *TINY,
                     "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2,backend=loky,prefer=processes" in result.stdout + result.stderr
    assert sorted(p.name for p in sweep.glob("fold*")) == ["fold0_0", "fold1_1"]
    return sweep


def test_tune_then_infer_on_a_two_fold_multirun(two_fold_multirun, synthetic_root, tmp_path):
    result = run_cli("tune.py", f"run={two_fold_multirun}", f"hydra.run.dir={tmp_path / 'tune'}")
    assert result.returncode == 0, result.stderr[-3000:]
    tuned = yaml.safe_load((two_fold_multirun / "postproc.yaml").read_text())
    assert tuned["n_tiles"] == 40 and (two_fold_multirun / "tuning.png").exists()
    out = tmp_path / "sub.csv"
    result = run_cli("infer.py", f"ckpt={two_fold_multirun}", f"out={out}", "postproc.min_mask=7",
                     f"hydra.run.dir={tmp_path / 'infer'}")
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "from 2 run(s)" in log and f"'threshold': {tuned['threshold']}" in log and "'min_mask': 7" in log
    assert len(pd.read_csv(out)) == 12


def test_tune_sweep_returns_each_setting_and_summarises(two_fold_multirun, tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("tune.py", "-m", f"run={two_fold_multirun}", "postproc.threshold=0.4,0.6",
                     f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(summary.threshold) == [0.4, 0.6] and summary["map"].between(0, 1).all()
