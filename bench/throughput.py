"""Training and inference speed on this machine.

Default: training images/s of our pipeline (DataModule with augmentation, LightningModule, logging,
checkpointing) against a raw PyTorch loop over the same network, batch, precision and steps; and inference
tiles/s. --step-variants: the raw training step of the experiment's network in fp32 vs bf16 autocast, with and
without channels_last; with --compile, fp32 eager vs torch.compile (inductor) instead, and the time the first
(compiling) step took.

python -m bench.throughput [--quick] [--encoders resnet34 se_resnext50_32x4d] [--steps N] [--repeats R]
                           [--profile] [--experiment E]
python -m bench.throughput --step-variants [--compile] [--encoders resnet34] [--steps 3]
python -m bench.throughput --loader [--workers 0 2] [--batches 40]   (the loader alone: what the CPU can feed)
Final line (default): train_ratio=<ours/raw> infer_img_s=<n>
"""

import argparse
import copy
import os
import tempfile
import time

import numpy as np
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict
from pytorch_lightning.loggers import CSVLogger

from bench.common import SHARED_TGS, record
from src.data.build import build_datamodule
from src.inference.backends import predict_tiles
from src.tasks.train import build_module
from src.utils.config import CONFIG_DIR, cpu_precision
from src.utils.run_folder import RunFolder

WARMUP = 2  # steps of each timed loop left out of its timing
WARMUP_STEPS = 6  # untimed raw steps before either loop: the process's first training steps run slow


class StepTimer(pl.Callback):
    """Wall time of each training step and the time spent waiting for its batch."""

    def __init__(self):
        self.starts, self.ends = [], []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.starts.append(time.perf_counter())

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.ends.append(time.perf_counter())


def config(encoder, experiment, data_root, steps, out_dir):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"experiment={experiment}",
                f"encoder.name={encoder}",
                f"data.root={data_root}",
                f"++trainer.max_steps={steps}",
                "++trainer.limit_val_batches=0",
                f"trainer.default_root_dir={out_dir}",
                f"callbacks.last.dirpath={out_dir}/ckpt",
                "loss.switch_at=null",
                "loss.switch_epoch=null",
                "~callbacks.augmentation_preview",
                "~callbacks.curves",
                "~callbacks.snapshot_ensemble",
                "~callbacks.early_stopping",
                "~callbacks.snapshots",
            ],
        )  # no validation; the raw loop's loss throughout


def prepare(cfg, out_dir):
    datamodule = build_datamodule(cfg, RunFolder(out_dir))
    datamodule.setup()
    module = build_module(cfg, datamodule.preprocess)
    module.setup("fit")  # its loss, for the raw loop
    return datamodule, module


def ours(cfg, out_dir, datamodule, module):
    timer = StepTimer()
    callbacks = [instantiate(c) for c in cfg.callbacks.values()] + [timer]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=CSVLogger(out_dir), enable_progress_bar=False)
    trainer.fit(module, datamodule=datamodule)
    starts, ends = np.array(timer.starts[WARMUP:]), np.array(timer.ends[WARMUP:])
    step_s = (ends[-1] - starts[0]) / len(starts)
    wait = (starts[1:] - ends[:-1]).sum() / (ends[-1] - starts[0])
    return cfg.batch_size / step_s, wait


