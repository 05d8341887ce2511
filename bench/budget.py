"""Quality per CPU minute: our default recipe against a plain hand-written smp U-Net loop, same budget and fold.

Ours: `train.py experiment=<E>` on fold 0 with trainer.max_time=M minutes, scored as infer.py predicts (its
ensemble, hflip TTA, threshold 0.5, no post-processing). Plain: smp.Unet(resnet34, random init) on the image
channel reflect-padded to 128, BCE + Dice, Adam 1e-3, random hflip, batch 20, trained for the same M minutes of
wall clock, scored at threshold 0.5 on the crop. Both on the validation fold that train.py wrote to folds.csv.

python bench/budget.py --minutes M [--experiment cpu_fast] [--data ../shared/tgs]
Final line: ours=<map> plain=<map> delta=<d>
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import segmentation_models_pytorch as smp
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import record  # noqa: E402
from bench.runs import PROJECT, read_tiles, score, train  # noqa: E402
from src.data.tiles import TILE, crop_center, reflect_pad  # noqa: E402
from src.metrics.kaggle_map import kaggle_map  # noqa: E402

BATCH = 20


def as_input(images):
    """uint8 tiles (N, 101, 101) -> float tensor (N, 1, 128, 128) in [0, 1], reflect-padded."""
    return torch.from_numpy(reflect_pad(images[:, None].astype(np.float32) / 255.0))


def plain_loop(train_images, train_masks, minutes, seed):
    """A hand-written loop as a user would write it; trains until the wall-clock budget is spent."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = smp.Unet("resnet34", encoder_weights=None, in_channels=1, classes=1)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    bce, dice = torch.nn.BCEWithLogitsLoss(), smp.losses.DiceLoss("binary")
    x_all, y_all = as_input(train_images), as_input(train_masks.astype(np.uint8) * 255)
    deadline, steps = time.monotonic() + 60 * minutes, 0
    net.train()
    with tqdm(desc="plain loop", unit="step") as bar:
        while time.monotonic() < deadline:
            for batch in np.array_split(rng.permutation(len(x_all)), len(x_all) // BATCH):
                x, y = x_all[batch], y_all[batch]
                flip = torch.from_numpy(rng.random(len(batch)) < 0.5)
                x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
                logits = net(x)
                loss = bce(logits, y) + dice(logits, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                steps += 1
                bar.update()
                if time.monotonic() >= deadline:
                    break
    return net.eval(), steps


@torch.no_grad()
def plain_score(net, images, masks):
    probs = torch.cat([torch.sigmoid(net(as_input(images[k : k + 64]))) for k in range(0, len(images), 64)])
    return kaggle_map(crop_center(probs[:, 0], TILE).numpy() > 0.5, masks)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="training budget of each model")
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--data", type=Path, default=PROJECT.parent / "shared" / "tgs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = args.data.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        run = train(Path(tmp) / "ours", args.minutes, f"experiment={args.experiment}", f"data.root={data}",
                    "fold=0", f"seed={args.seed}")
        folds = pd.read_csv(run / "folds.csv", dtype={"id": str})
        ours = score(run, data, folds.id[folds.fold == 0].tolist())
        train_images, train_masks, _ = read_tiles(data, folds.id[folds.fold != 0].tolist())
        val_images, val_masks, _ = read_tiles(data, folds.id[folds.fold == 0].tolist())
        net, steps = plain_loop(train_images, train_masks, args.minutes, args.seed)
        plain = plain_score(net, val_images, val_masks)
    lines = [f"fold 0 of {data.name}: {len(train_images)} training / {len(val_images)} validation tiles, "
             f"{args.minutes} min each",
             f"ours  experiment={args.experiment} (ensemble, hflip TTA, threshold 0.5)  mAP {ours:.4f}",
             f"plain smp.Unet resnet34, BCE+Dice, Adam 1e-3, hflip, {steps} steps     mAP {plain:.4f}",
             f"ours={ours:.4f} plain={plain:.4f} delta={ours - plain:+.4f}"]
    record(f"Quality per CPU minute ({args.minutes} min each)", "\n".join(lines))


if __name__ == "__main__":
    main()
