"""Your own survey, measured on synthetic ones (src/survey/synthetic.py).

python -m bench.survey --minutes M [--labelled 2 5 10 20] [--shape 120 200 160] [--setting easy|hard]
                        [--arms scratch,finetuned] [--clean-min-voxels N [--smooth-lines 2]]
                        [--tgs RUN | --tgs-minutes 10] [--figures DIR]
    IoU (threshold 0.5) on the inlines nobody labelled, against the number n of labelled inlines (the centres of
    n equal blocks of inlines, written as per-line label files), for a network fine-tuned from a TGS-trained one
    and one trained from scratch, M minutes of `experiment=cpu_fast` each, then predict.py on the whole volume.
    --figures DIR: README's pictures of the last arm's last run (calibration, a predicted inline with its
    uncertainty, the suggested lines, the salt bodies) as DIR/survey_<what>.png.
python -m bench.survey --active --minutes M [--start 2] [--rounds 3] [--seeds 0 1 2] [--setting hard] [--oracle]
                        [--round-members K --round-minutes R]
    Active labelling: from `start` evenly spaced inlines, `rounds` times train -> predict.py (uncertainty) ->
    suggest.py -> label the suggested inline; against `start + rounds` evenly spaced inlines, each arm's last
    network trained alike. --oracle: suggest.py's rule given each inline's true error rate (the current network's
    mask against the labels) in place of its mean uncertainty: what a perfect uncertainty could add to the rule.
    --round-members K: each round's uncertainty comes from K independently trained networks (training seeds
    seed + 1000 j, R minutes each, a Hydra sweep predicted as one ensemble) instead of one network, whose snapshots
    are averaged into one (ensemble.mode=weights) so that only its TTA views disagree.
    IoU on the inlines neither arm labelled, per training seed and their mean; and for each last network: ECE of
    its probabilities there as trained and after tune.py's temperature, and the AUROC of its uncertainty for the
    wrong pixels.
python -m bench.survey --bodies-gb G
    Peak resident and private memory, and time, of bodies.py on a G-GB mask cube (the hard survey's labels
    repeated).
python -m bench.survey --memory-gb G [--every 40]
    Peak resident and private memory, against the SEG-Y's size, of sampling training windows from a G-GB SEG-Y
    (every n-th inline labelled) and of predict.py on the whole volume (one tiny network, inline sections, no TTA).
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from bench.common import PROJECT, SHARED_TGS, record, train
from src.interpretation.suggest import rank_lines
from src.metrics.calibration import expected_calibration_error, uncertainty_auroc
from src.sections.writers import write_segy_volume
from src.survey.synthetic import FIRST_INLINE, generate_survey, make_survey
from src.utils.run_folder import runs_under

DEPTH = ["data.survey.depth_origin=0", "data.survey.depth_step=4"]  # 4 m a sample, in TGS's metres
PREDICT_DEPTH = ["predict.depth_origin=0", "predict.depth_step=4"]


def label_files(labels, lines, folder):
    """Per-line label files (inline_<number>.npy, (samples, crosslines)) for the chosen inline indices."""
    folder.mkdir(parents=True)
    for k in lines:
        np.save(folder / f"inline_{FIRST_INLINE + k}.npy", labels[k].T)
    return folder


def line_disagreement(mask):
    """Mean over neighbouring inlines of |A xor B| / |A or B|: how much the salt changes from one line to the next."""
    rates = [(a ^ b).sum() / max((a | b).sum(), 1) for a, b in zip(mask[:-1], mask[1:])]
    return float(np.mean(rates))


def iou(pred, truth):
    return (pred & truth).sum() / max((pred | truth).sum(), 1)


def consistency(run, mask_path, survey, labels, unlabelled, min_voxels, smooth_lines, work):
    """(IoU on the unlabelled inlines, line disagreement) of the predicted mask, of it cleaned by bodies.py
    (bodies of fewer than `min_voxels` removed) and of the mask predicted with predict.smooth_lines."""
    out = work / "bodies" / run.name
    run_py(
        "bodies.py",
        f"input={mask_path}",
        f"out={out}",
        "bodies.spacing.inline=25",
        "bodies.spacing.crossline=12.5",
        f"bodies.min_voxels={min_voxels}",
        "bodies.surfaces=0",
        f"hydra.run.dir={work / 'hydra' / ('b' + run.name)}",
    )
    _, smoothed = predicted_iou(
        run, survey, labels, unlabelled, work, f"predict.smooth_lines={smooth_lines}", name=f"{run.name}-smooth"
    )
    truth = labels[unlabelled].astype(bool)
    masks = (np.load(mask_path), np.load(out / "cleaned.mask.npy"), np.load(smoothed))
    return [(iou(m[unlabelled], truth), line_disagreement(m)) for m in masks]


def save_figures(run, survey, work, folder):
    """The pictures of README's interpretation section, from one survey run: tune.py's reliability diagram,
    predict.py's preview of the inline with the most salt (with the temperature tune.py kept), suggest.py's map and
    bodies.py's map, copied to `folder` as survey_<what>.png."""
    run_py("tune.py", f"run={run}", f"hydra.run.dir={work / 'hydra' / 'figures-tune'}")
    out = work / "figures" / "volume"
    run_py(
        "predict.py",
        f"ckpt={run}",
        f"input={survey / 'seismic.sgy'}",
        f"out={out}",
        *PREDICT_DEPTH,
        f"hydra.run.dir={work / 'hydra' / 'figures-predict'}",
    )
    run_py(
        "suggest.py",
        f"run={run}",
        f"uncertainty={out}.uncertainty.npy",
        f"out={work / 'figures' / 'next'}",
        f"hydra.run.dir={work / 'hydra' / 'figures-suggest'}",
    )
    run_py(
        "bodies.py",
        f"input={out}.mask.npy",
        f"out={work / 'figures' / 'bodies'}",
        f"geometry={survey / 'seismic.sgy'}",
        "bodies.spacing.sample=4",
        f"hydra.run.dir={work / 'hydra' / 'figures-bodies'}",
    )
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {
        "calibration": run / "calibration.png",
        "preview": work / "figures" / "volume.preview.png",
        "suggest": work / "figures" / "next.png",
        "bodies": work / "figures" / "bodies" / "bodies.png",
    }
    for what, picture in pictures.items():
        shutil.copyfile(picture, folder / f"survey_{what}.png")


