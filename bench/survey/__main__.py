"""The command line of the survey studies (see bench/survey/__init__.py): python -m bench.survey ..."""

import argparse
from pathlib import Path

from bench.survey import __doc__ as STUDIES
from bench.survey.accuracy import iou_study
from bench.survey.active import active_study
from bench.survey.bodies_memory import bodies_memory_study
from bench.survey.memory import memory_study


def main():
    parser = argparse.ArgumentParser(
        prog="python -m bench.survey", description=STUDIES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--minutes", type=int, help="training budget of each model (the IoU study)")
    what.add_argument("--memory-gb", type=float, help="size of the SEG-Y of the memory study")
    what.add_argument("--bodies-gb", type=float, help="size of the mask cube of bodies.py's memory study")
    parser.add_argument("--active", action="store_true", help="the active-labelling study (with --minutes)")
    parser.add_argument("--start", type=int, default=2, help="active study: evenly spaced inlines to start from")
    parser.add_argument("--rounds", type=int, default=3, help="active study: rounds of suggest, one inline each")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="active study: training seeds")
    parser.add_argument(
        "--oracle", action="store_true", help="active study: pick lines by their true error, not the uncertainty"
    )
    parser.add_argument(
        "--round-members", type=int, default=1, help="active study: networks trained per round for the uncertainty"
    )
    parser.add_argument("--round-minutes", type=int, default=2, help="active study: budget of each round member")
    parser.add_argument("--labelled", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--shape", type=int, nargs=3, default=[120, 200, 160])
    parser.add_argument("--tgs", type=Path, default=None, help="a TGS-trained run to fine-tune (one network)")
    parser.add_argument("--tgs-minutes", type=int, default=10)
    parser.add_argument("--every", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--setting", choices=("easy", "hard"), default="easy", help="the synthetic survey's setting")
    parser.add_argument("--arms", default="scratch,finetuned", help="scratch, finetuned or both (comma-separated)")
    parser.add_argument(
        "--clean-min-voxels",
        type=int,
        default=0,
        help="also measure bodies.py's 3D clean-up at this minimum body size and predict.smooth_lines (IoU, "
        "line disagreement)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="IoU study: save README's interpretation pictures of the last run here",
    )
    parser.add_argument("--smooth-lines", type=int, default=2, help="predict.smooth_lines measured with the clean-up")
    args = parser.parse_args()
    if args.minutes and args.active:
        active_study(
            args.shape,
            args.seed,
            args.setting,
            args.seeds,
            args.start,
            args.rounds,
            args.minutes,
            args.oracle,
            args.round_members,
            args.round_minutes,
        )
    elif args.minutes:
        iou_study(
            args.shape,
            args.seed,
            args.setting,
            args.arms,
            args.labelled,
            args.minutes,
            args.tgs,
            args.tgs_minutes,
            args.clean_min_voxels,
            args.smooth_lines,
            args.figures,
        )
    elif args.bodies_gb:
        bodies_memory_study(args.bodies_gb, args.seed)
    else:
        memory_study(args.memory_gb, args.every, args.seed)


if __name__ == "__main__":
    main()
