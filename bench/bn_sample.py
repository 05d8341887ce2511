"""How many training tiles a weight average's BatchNorm recompute needs: one finished run's snapshots averaged
again with BatchNorm recomputed on all its training tiles and on seeded samples (ensemble.bn_tiles), each scored
out of fold on the run's validation tiles (threshold 0.5, no TTA) and timed. The snapshots are the same in every
arm, so only the BatchNorm statistics differ.

python -m bench.bn_sample --run RUN_DIR [--tiles 0 1200 600 300]   (0: all of them)
Final line: bn<N>=<mAP>/<seconds> ... for each sample size
"""

import argparse
import time
from pathlib import Path

from omegaconf import OmegaConf

from bench.common import record
from src.ensemble.averaging import weight_average
from src.ensemble.members import load_networks, run_datamodule
from src.ensemble.spec import read_ensemble
from src.inference.backends import predict_tiles
from src.metrics.kaggle_map import kaggle_map
from src.utils.run_folder import RunFolder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a finished run folder with 2 or more snapshots")
    parser.add_argument("--tiles", type=int, nargs="+", default=[0, 1200, 600, 300])
    args = parser.parse_args()
    run = RunFolder(args.run.resolve())
    datamodule = run_datamodule(run, OmegaConf.load(run.config))
    mode, members = read_ensemble(run)
    networks = load_networks(members)
    val = datamodule.val_idx
    lines = [f"{args.run.name}: {len(networks)} snapshots averaged, {len(datamodule.train_idx)} training tiles"]
    results = []
    for most in args.tiles:
        loader = datamodule.labelled_train_loader(most or None)
        started = time.monotonic()
        averaged = weight_average([m for m, _ in networks], [w for _, w in networks], loader, device="cpu")
        seconds = time.monotonic() - started
        probs = predict_tiles([(averaged, 1.0)], datamodule.images[val], datamodule.depths[val], tta=False)
        score = kaggle_map(probs > 0.5, datamodule.masks[val] == 1)
        results.append((len(loader.dataset), score, seconds))
        lines.append(f"BatchNorm on {len(loader.dataset):5d} tiles: {seconds:6.1f} s, out-of-fold mAP {score:.4f}")
    lines.append(" ".join(f"bn{n}={score:.4f}/{seconds:.0f}s" for n, score, seconds in results))
    record("BatchNorm recompute: how many training tiles", "\n".join(lines))


if __name__ == "__main__":
    main()