def evenly_spaced(n, count):
    """The centres of n equal blocks of `count` lines."""
    return np.unique(((np.arange(n) + 0.5) * count / n).astype(int))


def survey_training(survey, folder, n, minutes, run_dir, *extra, multirun=False):
    """Train one network (from scratch unless `extra` says init=...) on the labelled inlines in `folder` (n of
    them); multirun: a sweep that `extra` spells (its runs in subfolders of `run_dir`)."""
    return train(
        run_dir,
        minutes,
        "experiment=cpu_fast",
        "data=survey",
        f"data.survey.seismic={survey / 'seismic.sgy'}",
        f"data.survey.labels={folder}",
        f"data.n_folds={min(n, 5)}",
        "data.survey.guard=2",
        "data.survey.window_stride=25",
        *DEPTH,
        *extra,
        multirun=multirun,
    )


def round_prediction(survey, labels, folder, n, args, seed, work) -> tuple[Path, Path]:
    """(the survey run suggest.py reads, predict.py's mask path) of one round: one network, or with
    --round-members K a sweep of K networks with their own training seeds, predicted as one ensemble."""
    run_dir = work / f"s{seed}-active{n}"
    if args.round_members == 1:
        trained = survey_training(survey, folder, n, args.minutes, run_dir, f"seed={seed}")
    else:
        seeds = ",".join(str(seed + 1000 * j) for j in range(args.round_members))
        trained = survey_training(survey, folder, n, args.round_minutes, run_dir, f"seed={seeds}", multirun=True)
    return runs_under(trained)[0].path, predicted_iou(trained, survey, labels, np.arange(0), work)[1]