def raw(cfg, datamodule, module, steps):
    """The same network and loss, a plain loop over pre-made tensors: no DataLoader, no framework. The same
    precision (bf16 autocast when the trainer's is bf16-mixed, the loss in fp32) and memory format as ours."""
    net, criterion = module.net.train(), module.criterion
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    items = [datamodule.subset(datamodule.train_idx)[k] for k in range(cfg.batch_size)]
    x, y = torch.stack([i["x"] for i in items]), torch.stack([i["y"] for i in items])
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    bf16 = str(cfg.trainer.precision).startswith("bf16")
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = net(x)
        loss = criterion(logits[..., 13:114, 13:114].float(), y[..., 13:114, 13:114], 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return cfg.batch_size / np.mean(times[WARMUP:])


def profile_both(cfg, out_dir, datamodule, module, steps):
    """Print torch.profiler's busiest operations (self CPU time) of our loop and of the raw one, in both orders:
    what ours spends that raw does not is the framework's cost."""
    for order in (("ours", "raw"), ("raw", "ours")):
        for name in order:
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
                ours(cfg, out_dir, datamodule, module) if name == "ours" else raw(cfg, datamodule, module, steps)
            print(f"--- {name} ({' then '.join(order)}), {steps} steps")
            print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def inference(module, datamodule, n_tiles, tta):
    idx = np.resize(datamodule.val_idx, n_tiles)
    start = time.perf_counter()
    predict_tiles(
        [(module.eval(), 1.0)],
        datamodule.images[idx],
        datamodule.depths[idx],
        tta=tta,
        batch_size=64,
        desc=f"infer tta={tta}",
    )
    return n_tiles / (time.perf_counter() - start)


def step_rate(net, bf16, channels_last, steps, compiled=False, batch=20):
    """(img/s over `steps` raw training steps of a copy of `net` after the first, seconds the first step took)."""
    torch.manual_seed(0)
    net = copy.deepcopy(net).train()
    x, y = torch.randn(batch, 3, 128, 128), (torch.rand(batch, 1, 128, 128) > 0.5).float()
    net, x = (
        (net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last))
        if channels_last
        else (net.to(memory_format=torch.contiguous_format), x)
    )
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


def loader_rates(args):
    """Images/s the training DataLoader delivers (augmentation + collate, no network), in the main process and
    with worker processes: what the CPU can feed a GPU, per core."""
    lines = [
        f"experiment={args.experiment}'s training loader, batch of the preset, {args.batches} batches after one "
        f"untimed, data {args.data}, {os.cpu_count()} cores"
    ]
    with tempfile.TemporaryDirectory() as out_dir:
        cfg = config(args.encoders[0], args.experiment, args.data, 1, out_dir)
        for workers in args.workers:
            with open_dict(cfg):
                cfg.data.num_workers = workers
            datamodule = build_datamodule(cfg, RunFolder(out_dir))
            datamodule.setup()
            batches = iter(datamodule.train_dataloader())
            next(batches)  # worker start-up is not throughput
            start = time.perf_counter()
            for _ in range(args.batches):
                batch = next(batches)
            rate = args.batches * len(batch["x"]) / (time.perf_counter() - start)
            cores = max(workers, 1)
            lines.append(f"num_workers={workers}: {rate:7.1f} images/s, {rate / cores:6.1f} per core")
    record("Training loader throughput (augmentation + collate)", "\n".join(lines))


