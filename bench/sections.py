"""Megapixels per second of whole-section prediction (tiled, blended, hflip TTA): PyTorch vs ONNX Runtime.

python -m bench.sections CKPT [--height 1000 --width 2000 --overlap 50]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import record
from src.ensemble.members import resolve_members
from src.inference.backends import OnnxBackend, TorchBackend
from src.inference.onnx import export_onnx
from src.models.checkpoint import load_module
from src.sections.tiling import section_probs


def timed(predictor, section, overlap):
    start = time.perf_counter()
    probs = section_probs(section, predictor, lambda row: 500.0 + row, overlap=overlap)
    return time.perf_counter() - start, probs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpt")
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--overlap", type=int, default=50)
    args = parser.parse_args()
    section = np.random.default_rng(0).integers(0, 256, (args.height, args.width)).astype(np.uint8)
    paths, _ = resolve_members(args.ckpt, 1)
    torch_predictor = TorchBackend([(load_module(paths[0][0]), 1.0)], tta=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(paths[0][0], Path(tmp) / "model.onnx")
        onnx_predictor = OnnxBackend(onnx_path, tta=True, threads=torch.get_num_threads())
        t_torch, p_torch = timed(torch_predictor, section, args.overlap)
        t_onnx, p_onnx = timed(onnx_predictor, section, args.overlap)
    mpix = args.height * args.width / 1e6
    lines = [f"{args.height} x {args.width} section, 101x101 windows, overlap {args.overlap}, hflip TTA, one network "
             f"({paths[0][0].name})",
             f"PyTorch      {t_torch:7.1f} s  {mpix / t_torch:6.3f} Mpx/s",
             f"ONNX Runtime {t_onnx:7.1f} s  {mpix / t_onnx:6.3f} Mpx/s   max |p_onnx - p_torch| = "
             f"{np.abs(p_onnx - p_torch).max():.2e}"]
    record("Whole-section prediction speed", "\n".join(lines))


if __name__ == "__main__":
    main()
