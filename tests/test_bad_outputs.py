"""What predict.py and infer.py write survives a crash and bad output locations: settings and output paths are
checked before any work, SIGTERM cleans up, a killed run's temporary files are removed by the next run of the same
output, a full disk is one line, and the earlier outputs stay intact through all of it."""

import errno
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from conftest import PROJECT, compose_config, run_task
from src.sections.line_cube import LineCube
from src.tasks.infer import infer
from src.tasks.predict import predict
from src.utils.atomic import atomic_path, remove_stale_temporaries
from src.utils.entry import guarded
from src.utils.errors import UserError


def run_predict(trained_run, tmp_path, inp, out, *extra):
    cfg = compose_config(
        "predict",
        f"ckpt={trained_run}",
        f"input={inp}",
        f"out={out}",
        "snapshots=1",
        "predict.depth_origin=0",
        "predict.depth_step=1",
        *extra,
        run_dir=tmp_path / "hydra",
    )
    return run_task(predict, cfg)


@pytest.fixture
def section(tmp_path):
    path = tmp_path / "section.npy"
    np.save(path, np.random.default_rng(0).normal(0, 1, (120, 150)).astype(np.float32))
    return path


@pytest.mark.parametrize(
    "setting, message",
    [
        ("predict.overlap=-50", "predict.overlap=-50: use a whole number of pixels from 0 to 100"),
        ("predict.overlap=101", "predict.overlap=101: use a whole number"),
        ("predict.overlap=true", "predict.overlap=True: use a whole number"),
        ("predict.batch_size=0", "predict.batch_size=0: use a whole number of windows"),
        ("predict.batch_size=true", "predict.batch_size=True: use a whole number of windows"),
        ("predict.taper=foo", "predict.taper=foo is not one of gaussian, triangular, flat"),
        ("predict.clip_percentiles=[0,200]", r"predict.clip_percentiles=\[0, 200\]: use \[low, high\]"),
        ("predict.clip_percentiles=[50,50]", "use .low, high. with 0 <= low < high <= 100"),
        ("predict.clip_percentiles=[true,99]", r"predict.clip_percentiles=\[True, 99\]: use \[low, high\]"),
        ("predict.temperature=0", "predict.temperature=0: use auto or a number above 0"),
        ("predict.temperature=warm", "predict.temperature=warm: use auto or a number above 0"),
        ("predict.uncertainty=maybe", "predict.uncertainty=maybe: use true or false"),
        ("predict.smooth_lines=-1", "predict.smooth_lines=-1: use a whole number of lines"),
        ("predict.smooth_lines=1.5", "predict.smooth_lines=1.5: use a whole number of lines"),
        ("predict.smooth_lines=true", "predict.smooth_lines=True: use a whole number of lines"),
    ],
)
def test_bad_prediction_settings_are_refused_before_any_work(trained_run, section, tmp_path, setting, message):
    with pytest.raises(UserError, match=message):
        run_predict(trained_run, tmp_path, section, tmp_path / "out" / "pred", setting)
    assert not (tmp_path / "out").exists()


def test_output_locations_that_cannot_be_written_are_refused_before_any_work(trained_run, section, tmp_path):
    (tmp_path / "taken.probs.npy").mkdir()
    with pytest.raises(UserError, match="taken.probs.npy is a folder"):
        run_predict(trained_run, tmp_path, section, tmp_path / "taken", "predict.overlap=50")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match="a_file is a file, not a folder"):
        run_predict(trained_run, tmp_path, section, tmp_path / "a_file" / "pred")
    with pytest.raises(UserError, match="is a folder: name a file"):
        run_task(infer, compose_config("infer", f"ckpt={trained_run}", f"out={tmp_path}", run_dir=tmp_path / "i"))


def test_empty_and_non_numeric_sections_are_one_clear_error(trained_run, tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 110), np.float32))
    with pytest.raises(UserError, match="empty.npy holds an empty section"):
        run_predict(trained_run, tmp_path, tmp_path / "empty.npy", tmp_path / "out" / "a")
    np.save(tmp_path / "flags.npy", np.zeros((120, 110), bool))
    with pytest.raises(UserError, match="flags.npy holds bool values"):
        run_predict(trained_run, tmp_path, tmp_path / "flags.npy", tmp_path / "out" / "b")


