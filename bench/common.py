"""Helpers shared by the bench scripts: run train.py, read and score labelled tiles, read a run's log, record
a result in RESULTS.md."""

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch

from src.data import io
from src.inference.backends import backend_probs, build_backend
from src.metrics.kaggle_map import kaggle_map
from src.utils.config import cpu_precision
from src.utils.run_folder import RunFolder

PROJECT = Path(__file__).resolve().parents[1]
SHARED_TGS = PROJECT.parent / "shared" / "tgs"
RESULTS = Path(os.environ.get("BENCH_RESULTS", Path(__file__).resolve().parent / "RESULTS.md"))  # env: try a script


def train(run_dir, minutes, *overrides, multirun=False):
    """Run train.py with `overrides` for a wall-clock budget of `minutes` (per job) into `run_dir`; returns it.
    multirun: a Hydra sweep (e.g. over fold=0,1,2,3,4) whose jobs land in subfolders of `run_dir`."""
    where = ["-m", f"hydra.sweep.dir={run_dir}"] if multirun else [f"hydra.run.dir={run_dir}"]
    cmd = [sys.executable, "train.py", *where, f"trainer.max_time=00:00:{minutes:02d}:00", "oof.tta=false", *overrides]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=PROJECT, check=True)
    return Path(run_dir)


def read_tiles(root, ids):
    """(images uint8, masks bool, depths) of labelled tiles of a Kaggle-layout root."""
    root = Path(root)
    images = io.read_images(root / "train" / "images", ids)
    masks = io.read_masks(root / "train" / "masks", ids)
    return images, masks, io.depths_for(ids, io.read_depths(root), root)


def score(run_dir, root, ids, tta=True, threshold=0.5):
    """Competition mAP on labelled `ids` of the run's ensemble as infer.py predicts (its backend, hflip TTA, no
    post-processing)."""
    images, truth, depths = read_tiles(root, ids)
    probs = backend_probs(build_backend(run_dir, tta=tta), images, depths, desc=Path(run_dir).name)
    return kaggle_map(probs > threshold, truth)


def split_root(shared, work, holdout, seed):
    """A data root without the held-out labels (images linked, not copied); returns it and the held-out ids."""
    labels = pd.read_csv(shared / "train.csv", dtype={"id": str})
    held = labels.sample(frac=holdout, random_state=seed)
    root = work / "tgs_without_holdout"
    root.mkdir()
    labels.drop(held.index).to_csv(root / "train.csv", index=False)
    for name in ("depths.csv", "train", "test"):
        os.symlink(shared / name, root / name)
    return root, held.id.tolist()


def logged(run_dir):
    """(epochs started, optimizer steps, best val/map) from the run's CSV log."""
    log = pd.read_csv(Path(run_dir) / "logs" / "metrics.csv")
    return int(log.epoch.max()) + 1, int(log.step.max()) + 1, float(log["val/map"].max())


def training_seconds(run_dir):
    """Seconds of training (validation included) that Lightning's Timer had counted at the last checkpoint."""
    state = torch.load(RunFolder(Path(run_dir)).last_checkpoint, map_location="cpu", weights_only=True)
    return state["callbacks"]["Timer"]["time_elapsed"]["train"]


def machine():
    """The machine a figure was measured on: the GPU's name, else the CPU's model and whether it computes bf16
    natively (the two CPUs this project has run on differ there, and figures from them are not compared)."""
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        info, model = "", platform.processor() or platform.machine()
    flags = "AVX-512 BF16" if "avx512_bf16" in info.split() else ("AVX2" if "avx2" in info.split() else "")
    return (
        f"CPU {model}{f' ({flags})' if flags else ''}, {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, precision {cpu_precision()}"
    )


def commit():
    if os.environ.get("BENCH_COMMIT"):  # where the tree was copied without its .git (the device machine)
        return os.environ["BENCH_COMMIT"]
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT
            ).stdout.strip()
            or "uncommitted"
        )
    except OSError:
        return "unknown"


def running_module() -> str:
    """The module `python -m` ran: bench.budget, or bench.survey for a package's __main__."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return spec.name.removesuffix(".__main__") if spec is not None else f"bench.{Path(sys.argv[0]).stem}"


def record(title, body, command=None, results=RESULTS):
    """Print `body` and append it under a heading, with the command that made it, to `results` (RESULTS.md)."""
    print(body)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    precision = (
        f"SALTSEG_CPU_PRECISION={os.environ['SALTSEG_CPU_PRECISION']} "
        if os.environ.get("SALTSEG_CPU_PRECISION")
        else ""
    )
    command = command or f"{precision}python -m {running_module()} {' '.join(sys.argv[1:])}".rstrip()
    block = f"\n### {title}\n\n`{command}` — {stamp}, {machine()}, commit {commit()}\n\n```\n{body.rstrip()}\n```\n"
    with open(results, "a") as handle:
        handle.write(block)
    return block