def suggested_inline(run, out, work):
    """The index of the inline suggest.py ranks first, from predict.py's uncertainty at `out`."""
    table = work / "suggest" / out.name
    run_py(
        "suggest.py",
        f"run={run}",
        f"uncertainty={out.with_name(out.name + '.uncertainty.npy')}",
        f"out={table}",
        "suggest.count=1",
        "suggest.axes=[inline]",
        f"hydra.run.dir={work / 'hydra' / ('s' + run.name)}",
    )
    return int(pd.read_csv(table.with_name(table.name + ".csv")).line.iloc[0]) - FIRST_INLINE


def oracle_inline(mask_path, labels, labelled):
    """The inline suggest.py's rule picks when each line's uncertainty is replaced by its true error rate."""
    errors = (np.load(mask_path) != labels.astype(bool)).mean(axis=(1, 2))
    spread = OmegaConf.load(PROJECT / "conf" / "suggest.yaml").suggest.spread
    return rank_lines(errors, labelled, 1, spread)[0].index


def final_scores(run, survey, labels, evaluated, work):
    """(IoU, ECE as trained, ECE calibrated, temperature, AUROC of the uncertainty for wrong pixels) on the
    `evaluated` inlines of a run's prediction, after tune.py fitted its temperature."""
    run_py("tune.py", f"run={run}", f"hydra.run.dir={work / 'hydra' / ('t' + run.name)}")
    score, mask_path = predicted_iou(run, survey, labels, evaluated, work)
    out = mask_path.with_name(mask_path.name.removesuffix(".mask.npy"))
    members = json.loads(out.with_name(out.name + ".json").read_text())["temperatures"]
    temperature = float(np.mean([m["temperature"] for m in members]))  # each member's own; their mean reported
    truth = labels[evaluated].astype(bool)
    calibrated = np.load(out.with_name(out.name + ".probs.npy"))[evaluated]
    wrong = np.load(mask_path)[evaluated] != truth
    uncertainty = np.load(out.with_name(out.name + ".uncertainty.npy"))[evaluated]
    _, raw_mask = predicted_iou(
        run,
        survey,
        labels,
        evaluated,
        work,
        "predict.temperature=1",
        "predict.uncertainty=false",
        name=f"{run.name}-as-trained",
    )  # calibration is per member and before the windows are blended: the probabilities as trained, predicted
    as_trained = np.load(raw_mask.with_name(raw_mask.name.replace(".mask.npy", ".probs.npy")))[evaluated]
    return (
        score,
        expected_calibration_error(as_trained, truth),
        expected_calibration_error(calibrated, truth),
        temperature,
        uncertainty_auroc(uncertainty, wrong),
    )


