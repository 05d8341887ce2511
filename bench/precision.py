"""Training-step images/s on this machine for fp32 vs bf16 autocast, with and without channels_last.

python bench/precision.py [--encoder resnet34] [--steps 3]
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import record  # noqa: E402
from src.models.seed_unet import SeedUnet  # noqa: E402


def images_per_second(encoder, bf16, channels_last, steps, batch=20):
    torch.manual_seed(0)
    net = SeedUnet(encoder, None, 3, "standard", 16, "bilinear", 16, False, 128)
    x, y = torch.randn(batch, 3, 128, 128), (torch.rand(batch, 1, 128, 128) > 0.5).float()
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters())
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x).float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return batch / (sum(times[1:]) / steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="resnet34")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    lines = [f"seed_unet {args.encoder}, standard stem, 16 filters, batch 20, 128x128, CPU capability "
             f"{torch.backends.cpu.get_cpu_capability()}"]
    for bf16 in (False, True):
        for channels_last in (False, True):
            rate = images_per_second(args.encoder, bf16, channels_last, args.steps)
            lines.append(f"{'bf16' if bf16 else 'fp32':5s} channels_last={channels_last!s:5s} {rate:6.2f} img/s")
    record("Precision and memory format (training step)", "\n".join(lines))


if __name__ == "__main__":
    main()
