"""The suggest task: which inlines and crosslines of a survey to interpret next, from a survey run and
predict.py's uncertainty volume of it (src/interpretation/suggest.py), as a table and a map."""

import logging
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from src.interpretation.suggest import line_means, rank_lines
from src.sections.line_cube import LineCube, open_user_cube
from src.sections.mdio_store import StoreCube
from src.sections.readers import AXES, open_volume
from src.survey.labels import SurveyLabels
from src.survey.settings import LABELLED_LINES_KEYS
from src.utils.atomic import atomic_path
from src.utils.config import is_positive_number, is_whole_number
from src.utils.errors import UserError
from src.utils.plots import save_suggestion_map
from src.utils.run_folder import runs_under

__all__ = ["suggest"]
log = logging.getLogger(__name__)


def survey_of(path: Path) -> DictConfig:
    """The data.survey settings a survey run was trained with, or those of every run of a multirun folder (a seed
    or fold sweep, predicted as one ensemble), which must be one survey with the same labelled lines."""
    runs = runs_under(path)
    if not runs or not all(run.config.is_file() for run in runs):
        raise UserError(
            f"run={path} is not a training run folder (no .hydra/config.yaml): pass a survey run, or a multirun "
            "folder of them"
        )
    surveys = []
    for run in runs:
        data = OmegaConf.load(run.config).data
        if "survey" not in data:
            raise UserError(f"run={run.path} was not trained on a survey (data=survey): nothing to suggest lines of")
        surveys.append(data.survey)
    first = {key: surveys[0].get(key) for key in LABELLED_LINES_KEYS}
    for run, survey in zip(runs[1:], surveys[1:]):
        differing = [key for key in LABELLED_LINES_KEYS if survey.get(key) != first[key]]
        if differing:
            raise UserError(
                f"run={path}: {run.path.name} differs from {runs[0].path.name} in data.survey."
                f"{', data.survey.'.join(differing)}: suggest lines from the runs of one survey and one set of labels"
            )
    return surveys[0]


def open_uncertainty(path: Path, shape) -> LineCube | StoreCube:
    cube = open_user_cube(
        path, "uncertainty", "float", "predict.py's <out>.uncertainty.npy (or <out>.mdio) of this survey", "uncertainty"
    )
    if cube.shape != tuple(shape):
        cube.close()
        raise UserError(
            f"uncertainty={path} is {cube.shape}, the run's survey {tuple(shape)}: predict this run on its own "
            "survey with predict.py first"
        )
    return cube


def suggest(cfg: DictConfig) -> list[str]:
    """Rank the lines of `cfg.run`'s survey that nobody labelled by expected benefit; writes <out>.csv (one row per
    suggestion, in order of pick, per axis) and <out>.png (the uncertainty map with labelled and suggested lines).
    Returns the paths written."""
    settings = cfg.suggest
    if not is_whole_number(settings.count) or settings.count < 1:
        raise UserError(f"suggest.count={settings.count}: use a whole number of lines, 1 or more")
    if not is_positive_number(settings.spread):
        raise UserError(f"suggest.spread={settings.spread}: use a number of lines above 0")
    if not set(settings.axes) <= set(AXES):
        raise UserError(f"suggest.axes={list(settings.axes)}: use inline and/or crossline")
    survey = survey_of(Path(cfg.run).expanduser())
    with open_volume(survey.seismic, survey.iline_byte, survey.xline_byte) as volume:
        labels = SurveyLabels(
            survey.labels, volume, survey.label_axis, survey.label_every, survey.ignore_value, survey.salt_values
        )
        numbers = {"inline": volume.ilines, "crossline": volume.xlines}
        cube = open_uncertainty(Path(cfg.uncertainty).expanduser(), volume.shape)
    try:
        means = line_means(cube)
    finally:
        cube.close()
    rows, picked, labelled = [], {}, {}
    for axis in settings.axes:
        labelled[axis] = labels.labelled if axis == survey.label_axis else []
        per_line = means.inline if axis == "inline" else means.crossline
        picked[axis] = rank_lines(per_line, labelled[axis], settings.count, settings.spread)
        rows += [
            {
                "axis": axis,
                "rank": rank,
                "line": int(numbers[axis][s.index]),
                "index": s.index,
                "uncertainty": s.uncertainty,
                "lines_to_labelled": s.distance,
                "benefit": s.benefit,
            }
            for rank, s in enumerate(picked[axis], 1)
        ]
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table, picture = out.with_name(out.name + ".csv"), out.with_name(out.name + ".png")
    with atomic_path(table) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    save_suggestion_map(picture, means.map, labelled, {a: [s.index for s in p] for a, p in picked.items()})
    for axis, suggestions in picked.items():
        log.info("next %ss to label: %s", axis, ", ".join(str(int(numbers[axis][s.index])) for s in suggestions))
    log.info("wrote the table of suggestions to %s and their map to %s", table, picture)
    return [str(table), str(picture)]