def active_study(args):
    inlines = args.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        survey = generate_survey(work / "survey", shape=tuple(args.shape), seed=args.seed, setting=args.setting)
        labels = np.load(survey / "labels.npy")
        final = args.start + args.rounds
        even = evenly_spaced(final, inlines)
        rows, lines = [], []
        for seed in args.seeds:
            picked = list(evenly_spaced(args.start, inlines))
            for _ in range(args.rounds):
                n = len(picked)
                folder = label_files(labels, picked, work / f"labels-s{seed}-active{n}")
                run, mask_path = round_prediction(survey, labels, folder, n, args, seed, work)
                if args.oracle:
                    picked.append(oracle_inline(mask_path, labels, picked))
                else:
                    out = mask_path.with_name(mask_path.name.removesuffix(".mask.npy"))
                    picked.append(suggested_inline(run, out, work))
            runs = {
                "active": survey_training(
                    survey,
                    label_files(labels, picked, work / f"labels-s{seed}-active{final}"),
                    final,
                    args.minutes,
                    work / f"s{seed}-active{final}",
                    f"seed={seed}",
                ),
                "even": survey_training(
                    survey,
                    label_files(labels, even, work / f"labels-s{seed}-even{final}"),
                    final,
                    args.minutes,
                    work / f"s{seed}-even{final}",
                    f"seed={seed}",
                ),
            }
            evaluated = np.setdiff1d(np.arange(inlines), np.union1d(picked, even))
            scores = {arm: final_scores(run, survey, labels, evaluated, work) for arm, run in runs.items()}
            rows.append(scores)
            lines.append(
                f"seed {seed}: active inlines {sorted(int(k) for k in picked)}, even {even.tolist()}; "
                f"{len(evaluated)} inlines evaluated"
            )
            for arm, (score, ece, ece_t, temperature, auroc) in scores.items():
                lines.append(
                    f"  {arm:6s} IoU {score:.3f}   ECE {ece:.3f} -> {ece_t:.3f} (T = {temperature:.2f})   "
                    f"uncertainty AUROC for wrong pixels {auroc:.3f}"
                )
        mean = {arm: np.mean([r[arm] for r in rows], axis=0) for arm in ("active", "even")}
        rule = "suggest.py's rule on the true error (oracle)" if args.oracle else "suggest.py"
        if args.round_members > 1:
            rule += f" on {args.round_members} independently trained networks of {args.round_minutes} min"
        header = (
            f"{args.setting} survey " + "x".join(map(str, args.shape)) + f" seed {args.seed}, {args.minutes} min per "
            f"model (experiment=cpu_fast, from scratch), {args.start} evenly spaced inlines + {args.rounds} rounds "
            f"of {rule} (1 inline each) vs {final} evenly spaced; training seeds {args.seeds}"
        )
        summary = [
            f"mean of {len(rows)} seeds at {final} labelled inlines: IoU active {mean['active'][0]:.3f}, even "
            f"{mean['even'][0]:.3f} ({100 * (mean['active'][0] - mean['even'][0]):+.1f} points); ECE after "
            f"calibration {mean['active'][2]:.3f} / {mean['even'][2]:.3f}; AUROC {mean['active'][4]:.3f} / "
            f"{mean['even'][4]:.3f}"
        ]
    record("Your own survey: the next line to label", "\n".join([header, *lines, *summary]))


def predicted_iou(run, survey, labels, unlabelled, work, *extra, name=None):
    """(IoU on the `unlabelled` inlines, the mask's path) of predict.py with `extra` overrides on the volume."""
    name = name or run.name
    out = work / "pred" / name
    run_py(
        "predict.py",
        f"ckpt={run}",
        f"input={survey / 'seismic.sgy'}",
        f"out={out}",
        *PREDICT_DEPTH,
        f"hydra.run.dir={work / 'hydra' / name}",
        *extra,
    )
    mask_path = out.with_name(out.name + ".mask.npy")
    return iou(np.load(mask_path)[unlabelled], labels[unlabelled].astype(bool)), mask_path