def step_variants(args):
    variants = (
        [(False, cl, c) for c in (False, True) for cl in (False, True)]
        if args.compile
        else [(bf16, cl, False) for bf16 in (False, True) for cl in (False, True)]
    )
    lines = [
        f"experiment={args.experiment}'s network, raw training step, batch 20, 128x128, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}"
    ]
    for encoder in args.encoders:
        with tempfile.TemporaryDirectory() as out_dir:
            net = prepare(config(encoder, args.experiment, args.data, args.steps, out_dir), out_dir)[1].net
        step_rate(net, False, True, 3)  # untimed: a process's first training steps run slow
        for bf16, channels_last, compiled in variants:
            rate, first = step_rate(net, bf16, channels_last, args.steps, compiled)
            lines.append(
                f"{encoder:20s} {'bf16' if bf16 else 'fp32':5s} channels_last={channels_last!s:5s} "
                f"{'torch.compile' if compiled else 'eager':13s} {rate:6.2f} img/s  first step {first:6.1f} s"
            )
    record("Precision, memory format and compilation (training step)", "\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="resnet34 only, few steps (< 60 s)")
    parser.add_argument("--step-variants", action="store_true", help="precision / memory format of the raw step")
    parser.add_argument("--loader", action="store_true", help="images/s of the training loader alone, per core")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="with --loader: num_workers values")
    parser.add_argument("--batches", type=int, default=40, help="with --loader: batches timed")
    parser.add_argument("--compile", action="store_true", help="with --step-variants: eager vs torch.compile")
    parser.add_argument(
        "--encoders",
        nargs="+",
        default=None,
        help="default: resnet34 se_resnext50_32x4d; resnet34 with --step-variants",
    )
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--steps", type=int, default=None, help="default: 12; 3 with --step-variants")
    parser.add_argument("--repeats", type=int, default=1, help="ours and raw loops, order alternating")
    parser.add_argument("--profile", action="store_true", help="print torch.profiler's busiest operations of both")
    parser.add_argument("--infer-tiles", type=int, default=1000)
    parser.add_argument(
        "--scale-tiles",
        type=int,
        default=4000,
        help="also time this many tiles (hflip TTA, first encoder) to check linear scaling; 0 skips",
    )
    parser.add_argument("--data", default=str(SHARED_TGS))
    args = parser.parse_args()
    if args.step_variants:
        args.encoders, args.steps = args.encoders or ["resnet34"], args.steps or 3
        return step_variants(args)
    if args.loader:
        args.encoders = args.encoders or ["resnet34"]
        return loader_rates(args)
    args.encoders, args.steps = args.encoders or ["resnet34", "se_resnext50_32x4d"], args.steps or 12
    if args.quick:
        args.encoders, args.steps, args.infer_tiles, args.scale_tiles = ["resnet34"], 5, 100, 0
    torch.manual_seed(0)
    lines = [
        f"experiment={args.experiment}, {args.steps} steps (first {WARMUP} not timed) after {WARMUP_STEPS} "
        f"untimed warm-up steps, data {args.data}, precision {cpu_precision()} in both loops",
        f"{'encoder':22s} {'ours img/s':>10s} {'raw img/s':>10s} {'ratio':>6s} {'data wait':>9s} "
        f"{'infer tiles/s (TTA)':>20s} {'(no TTA)':>9s}",
    ]
    ratios, infer_rates = [], []
    for encoder in args.encoders:
        with tempfile.TemporaryDirectory() as out_dir:
            cfg = config(encoder, args.experiment, args.data, args.steps, out_dir)
            datamodule, module = prepare(cfg, out_dir)
            raw(cfg, datamodule, module, WARMUP_STEPS)  # whichever loop ran first in the process lost ~10 %
            pairs = []  # (ours, raw, data wait), the loops' order alternating from one repeat to the next
            for repeat in range(args.repeats):
                if repeat % 2 == 0:
                    ours_rate, wait = ours(cfg, out_dir, datamodule, module)
                    raw_rate = raw(cfg, datamodule, module, args.steps)
                else:
                    raw_rate = raw(cfg, datamodule, module, args.steps)
                    ours_rate, wait = ours(cfg, out_dir, datamodule, module)
                pairs.append((ours_rate, raw_rate, wait))
            ours_rate, raw_rate, wait = np.mean(pairs, axis=0)
            if args.profile:
                profile_both(cfg, out_dir, datamodule, module, args.steps)
            each = [o / r for o, r, _ in pairs]
            tta_rate = inference(module, datamodule, args.infer_tiles, True)
            plain_rate = inference(module, datamodule, args.infer_tiles, False)
            if args.scale_tiles and not infer_rates:
                scaled = inference(module, datamodule, args.scale_tiles, True)
                scaling = (
                    f"inference scaling ({encoder}, hflip TTA): "
                    f"{args.infer_tiles} tiles {tta_rate:.1f} tiles/s, {args.scale_tiles} tiles "
                    f"{scaled:.1f} tiles/s (ratio {scaled / tta_rate:.3f}; 1 = linear)"
                )
        ratios.append(float(np.mean(each)))
        infer_rates.append(tta_rate)
        lines.append(
            f"{encoder:22s} {ours_rate:10.2f} {raw_rate:10.2f} {ratios[-1]:6.3f} "
            f"{wait:9.1%} {tta_rate:20.1f} {plain_rate:9.1f}"
        )
        if args.repeats > 1:
            lines.append(
                f"{'':22s} ratio per repeat (order alternating, ours first): "
                f"{' '.join(f'{r:.3f}' for r in each)}; mean {np.mean(each):.3f} +- "
                f"{np.std(each, ddof=1) / np.sqrt(len(each)):.3f} (standard error)"
            )
    if args.scale_tiles:
        lines.append(scaling)
    lines.append(f"train_ratio={min(ratios):.3f} infer_img_s={infer_rates[0]:.1f}")
    record("Training and inference throughput", "\n".join(lines))


if __name__ == "__main__":
    main()
