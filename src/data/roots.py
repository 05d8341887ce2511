"""Where the data lives: the configured Kaggle-layout folder or survey, or the synthetic ones generated on first
use."""
from pathlib import Path

from src.data import synthetic
from src.survey.synthetic import generate_survey


def resolve_root(data_cfg):
    root = Path(data_cfg.root).expanduser().resolve()
    if data_cfg.get("synthetic"):
        spec = data_cfg.synthetic
        synthetic.ensure(root, n_train=spec.n_train, n_test=spec.n_test, seed=spec.seed)
    return root


def resolve_survey(survey_cfg):
    """The data.survey config as a plain dict, its synthetic survey generated first when it names one."""
    survey = dict(survey_cfg)
    spec = survey.get("synthetic")
    if spec and not Path(survey["seismic"]).exists():
        generate_survey(Path(survey["seismic"]).parent, shape=tuple(spec["shape"]), seed=spec["seed"])
    return survey
