"""Quality for a wall-clock budget: train.py recipes against hand-written smp U-Net loops, same minutes, same fold.

Recipes: `train.py <overrides>` on fold 0 with trainer.max_time=M minutes; each reports its training images/s
(steps x batch / the training time Lightning's Timer measured, validation included), its epochs, the best
val/map it logged and its mAP as infer.py predicts (its ensemble, hflip TTA, threshold 0.5, no
post-processing). `ours` is `experiment=<E>`; `--recipe NAME "overrides"` adds others (e.g. the seed's network
against a plain U-Net). Hand-written loops, each trained for the same M minutes of wall clock,
smp.Unet(resnet34, random init), Adam, random hflip, inputs reflect-padded to 128, no validation while training:
- plain: the image channel, BCE + Dice, lr 1e-3, batch 20, fp32; scored at threshold 0.5 on the crop.
- better (the strongest simple loop #39 describes): scSE decoder, image + depth + image-times-row-ramp channels,
  batch 16, bf16 autocast and channels_last where the CPU has native bf16 (the precision train.py picks), cosine
  LR from 1e-3 over the budget, BCE + Dice for 60% of it then per-image Lovasz hinge; scored with hflip TTA,
  masks under 100 px emptied.
All on the same validation fold (the stratified split train.py makes with this seed).

python -m bench.budget --minutes M [--arms ours,plain,better] [--recipe NAME "overrides"]... [--experiment cpu_fast]
Final line: ours=<map> plain=<map> delta=<d> (and the other arms' mAP)
"""

import argparse
import math
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np
import segmentation_models_pytorch as smp
import torch
from tqdm import tqdm

from bench.common import SHARED_TGS, logged, record, score, train, training_seconds
from src.data.datamodule import load_labelled
from src.data.folds import coverage_class, save_folds, stratified_folds
from src.data.tiles import TILE, crop_center, reflect_pad
from src.metrics.kaggle_map import kaggle_map
from src.utils.config import cpu_precision

PLAIN_BATCH, BETTER_BATCH = 20, 16


def as_input(images):
    """uint8 tiles (N, 101, 101) -> float tensor (N, 1, 128, 128) in [0, 1], reflect-padded."""
    return torch.from_numpy(reflect_pad(images[:, None].astype(np.float32) / 255.0))


def better_input(images, depths, depth_range):
    """uint8 tiles -> (N, 3, 128, 128): image, relative depth (a constant plane), image times a 0..1 row ramp."""
    image = as_input(images)
    low, high = depth_range
    depth = torch.from_numpy(((depths - low) / (high - low)).astype(np.float32))[:, None, None, None]
    ramp = torch.linspace(0, 1, image.shape[-2])[:, None]
    return torch.cat([image, depth.expand_as(image), image * ramp], dim=1)


