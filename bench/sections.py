"""Inference speed, PyTorch against ONNX Runtime (the backends of infer.py and predict.py; `backend=auto` picks
ONNX Runtime on a CPU): tiles per second for `--tiles` grey tiles and megapixels per second for a whole section
(tiled, blended), both with hflip TTA, one network.

python -m bench.sections CKPT [--tiles 1000] [--height 1000 --width 2000 --overlap 50]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import record
from src.ensemble.members import plan_ensemble, resolve_members
from src.inference.backends import OnnxBackend, TorchBackend, backend_probs
from src.inference.onnx import export_onnx
from src.models.checkpoint import load_module
from src.sections.tiling import section_probs


def timed(work):
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpt")
    parser.add_argument("--tiles", type=int, default=1000)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--overlap", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    section = rng.integers(0, 256, (args.height, args.width)).astype(np.uint8)
    tiles, depths = rng.integers(0, 256, (args.tiles, 101, 101)).astype(np.uint8), rng.uniform(50, 950, args.tiles)
    paths, _ = resolve_members(args.ckpt, 1)
    backends = {"PyTorch": TorchBackend([(load_module(paths[0][0]), 1.0)], tta=True)}
    with tempfile.TemporaryDirectory() as tmp:
        backends["ONNX Runtime"] = OnnxBackend(
            export_onnx(plan_ensemble(paths[0][0]), Path(tmp) / "model.onnx"), tta=True, threads=torch.get_num_threads()
        )
        results = {}
        for name, backend in backends.items():
            backend_probs(backend, tiles[:64], depths[:64], desc="warm-up")
            tile_s, tile_probs = timed(lambda b=backend, n=name: backend_probs(b, tiles, depths, desc=n))
            section_s, probs = timed(
                lambda b=backend: section_probs(section, b, lambda row: 500.0 + row, overlap=args.overlap)
            )
            results[name] = (tile_s, section_s, tile_probs, probs)
    mpix = args.height * args.width / 1e6
    lines = [
        f"one network ({paths[0][0].name}), hflip TTA, fp32: {args.tiles} tiles (batch 64); a {args.height} x "
        f"{args.width} section, 101x101 windows, overlap {args.overlap}",
        f"{'backend':14s} {'tiles/s':>8s} {'section Mpx/s':>14s}",
    ]
    lines += [
        f"{name:14s} {args.tiles / tile_s:8.1f} {mpix / section_s:14.3f}"
        for name, (tile_s, section_s, _, _) in results.items()
    ]
    (_, _, t_torch, s_torch), (_, _, t_onnx, s_onnx) = results.values()
    lines.append(
        f"max |p_onnx - p_torch|: tiles {np.abs(t_onnx - t_torch).max():.1e}, section "
        f"{np.abs(s_onnx - s_torch).max():.1e}"
    )
    record("Inference speed, PyTorch vs ONNX Runtime", "\n".join(lines))


if __name__ == "__main__":
    main()
