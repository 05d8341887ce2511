import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)
PROJECT = Path(__file__).resolve().parents[1]
SHARED_TGS = PROJECT.parent / "shared" / "tgs"

# A tiny network and budget for end-to-end runs: the pipeline is real, the numbers are small.
TINY = ["encoder.name=resnet18", "model.stem=standard", "model.filters=8", "batch_size=4",
        "trainer.max_epochs=1", "++trainer.limit_train_batches=2", "++trainer.limit_val_batches=2",
        "oof.tta=false", "ensemble.top_k=2"]


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    from src.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("data") / "synthetic", n_train=40, n_test=12, seed=3)


@pytest.fixture(scope="session")
def shared_tgs():
    if not (SHARED_TGS / "train.csv").exists():
        pytest.skip(f"real TGS data not found at {SHARED_TGS}")
    return SHARED_TGS


def run_cli(*args, timeout=600):
    """Run an entry point of the project in a subprocess; return the CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, *map(str, args)], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, synthetic_root):
    """One tiny training run on synthetic data, shared by the inference and tuning tests."""
    run_dir = tmp_path_factory.mktemp("run") / "fold0"
    result = run_cli("train.py", f"data.root={synthetic_root}", *TINY, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir
