"""IoU on the inlines nobody labelled against the number of labelled ones, from scratch and fine-tuned; with
--clean-min-voxels, bodies.py's 3D clean-up and predict.smooth_lines; with --figures, README's pictures."""

import shutil
import tempfile
from pathlib import Path

import numpy as np

from bench.common import SHARED_TGS, record, train
from bench.survey.common import PREDICT_DEPTH, evenly_spaced, iou, label_files, predicted_iou, run_py, survey_training
from src.survey.synthetic import generate_survey


def line_disagreement(mask):
    """Mean over neighbouring inlines of |A xor B| / |A or B|: how much the salt changes from one line to the next."""
    rates = [(a ^ b).sum() / max((a | b).sum(), 1) for a, b in zip(mask[:-1], mask[1:])]
    return float(np.mean(rates))


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


def iou_study(shape, seed, setting, arms, labelled, minutes, tgs, tgs_minutes, clean_min_voxels, smooth_lines, figures):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        survey = generate_survey(work / "survey", shape=tuple(shape), seed=seed, setting=setting)
        labels = np.load(survey / "labels.npy")
        arms = {arm: [] for arm in arms.split(",")}  # each arm's extra train.py overrides
        if "finetuned" in arms:
            start = tgs or train(work / "tgs", tgs_minutes, "experiment=cpu_fast", f"data.root={SHARED_TGS}")
            arms["finetuned"] = [f"init={start}"]
        tgs_note = f"; TGS network: {'given' if tgs else f'{tgs_minutes} min'}" if "finetuned" in arms else ""
        names = {"scratch": "from scratch", "finetuned": "fine-tuned"}
        lines = [
            f"{setting} survey " + "x".join(map(str, shape)) + f" seed {seed} (salt {labels.mean():.1%}),"
            f" {minutes} min per model, experiment=cpu_fast{tgs_note}",
            f"{'labelled inlines':>16s} "
            + " ".join(f"{names[a]:>13s}" for a in arms)
            + "   IoU on the unlabelled inlines",
        ]
        for n in labelled:
            picked = evenly_spaced(n, shape[0])
            folder = label_files(labels, picked, work / f"labels{n}")
            unlabelled = np.setdiff1d(np.arange(shape[0]), picked)
            ious, cleanup = [], []
            for arm, extra in arms.items():
                run = survey_training(survey, folder, n, minutes, work / f"{arm}{n}", *extra)
                score, mask_path = predicted_iou(run, survey, labels, unlabelled, work)
                ious.append(score)
                if clean_min_voxels:
                    cleanup.append(
                        (
                            arm,
                            consistency(
                                run,
                                mask_path,
                                survey,
                                labels,
                                unlabelled,
                                clean_min_voxels,
                                smooth_lines,
                                work,
                            ),
                        )
                    )
            lines.append(f"{n:16d} " + " ".join(f"{iou:13.3f}" for iou in ious))
            if figures and n == labelled[-1]:
                save_figures(run, survey, work, figures)
            for arm, ((raw_iou, raw_change), (clean_iou, clean_change), (smooth_iou, smooth_change)) in cleanup:
                lines += [
                    f"{'':16s} {names[arm]}, 3D clean-up (bodies >= {clean_min_voxels} voxels): IoU "
                    f"{raw_iou:.3f} -> {clean_iou:.3f}, line-to-line disagreement {raw_change:.3f} -> "
                    f"{clean_change:.3f}",
                    f"{'':16s} {names[arm]}, predict.smooth_lines={smooth_lines}: IoU {raw_iou:.3f} -> "
                    f"{smooth_iou:.3f}, line-to-line disagreement {raw_change:.3f} -> {smooth_change:.3f}",
                ]
    record("Your own survey: IoU on unlabelled inlines", "\n".join(lines))
