"""Where the minutes of a cpu_fast budget go, on this machine: one `train.py experiment=cpu_fast` run on fold 0 of
the real data under Lightning's SimpleProfiler, its time split into training steps, loading the training tiles,
validation, checkpointing, the other callbacks, the rest of the loop, the work after training and the start-up
before it (the whole command's wall clock less the Timer's training seconds and the work after).

python -m bench.budget_breakdown --minutes M [--experiment cpu_fast] [--keep RUN_DIR] [OVERRIDES...]
Final line: steps=<share> validation=<share> checkpoints=<share> after=<share> startup=<share> (of the wall clock)
"""

import argparse
import re
import tempfile
import time
from pathlib import Path

from bench.common import SHARED_TGS, logged, record, train, training_seconds

AFTER = re.compile(r"covers training and the (\d+):(\d\d) after it")
KEPT = re.compile(r"ended training at (\d+) s of the time budget; (\d+) s kept back")


def profiled(report: Path) -> dict[str, float]:
    """{action: total seconds} from a SimpleProfiler report (its extended table: action, mean, calls, total, %)."""
    totals = {}
    for line in report.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("Action", "Total"):
            try:
                totals[cells[0]] = float(cells[3])
            except ValueError:
                continue
    return totals


def breakdown(totals: dict[str, float]) -> dict[str, float]:
    """Seconds of training by what they went on (each profiled action counted once, in the first group it fits)."""
    groups = {"training steps": 0.0, "loading training tiles": 0.0, "validation": 0.0, "checkpoints": 0.0}
    groups["other callbacks"] = 0.0
    for action, seconds in totals.items():
        if action == "run_training_batch":
            groups["training steps"] += seconds
        elif action.endswith("train_dataloader_next"):
            groups["loading training tiles"] += seconds
        elif action.startswith("[Callback]") and "Checkpoint" in action:
            groups["checkpoints"] += seconds
        elif action.endswith(("validation_step", "val_next")) or ("[Callback]" in action and "validation" in action):
            groups["validation"] += seconds
        elif action.startswith("[Callback]") and not action.endswith(("on_train_batch_start", "on_train_batch_end")):
            groups["other callbacks"] += seconds
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, required=True, help="the run's trainer.max_time")
    parser.add_argument("--experiment", default="cpu_fast")
    parser.add_argument("--keep", type=Path, help="train into this run folder and keep it (else a temporary one)")
    parser.add_argument("overrides", nargs="*", help="more train.py overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.keep.resolve() if args.keep else Path(tmp) / "run"
        started = time.monotonic()
        train(
            run,
            args.minutes,
            f"experiment={args.experiment}",
            f"data.root={SHARED_TGS.resolve()}",
            "fold=0",
            "+trainer.profiler._target_=pytorch_lightning.profilers.SimpleProfiler",
            f"+trainer.profiler.dirpath={run}",
            "+trainer.profiler.filename=profile",
            *args.overrides,
        )
        wall = time.monotonic() - started
        log = (run / "train.log").read_text()
        after = AFTER.search(log)
        after_seconds = 60 * int(after[1]) + int(after[2]) if after else float("nan")
        kept = KEPT.search(log)
        training = training_seconds(run)
        groups = breakdown(profiled(run / "fit-profile.txt"))
        epochs, steps, best = logged(run)
    groups["the rest of the loop (logging, hooks)"] = training - sum(groups.values())
    rows = {**groups, "after training (BN recompute, out-of-fold)": after_seconds}
    rows["start-up (imports, reading tiles)"] = wall - training - after_seconds
    lines = [
        f"experiment={args.experiment} trainer.max_time={args.minutes} min, fold 0 of {SHARED_TGS.name} "
        f"{' '.join(args.overrides)}".rstrip(),
        f"whole command {wall:.0f} s; training {training:.0f} s ({epochs} epochs, {steps} steps, best val/map "
        f"{best:.4f}); "
        + (f"the run kept back {kept[2]} s, training ended at {kept[1]} s" if kept else "no time kept back"),
        f"{'':44s} {'seconds':>8s} {'share':>6s}",
    ]
    lines += [f"{name:44s} {seconds:8.1f} {seconds / wall:6.1%}" for name, seconds in rows.items()]
    short = {"training steps": "steps", "validation": "validation", "checkpoints": "checkpoints"}
    summary = {short[k]: v for k, v in rows.items() if k in short}
    summary["after"], summary["startup"] = after_seconds, rows["start-up (imports, reading tiles)"]
    lines.append(" ".join(f"{name}={seconds / wall:.3f}" for name, seconds in summary.items()))
    record("Where a cpu_fast budget's minutes go", "\n".join(lines))


if __name__ == "__main__":
    main()