def hand_loop(net, x_all, y_all, minutes, seed, schedule, desc, batch_size, bf16=False):
    """Train `net` on (x, y) with random hflips until `minutes` of wall clock are spent; schedule(fraction of
    the budget spent) -> (loss function, learning rate) for the next step. bf16: autocast and channels_last."""
    torch.manual_seed(seed)
    if bf16:
        net = net.to(memory_format=torch.channels_last)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    start, budget, steps = time.monotonic(), 60 * minutes, 0
    net.train()
    with tqdm(desc=desc, unit="step") as bar:
        while time.monotonic() - start < budget:
            for batch in np.array_split(rng.permutation(len(x_all)), len(x_all) // batch_size):
                criterion, lr = schedule((time.monotonic() - start) / budget)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x, y = x_all[batch], y_all[batch]
                flip = torch.from_numpy(rng.random(len(batch)) < 0.5)
                x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
                if bf16:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    logits = net(x)
                loss = criterion(logits.float(), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1
                bar.update()
                if time.monotonic() - start >= budget:
                    break
    return net.eval(), steps


def bce_dice():
    bce, dice = torch.nn.BCEWithLogitsLoss(), smp.losses.DiceLoss("binary")
    return lambda logits, y: bce(logits, y) + dice(logits, y)


def plain_schedule():
    loss = bce_dice()
    return lambda fraction: (loss, 1e-3)


def better_schedule():
    first, second = bce_dice(), smp.losses.LovaszLoss("binary", per_image=True)
    return lambda fraction: (first if fraction < 0.6 else second, 0.5e-3 * (1 + math.cos(math.pi * min(fraction, 1))))


@torch.no_grad()
def hand_score(net, x_all, masks, tta=False, min_mask=0):
    probs = []
    for k in range(0, len(x_all), 64):
        x = x_all[k : k + 64]
        p = torch.sigmoid(net(x))
        if tta:
            p = 0.5 * (p + torch.sigmoid(net(x.flip(-1))).flip(-1))
        probs.append(crop_center(p[:, 0], TILE).numpy())
    pred = np.concatenate(probs) > 0.5
    pred[pred.reshape(len(pred), -1).sum(axis=1) < min_mask] = False
    return kaggle_map(pred, masks)


def recipe_arm(name, overrides, minutes, data, seed, assignment, val_ids):
    """Train one train.py recipe on fold 0 for `minutes`; (its mAP, its report line)."""
    with tempfile.TemporaryDirectory() as tmp:
        save_folds(assignment, Path(tmp) / "folds.csv")
        run = train(
            Path(tmp) / name,
            minutes,
            *shlex.split(overrides),
            f"data.root={data}",
            "fold=0",
            f"seed={seed}",
            f"data.split_file={Path(tmp) / 'folds.csv'}",
        )
        mAP = score(run, data, val_ids)
        epochs, steps, best = logged(run)
        batch = int(next((o.split("=")[1] for o in shlex.split(overrides) if o.startswith("batch_size=")), 20))
        rate = steps * batch / training_seconds(run)
    return mAP, (
        f"{name:8s} {rate:6.2f} img/s, {epochs} epochs, best val/map {best:.4f}, ensemble + TTA "
        f"mAP {mAP:.4f}  ({overrides})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="training budget of each model")
    parser.add_argument("--arms", default="ours,plain,better", help="which of ours,plain,better to run ('' none)")
    parser.add_argument(
        "--recipe",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "OVERRIDES"),
        help="another train.py recipe to run beside them",
    )
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--data", type=Path, default=SHARED_TGS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    arms, data = args.arms.split(","), args.data.resolve()
    ids, images, masks, depths, all_depths = load_labelled(data)
    assignment = stratified_folds(ids, coverage_class(masks), 5, args.seed)
    val = np.array([assignment[i] == 0 for i in ids])
    depth_range = min(all_depths.values()), max(all_depths.values())
    scores, lines = (
        {},
        [f"fold 0 of {data.name}: {(~val).sum()} training / {val.sum()} validation tiles, {args.minutes} min each"],
    )
    recipes = ([("ours", f"experiment={args.experiment}")] if "ours" in arms else []) + args.recipe
    for name, overrides in recipes:
        scores[name], line = recipe_arm(
            name, overrides, args.minutes, data, args.seed, assignment, [i for i, v in zip(ids, val) if v]
        )
        lines.append(line)
    y_train = as_input(masks[~val].astype(np.uint8) * 255)
    if "plain" in arms:
        net = smp.Unet("resnet34", encoder_weights=None, in_channels=1, classes=1)
        net, steps = hand_loop(
            net, as_input(images[~val]), y_train, args.minutes, args.seed, plain_schedule(), "plain loop", PLAIN_BATCH
        )
        scores["plain"] = hand_score(net, as_input(images[val]), masks[val])
        lines.append(
            f"plain   BCE+Dice, Adam 1e-3, hflip, {steps} steps                           mAP {scores['plain']:.4f}"
        )
    if "better" in arms:
        net = smp.Unet("resnet34", encoder_weights=None, in_channels=3, classes=1, decoder_attention_type="scse")
        net, steps = hand_loop(
            net,
            better_input(images[~val], depths[~val], depth_range),
            y_train,
            args.minutes,
            args.seed,
            better_schedule(),
            "better loop",
            BETTER_BATCH,
            bf16=cpu_precision() == "bf16-mixed",
        )
        scores["better"] = hand_score(
            net, better_input(images[val], depths[val], depth_range), masks[val], tta=True, min_mask=100
        )
        lines.append(
            f"better  scSE, 3 channels, batch {BETTER_BATCH}, {cpu_precision()}, cosine, BCE+Dice then Lovasz, TTA, "
            f"min mask 100, {steps} steps ({steps * BETTER_BATCH / len(y_train):.1f} epochs) "
            f"mAP {scores['better']:.4f}"
        )
    summary = " ".join(f"{name}={value:.4f}" for name, value in scores.items())
    if {"ours", "plain"} <= scores.keys():
        summary += f" delta={scores['ours'] - scores['plain']:+.4f}"
    record(f"Quality per CPU minute ({args.minutes} min each)", "\n".join(lines + [summary]))


if __name__ == "__main__":
    main()
