"""bench/gpu_check.sh, the script a session with a lent GPU runs as one call, dry-run on the CPU with two folds:
each trained, the post-processing tuned on both, the test tiles predicted by their ensemble, the figures reported."""

import os
import subprocess
import sys

import pytest

from conftest import PROJECT

pytestmark = pytest.mark.slow


def test_gpu_check_dry_run_trains_predicts_and_reports(synthetic_root, tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out")}
    (tmp_path / "out").mkdir()
    result = subprocess.run(
        [
            "bash",
            "bench/gpu_check.sh",
            "--cpu-dry-run",
            "--data",
            str(synthetic_root),
            "--work",
            str(tmp_path / "work"),
            "--folds",
            "2",
            "--",
            "++trainer.limit_val_batches=2",
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = (tmp_path / "work" / "report.md").read_text()
    for figure in (
        "card: no GPU (CPU dry run)",
        "images/s",
        "fold 0 val/map per epoch: 0: ",
        "fold 1 val/map per epoch: 0: ",
        "peak GPU memory: n/a",
        "fold 1 after training: averaged 2 snapshots",
        "out-of-fold (hflip TTA, threshold 0.5)",
        "2-fold out-of-fold mAP over 40 tiles",
        "inference: 12 test tiles, 2 fold(s) x snapshots x hflip TTA",
    ):
        assert figure in report, figure
    assert (tmp_path / "out" / "gpu_check.md").read_text() in report
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "gpu_check.md",
        "curves.png",
        "validation.png",
        "train.log",
        "metrics.csv",
    }
