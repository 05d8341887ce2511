"""Atomic writes: nothing half-written, and the permissions an ordinary write gives."""

import os
import stat

import numpy as np
import pytest

from src.data.synthetic import ensure
from src.inference.submission import write_submission
from src.utils.atomic import atomic_folder, atomic_path, write_text
from src.utils.errors import UserError
from src.utils.plots import save_tile_grid


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_files_written_atomically_get_the_umask_default(tmp_path, umask_022):
    write_text(tmp_path / "config.yaml", "a: 1\n")
    write_submission(["a"], np.zeros((1, 101, 101), bool), tmp_path / "submission.csv")
    save_tile_grid(tmp_path / "tiles.png", [np.zeros((1, 4, 4))], ["x"])
    for name in ("config.yaml", "submission.csv", "tiles.png"):
        assert mode(tmp_path / name) == 0o644, name


def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "postproc.yaml"
    path.write_text("old")
    path.chmod(0o664)
    write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o664


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("kept")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert path.read_text() == "kept" and os.listdir(tmp_path) == ["out.csv"]


def test_generated_folders_get_the_umask_default(tmp_path, umask_022):
    with atomic_folder(tmp_path / "set") as work:
        (work / "f").write_text("x")
    assert mode(tmp_path / "set") == 0o755


def test_synthetic_data_of_other_settings_is_never_used_in_their_place(tmp_path):
    root = ensure(tmp_path / "synthetic", n_train=6, n_test=2, seed=1)
    assert ensure(root, n_train=6, n_test=2, seed=1) == root
    with pytest.raises(UserError, match="generated with .*'seed': 1.*not .*'seed': 2"):
        ensure(root, n_train=6, n_test=2, seed=2)
