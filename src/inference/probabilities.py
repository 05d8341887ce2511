"""Probability maps from one or more networks, with horizontal-flip test-time augmentation.

One precision rule: predictions are always computed in float32 (no autocast), whatever precision trained the
network, so the out-of-fold probabilities that tune.py fits thresholds on are the ones infer.py and predict.py
produce.
"""
import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from src.data.tiles import TILE, crop_center, mirror_padded


def pick_device(name="auto"):
    """'auto' -> the GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def tile_probs(module, x, tta):
    """Sigmoid probabilities (N, 101, 101) of one network on padded tiles, averaged over the tile and its
    mirror image (built as training builds an hflipped tile: see mirror_padded)."""
    probs = crop_center(torch.sigmoid(module(x).float())[:, 0], TILE)
    if tta:
        mirrored = crop_center(torch.sigmoid(module(mirror_padded(x)).float())[:, 0], TILE)
        probs = 0.5 * (probs + mirrored.flip(-1))
    return probs


def predict_probs(members, dataset, tta=True, batch_size=32, desc="predict", device="auto"):
    """Weighted mean of the members' probabilities over a dataset -> (N, 101, 101) float32.

    members: [(module, weight)]; weights are normalised to sum 1. Runs on the GPU when there is one.
    """
    device = pick_device(device)
    total = sum(w for _, w in members)
    out = np.zeros((len(dataset), TILE, TILE), dtype=np.float32)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with tqdm(total=len(members) * len(dataset), desc=desc, unit="tile") as bar:
        for module, weight in members:
            module.eval().to(device)
            start = 0
            for batch in loader:
                probs = tile_probs(module, batch["x"].to(device), tta).float().cpu().numpy()
                out[start : start + len(probs)] += (weight / total) * probs
                start += len(probs)
                bar.update(len(probs))
    return out

