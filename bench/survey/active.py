"""Active labelling: from a few evenly spaced inlines, rounds of train -> predict.py -> suggest.py -> label the
suggested inline, against as many evenly spaced inlines; calibration and uncertainty of each last network."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from bench.common import PROJECT, record
from bench.survey.common import evenly_spaced, label_files, predicted_iou, run_py, survey_training
from src.interpretation.suggest import rank_lines
from src.metrics.calibration import expected_calibration_error, uncertainty_auroc
from src.survey.synthetic import FIRST_INLINE, generate_survey
from src.utils.run_folder import runs_under


def round_prediction(survey, labels, folder, n, seed, work, minutes, round_members, round_minutes) -> tuple[Path, Path]:
    """(the survey run suggest.py reads, predict.py's mask path) of one round: one network of `minutes`, or with
    round_members K > 1 a sweep of K networks of `round_minutes` with their own training seeds, predicted as one
    ensemble."""
    run_dir = work / f"s{seed}-active{n}"
    if round_members == 1:
        trained = survey_training(survey, folder, n, minutes, run_dir, f"seed={seed}")
    else:
        seeds = ",".join(str(seed + 1000 * j) for j in range(round_members))
        trained = survey_training(survey, folder, n, round_minutes, run_dir, f"seed={seeds}", multirun=True)
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


def active_study(shape, seed, setting, seeds, start, rounds, minutes, oracle, round_members, round_minutes):
    inlines = shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        survey = generate_survey(work / "survey", shape=tuple(shape), seed=seed, setting=setting)
        labels = np.load(survey / "labels.npy")
        final = start + rounds
        even = evenly_spaced(final, inlines)
        rows, lines = [], []
        for training_seed in seeds:
            picked = list(evenly_spaced(start, inlines))
            for _ in range(rounds):
                n = len(picked)
                folder = label_files(labels, picked, work / f"labels-s{training_seed}-active{n}")
                run, mask_path = round_prediction(
                    survey, labels, folder, n, training_seed, work, minutes, round_members, round_minutes
                )
                if oracle:
                    picked.append(oracle_inline(mask_path, labels, picked))
                else:
                    out = mask_path.with_name(mask_path.name.removesuffix(".mask.npy"))
                    picked.append(suggested_inline(run, out, work))
            runs = {
                "active": survey_training(
                    survey,
                    label_files(labels, picked, work / f"labels-s{training_seed}-active{final}"),
                    final,
                    minutes,
                    work / f"s{training_seed}-active{final}",
                    f"seed={training_seed}",
                ),
                "even": survey_training(
                    survey,
                    label_files(labels, even, work / f"labels-s{training_seed}-even{final}"),
                    final,
                    minutes,
                    work / f"s{training_seed}-even{final}",
                    f"seed={training_seed}",
                ),
            }
            evaluated = np.setdiff1d(np.arange(inlines), np.union1d(picked, even))
            scores = {arm: final_scores(run, survey, labels, evaluated, work) for arm, run in runs.items()}
            rows.append(scores)
            lines.append(
                f"seed {training_seed}: active inlines {sorted(int(k) for k in picked)}, even {even.tolist()}; "
                f"{len(evaluated)} inlines evaluated"
            )
            for arm, (score, ece, ece_t, temperature, auroc) in scores.items():
                lines.append(
                    f"  {arm:6s} IoU {score:.3f}   ECE {ece:.3f} -> {ece_t:.3f} (T = {temperature:.2f})   "
                    f"uncertainty AUROC for wrong pixels {auroc:.3f}"
                )
        mean = {arm: np.mean([r[arm] for r in rows], axis=0) for arm in ("active", "even")}
        rule = "suggest.py's rule on the true error (oracle)" if oracle else "suggest.py"
        if round_members > 1:
            rule += f" on {round_members} independently trained networks of {round_minutes} min"
        header = (
            f"{setting} survey " + "x".join(map(str, shape)) + f" seed {seed}, {minutes} min per "
            f"model (experiment=cpu_fast, from scratch), {start} evenly spaced inlines + {rounds} rounds "
            f"of {rule} (1 inline each) vs {final} evenly spaced; training seeds {seeds}"
        )
        summary = [
            f"mean of {len(rows)} seeds at {final} labelled inlines: IoU active {mean['active'][0]:.3f}, even "
            f"{mean['even'][0]:.3f} ({100 * (mean['active'][0] - mean['even'][0]):+.1f} points); ECE after "
            f"calibration {mean['active'][2]:.3f} / {mean['even'][2]:.3f}; AUROC {mean['active'][4]:.3f} / "
            f"{mean['even'][4]:.3f}"
        ]
    record("Your own survey: the next line to label", "\n".join([header, *lines, *summary]))
