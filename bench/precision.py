"""Training-step images/s on this machine for fp32 vs bf16 autocast, with and without channels_last; with
--compile, fp32 eager vs torch.compile (inductor) instead, and the time the first (compiling) step took.

python bench/precision.py [--encoder resnet34] [--steps 3] [--compile]
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import record  # noqa: E402
from src.models.seed_unet import SeedUnet  # noqa: E402


def images_per_second(encoder, bf16, channels_last, steps, compiled=False, batch=20):
    """(img/s over `steps` steps after the first, seconds the first step took)."""
    torch.manual_seed(0)
    net = SeedUnet(encoder, None, 3, "standard", 16, "bilinear", 16, False, 128)
    x, y = torch.randn(batch, 3, 128, 128), (torch.rand(batch, 1, 128, 128) > 0.5).float()
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters())
    if compiled:
        net = torch.compile(net)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x).float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return batch / (sum(times[1:]) / steps), times[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="resnet34")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="fp32 eager vs torch.compile instead of bf16")
    args = parser.parse_args()
    lines = [f"seed_unet {args.encoder}, standard stem, 16 filters, batch 20, 128x128, CPU capability "
             f"{torch.backends.cpu.get_cpu_capability()}"]
    variants = ([(False, cl, c) for c in (False, True) for cl in (False, True)] if args.compile
                else [(bf16, cl, False) for bf16 in (False, True) for cl in (False, True)])
    images_per_second(args.encoder, False, True, 3)  # untimed: a process's first training steps run slow
    for bf16, channels_last, compiled in variants:
        rate, first = images_per_second(args.encoder, bf16, channels_last, args.steps, compiled)
        lines.append(f"{'bf16' if bf16 else 'fp32':5s} channels_last={channels_last!s:5s} "
                     f"{'torch.compile' if compiled else 'eager':13s} {rate:6.2f} img/s  first step {first:6.1f} s")
    record("Precision, memory format and compilation (training step)", "\n".join(lines))


if __name__ == "__main__":
    main()
