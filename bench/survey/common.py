"""The steps the survey studies share: per-line label files, training on them, predicting the volume, IoU, and
running an entry point with its peak memory measured."""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.common import PROJECT, train
from src.survey.synthetic import FIRST_INLINE

DEPTH = ["data.survey.depth_origin=0", "data.survey.depth_step=4"]  # 4 m a sample, in TGS's metres
PREDICT_DEPTH = ["predict.depth_origin=0", "predict.depth_step=4"]


def label_files(labels, lines, folder):
    """Per-line label files (inline_<number>.npy, (samples, crosslines)) for the chosen inline indices."""
    folder.mkdir(parents=True)
    for k in lines:
        np.save(folder / f"inline_{FIRST_INLINE + k}.npy", labels[k].T)
    return folder


def iou(pred, truth):
    return (pred & truth).sum() / max((pred | truth).sum(), 1)


def evenly_spaced(n, count):
    """The centres of n equal blocks of `count` lines."""
    return np.unique(((np.arange(n) + 0.5) * count / n).astype(int))


def survey_training(survey, folder, n, minutes, run_dir, *extra, multirun=False):
    """Train one network (from scratch unless `extra` says init=...) on the labelled inlines in `folder` (n of
    them); multirun: a sweep that `extra` spells (its runs in subfolders of `run_dir`)."""
    return train(
        run_dir,
        minutes,
        "experiment=cpu_fast",
        "data=survey",
        f"data.survey.seismic={survey / 'seismic.sgy'}",
        f"data.survey.labels={folder}",
        f"data.n_folds={min(n, 5)}",
        "data.survey.guard=2",
        "data.survey.window_stride=25",
        *DEPTH,
        *extra,
        multirun=multirun,
    )


def predicted_iou(run, survey, labels, unlabelled, work, *extra, name=None):
    """(IoU on the `unlabelled` inlines, the mask's path) of predict.py with `extra` overrides on the volume."""
    name = name or run.name
    out = work / "pred" / name
    run_py(
        "predict.py",
        f"ckpt={run}",
        f"input={survey / 'seismic.sgy'}",
        f"out={out}",
        *PREDICT_DEPTH,
        f"hydra.run.dir={work / 'hydra' / name}",
        *extra,
    )
    mask_path = out.with_name(out.name + ".mask.npy")
    return iou(np.load(mask_path)[unlabelled], labels[unlabelled].astype(bool)), mask_path


def run_py(*args):
    """Run a project entry point; returns its peak resident and peak anonymous memory, in MiB
    (bench/peak_memory.py)."""
    print("$", " ".join(map(str, args)), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak_kib"
        subprocess.run(
            [sys.executable, "-m", "bench.peak_memory", peak, sys.executable, *map(str, args)], cwd=PROJECT, check=True
        )
        return [int(kib) / 1024 for kib in peak.read_text().split()]


class RepeatedCube:
    """A large cube (inline, crossline, samples) that repeats a small one along every axis, never all in memory."""

    def __init__(self, small, shape):
        self.small, self.shape = small, shape

    def line(self, i):
        rows = self.small[i % self.small.shape[0]][np.arange(self.shape[1]) % self.small.shape[1]]
        return rows[:, np.arange(self.shape[2]) % self.small.shape[2]]

    def __getitem__(self, index):  # one trace, as write_segy_volume reads it
        i, j = index
        return self.small[i % self.small.shape[0], j % self.small.shape[1]][
            np.arange(self.shape[2]) % self.small.shape[2]
        ]