def run_py(*args):
    """Run a project entry point; returns its peak resident and peak anonymous memory, in MiB
    (bench/peak_memory.py)."""
    print("$", " ".join(map(str, args)), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak_kib"
        subprocess.run(
            [sys.executable, "-m", "bench.peak_memory", peak, sys.executable, *map(str, args)], cwd=PROJECT, check=True
        )
        return [int(kib) / 1024 for kib in peak.read_text().split()]


def iou_study(args):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        survey = generate_survey(work / "survey", shape=tuple(args.shape), seed=args.seed, setting=args.setting)
        labels = np.load(survey / "labels.npy")
        arms = {"scratch": [], "finetuned": None}
        arms = {arm: arms[arm] for arm in args.arms.split(",")}
        if "finetuned" in arms:
            tgs = args.tgs or train(work / "tgs", args.tgs_minutes, "experiment=cpu_fast", f"data.root={SHARED_TGS}")
            arms["finetuned"] = [f"init={tgs}"]
        tgs_note = f"; TGS network: {'given' if args.tgs else f'{args.tgs_minutes} min'}" if "finetuned" in arms else ""
        names = {"scratch": "from scratch", "finetuned": "fine-tuned"}
        lines = [
            f"{args.setting} survey "
            + "x".join(map(str, args.shape))
            + f" seed {args.seed} (salt {labels.mean():.1%}),"
            f" {args.minutes} min per model, experiment=cpu_fast{tgs_note}",
            f"{'labelled inlines':>16s} "
            + " ".join(f"{names[a]:>13s}" for a in arms)
            + "   IoU on the unlabelled inlines",
        ]
        for n in args.labelled:
            picked = evenly_spaced(n, args.shape[0])
            folder = label_files(labels, picked, work / f"labels{n}")
            unlabelled = np.setdiff1d(np.arange(args.shape[0]), picked)
            ious, cleanup = [], []
            for arm, extra in arms.items():
                run = survey_training(survey, folder, n, args.minutes, work / f"{arm}{n}", *extra)
                score, mask_path = predicted_iou(run, survey, labels, unlabelled, work)
                ious.append(score)
                if args.clean_min_voxels:
                    cleanup.append(
                        (
                            arm,
                            consistency(
                                run,
                                mask_path,
                                survey,
                                labels,
                                unlabelled,
                                args.clean_min_voxels,
                                args.smooth_lines,
                                work,
                            ),
                        )
                    )
            lines.append(f"{n:16d} " + " ".join(f"{iou:13.3f}" for iou in ious))
            if args.figures and n == args.labelled[-1]:
                save_figures(run, survey, work, args.figures)
            for arm, ((raw_iou, raw_change), (clean_iou, clean_change), (smooth_iou, smooth_change)) in cleanup:
                lines += [
                    f"{'':16s} {names[arm]}, 3D clean-up (bodies >= {args.clean_min_voxels} voxels): IoU "
                    f"{raw_iou:.3f} -> {clean_iou:.3f}, line-to-line disagreement {raw_change:.3f} -> "
                    f"{clean_change:.3f}",
                    f"{'':16s} {names[arm]}, predict.smooth_lines={args.smooth_lines}: IoU {raw_iou:.3f} -> "
                    f"{smooth_iou:.3f}, line-to-line disagreement {raw_change:.3f} -> {smooth_change:.3f}",
                ]
    record("Your own survey: IoU on unlabelled inlines", "\n".join(lines))


class RepeatedCube:
    """A large cube (inline, crossline, samples) that repeats a small one along every axis, never all in memory."""

    def __init__(self, small, shape):
        self.small, self.shape = small, shape

    def line(self, i):
        rows = self.small[i % self.small.shape[0]][np.arange(self.shape[1]) % self.small.shape[1]]
        return rows[:, np.arange(self.shape[2]) % self.small.shape[2]]

    def __getitem__(self, index):  # one trace, as write_segy_volume reads it
        i, j = index
        return self.small[i % self.small.shape[0], j % self.small.shape[1]][
            np.arange(self.shape[2]) % self.small.shape[2]
        ]


def memory_study(args):
    samples = 1000
    crosslines = 1250
    inlines = int(round(args.memory_gb * 2**30 / (4 * samples * crosslines)))
    shape = (inlines, crosslines, samples)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, small_labels = make_survey((40, 125, 250), seed=args.seed)
        start = time.perf_counter()
        write_segy_volume(work / "big.sgy", RepeatedCube(small, shape))
        written = time.perf_counter() - start
        labels_path, label_cube = work / "labels.npy", RepeatedCube(small_labels, shape)
        labels = np.lib.format.open_memmap(labels_path, mode="w+", dtype=np.uint8, shape=shape)
        for i in range(inlines):
            labels[i] = label_cube.line(i)
        labels.flush()
        del labels
        size = (work / "big.sgy").stat().st_size / 2**20
        tiny = work / "tiny"
        run_py("train.py", "debug=tiny", "data=synthetic", f"hydra.run.dir={tiny}")
        baseline = run_py("-c", "import src.tasks.predict, src.survey.datamodule")
        windows = run_py(
            "-c",
            "import sys; sys.path.insert(0, '.'); from bench.survey import sample_windows; "
            f"sample_windows('{work / 'big.sgy'}', '{labels_path}', {args.every})",
        )
        predicted = run_py(
            "predict.py",
            f"ckpt={tiny}",
            f"input={work / 'big.sgy'}",
            f"out={work / 'pred'}",
            "tta=none",
            "predict.overlap=0",
            "predict.depth_origin=51",
            "predict.depth_step=1",
            f"hydra.run.dir={work / 'hydra'}",
        )
    rows = [
        ("importing the project's modules alone (torch, Lightning, onnxruntime...)", baseline),
        (f"sampling training windows (every {args.every}th inline labelled)", windows),
        ("predict.py on the whole volume (inline sections, tiny network, no TTA)", predicted),
    ]
    lines = [
        f"SEG-Y {inlines} x {crosslines} x {samples} float32: {size:.0f} MiB (written in {written:.0f} s)",
        f"{'':72s} {'peak RSS':>9s} {'peak private':>13s}",
        *[f"{what:72s} {rss:5.0f} MiB {private:9.0f} MiB" for what, (rss, private) in rows],
        "(RSS counts the pages of memory-mapped files a process touched: page cache the kernel can drop; "
        "private memory is the process's own)",
    ]
    record(f"Your own survey: memory on a {args.memory_gb:g} GB SEG-Y", "\n".join(lines))


def bodies_memory_study(args):
    """Peak memory and time of bodies.py on a mask cube of `args.bodies_gb` GB (bool, 1 byte a voxel), the hard
    survey's labels repeated: flat in the cube's size if the labelling holds a line at a time."""
    samples, crosslines = 1000, 1250
    inlines = int(round(args.bodies_gb * 2**30 / (samples * crosslines)))
    shape = (inlines, crosslines, samples)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, small_labels = make_survey((40, 125, 250), seed=args.seed, setting="hard")
        cube = RepeatedCube(small_labels.astype(bool), shape)
        mask = np.lib.format.open_memmap(work / "big.mask.npy", mode="w+", dtype=np.bool_, shape=shape)
        for i in range(inlines):
            mask[i] = cube.line(i)
        mask.flush()
        del mask
        start = time.perf_counter()
        rss, private = run_py(
            "bodies.py",
            f"input={work / 'big.mask.npy'}",
            f"out={work / 'bodies'}",
            "bodies.spacing.inline=25",
            "bodies.spacing.crossline=12.5",
            "bodies.spacing.sample=4",
            "bodies.min_voxels=100",
            f"hydra.run.dir={work / 'hydra'}",
        )
        seconds = time.perf_counter() - start
        found = len((work / "bodies" / "bodies.csv").read_text().splitlines()) - 1
    lines = [
        f"mask {inlines} x {crosslines} x {samples} bool: {args.bodies_gb:g} GiB; {found} bodies",
        f"bodies.py: peak RSS {rss:.0f} MiB, peak private {private:.0f} MiB, {seconds:.0f} s in all",
    ]
    record(f"Salt bodies: memory on a {args.bodies_gb:g} GB mask", "\n".join(lines))


def sample_windows(seismic, labels, every):
    """What train.py does first on a survey: the windows of the labelled lines (run in its own process)."""
    from src.survey.datamodule import SurveyDataModule

    survey = {
        "seismic": seismic,
        "labels": labels,
        "label_axis": "inline",
        "label_every": every,
        "ignore_value": 255,
        "axis": "inline",
        "window_stride": 50,
        "min_labelled": 0.05,
        "salt_share": 0.5,
        "guard": 5,
        "depth_origin": 0.0,
        "depth_step": 1.0,
        "clip_percentiles": [1.0, 99.0],
        "iline_byte": 189,
        "xline_byte": 193,
    }
    datamodule = SurveyDataModule(survey=survey, n_folds=3)
    datamodule.setup()
    print(f"{len(datamodule.images)} windows")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
        active_study(args)
    elif args.minutes:
        iou_study(args)
    elif args.bodies_gb:
        bodies_memory_study(args)
    else:
        memory_study(args)


if __name__ == "__main__":
    main()
