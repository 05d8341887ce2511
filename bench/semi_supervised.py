"""Honest semi-supervised measurement: labelled tiles that neither teacher nor students ever saw.

A seeded share of ../shared/tgs's labelled tiles is held out; the supervised baseline (also the pseudo-label
teacher) and the pseudo-label and mean-teacher students train on the rest for the same wall-clock budget,
then each is scored on the held-out tiles (its ensemble as infer.py builds it, hflip TTA, threshold 0.5).

python -m bench.semi_supervised --minutes M [--holdout 0.2] [--experiment cpu_fast]
(Not bench/ssl.py: a script of that name beside the others would shadow the standard library ssl module.)
"""

import argparse
import tempfile
from pathlib import Path

from bench.common import SHARED_TGS, record, score, split_root, train


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="training budget of each model")
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=SHARED_TGS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root, held = split_root(args.data.resolve(), work, args.holdout, args.seed)
        base = f"experiment={args.experiment}", f"data.root={root}"
        baseline = train(work / "baseline", args.minutes, *base)
        pseudo = train(
            work / "pseudo",
            args.minutes,
            *base,
            "ssl=pseudo",
            f"ssl.teacher={baseline}",
            f"ssl.cache_dir={work / 'cache'}",
        )
        teacher = train(work / "mean_teacher", args.minutes, *base, "ssl=mean_teacher")
        scores = {
            name: score(run, args.data, held)
            for name, run in [
                ("baseline (supervised; also the teacher)", baseline),
                ("pseudo-labels", pseudo),
                ("mean teacher", teacher),
            ]
        }
    lines = [f"{len(held)} held-out labelled tiles, {args.minutes} min per model, experiment={args.experiment}"]
    lines += [f"{name:42s} mAP {value:.4f}" for name, value in scores.items()]
    record("Semi-supervised training on held-out tiles", "\n".join(lines))


if __name__ == "__main__":
    main()
