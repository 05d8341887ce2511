"""What a network costs on this machine: parameters, GFLOP per 128x128 image (forward, and a training step:
forward + backward, counted by torch.utils.flop_counter) and raw training images/s (batch 20, the trainer's
precision, channels_last), for networks named by train.py overrides. Rates alternate between the networks
repeat by repeat, so drift of the machine falls on all of them; their spread is printed.

python -m bench.network_cost [--net NAME "OVERRIDES"]... [--steps 6] [--repeats 3]
Default: the published seed network (experiment=seed) against the project's hyper_unet under the same recipe.
Final line: <name>=<img/s> ... for each network
"""

import argparse
import shlex

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from torch.utils.flop_counter import FlopCounterMode

from bench.common import record
from bench.throughput import step_rate
from src.data.preprocess import Preprocess
from src.tasks.train import build_module
from src.utils.config import CONFIG_DIR, cpu_precision

DEFAULT_NETS = [
    ("seed_unet", "experiment=seed"),
    ("hyper_unet", "experiment=seed model=hyper_unet"),
]


def network(overrides):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=shlex.split(overrides))
    preprocess = Preprocess(tuple(cfg.data.channels), 0.5, 0.25, 0.0, 1000.0, 128)  # constants do not change cost
    return build_module(cfg, preprocess).net


def gflop(net, backward):
    """GFLOP per image of one forward (and backward) pass of a batch of 2, fp32, training mode."""
    x = torch.randn(2, 3, 128, 128)
    net = net.train()
    with FlopCounterMode(display=False) as counter:
        out = net(x)
        if backward:
            out.float().mean().backward()
    net.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2 / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", nargs=2, action="append", metavar=("NAME", "OVERRIDES"), help="a network to cost")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    nets = {name: network(overrides) for name, overrides in (args.net or DEFAULT_NETS)}
    bf16 = cpu_precision().startswith("bf16")
    for net in nets.values():
        step_rate(net, bf16, True, 2)  # untimed: a process's first training steps run slow
    rates = {name: [] for name in nets}
    for repeat in range(args.repeats):
        order = list(nets) if repeat % 2 == 0 else list(nets)[::-1]
        for name in order:
            rates[name].append(step_rate(nets[name], bf16, True, args.steps)[0])
    lines = [
        f"raw training step, batch 20, 128x128, {'bf16 autocast' if bf16 else 'fp32'}, channels_last, "
        f"{args.steps} steps x {args.repeats} repeats (order alternating)",
        f"{'network':12s} {'params M':>9s} {'fwd GFLOP':>10s} {'train GFLOP':>12s} {'img/s':>7s} {'spread':>14s}",
    ]
    for name, overrides in args.net or DEFAULT_NETS:
        net, rate = nets[name], rates[name]
        params = sum(p.numel() for p in net.parameters()) / 1e6
        lines.append(
            f"{name:12s} {params:9.2f} {gflop(net, False):10.2f} {gflop(net, True):12.2f} {np.mean(rate):7.2f} "
            f"{min(rate):6.2f}..{max(rate):6.2f}  ({overrides})"
        )
    lines.append(" ".join(f"{name}={np.mean(rate):.2f}" for name, rate in rates.items()))
    record("Network cost: parameters, GFLOP per image, training images/s", "\n".join(lines))


if __name__ == "__main__":
    main()