def test_a_16_bit_section_image_is_read_as_its_8_bit_grey_levels(trained_run, tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (120, 150)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "eight.png"), grey)
    cv2.imwrite(str(tmp_path / "sixteen.png"), grey.astype(np.uint16) * 257)  # the same picture in 16 bits
    run_predict(trained_run, tmp_path, tmp_path / "eight.png", tmp_path / "out" / "eight")
    run_predict(trained_run, tmp_path, tmp_path / "sixteen.png", tmp_path / "out" / "sixteen")
    np.testing.assert_array_equal(
        np.load(tmp_path / "out" / "eight.probs.npy"), np.load(tmp_path / "out" / "sixteen.probs.npy")
    )


def test_a_full_disk_is_one_line_and_the_earlier_outputs_stay(trained_run, tmp_path, monkeypatch, capsys):
    volume = tmp_path / "volume.npy"
    np.save(volume, np.random.default_rng(0).normal(0, 1, (3, 110, 120)).astype(np.float32))
    out = tmp_path / "out" / "vol"
    run_predict(trained_run, tmp_path, volume, out)
    before = (tmp_path / "out" / "vol.probs.npy").read_bytes()

    def full(self, axis, k, values):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LineCube, "write", full)
    cfg = compose_config(
        "predict",
        f"ckpt={trained_run}",
        f"input={volume}",
        f"out={out}",
        "snapshots=1",
        "predict.depth_origin=0",
        "predict.depth_step=1",
        run_dir=tmp_path / "hydra",
    )
    with pytest.raises(SystemExit) as exit_info:
        guarded(run_task, predict, cfg)
    assert exit_info.value.code == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("error: no space left on the device writing the outputs of out=") and "intact" in line
    assert (tmp_path / "out" / "vol.probs.npy").read_bytes() == before
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_temporary_files_of_a_dead_writer_are_removed_and_a_live_writers_kept(tmp_path):
    target = tmp_path / "pred.probs.npy"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".pred.probs.npy.{dead.stdout.strip()}.abc123.npy"
    stale.write_bytes(b"half")
    with atomic_path(target) as live:
        live.write_bytes(b"being written")
        assert remove_stale_temporaries(target) == [stale]
        assert live.exists() and not stale.exists()
    assert target.read_bytes() == b"being written"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_prediction_stopped_while_writing_a_volume_leaves_no_temporary_files(trained_run, tmp_path, sig):
    volume = tmp_path / "volume.npy"
    np.save(volume, np.random.default_rng(0).normal(0, 1, (40, 110, 120)).astype(np.float32))
    out = tmp_path / "out" / "vol"
    args = [
        sys.executable,
        "predict.py",
        f"ckpt={trained_run}",
        f"input={volume}",
        f"out={out}",
        "snapshots=1",
        "predict.depth_origin=0",
        "predict.depth_step=1",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]
    process = subprocess.Popen(args, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    temporaries = []
    while not temporaries and process.poll() is None and time.monotonic() < deadline:
        temporaries = list((tmp_path / "out").glob(".vol.probs.npy.*")) if (tmp_path / "out").exists() else []
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGSTOP)  # held still in the middle of writing the volume
    if not all(t.exists() for t in temporaries) or not temporaries:
        process.kill()
        pytest.skip("the prediction ended before it could be stopped mid-write")
    os.kill(process.pid, sig)
    os.kill(process.pid, signal.SIGCONT)
    assert process.wait(timeout=60) != 0
    left = [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    if sig == signal.SIGTERM:
        assert not left  # cleaned up on the way out
    else:
        assert left  # SIGKILL cannot be caught: the next run of the same output removes them
        run_predict(trained_run, tmp_path, volume, out)
        assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
        assert np.load(tmp_path / "out" / "vol.probs.npy").shape == (40, 110, 120)
