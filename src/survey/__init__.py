"""Your own survey: a synthetic one (synthetic), labels read a line at a time (labels), leakage-safe folds
(split) and the DataModule of windows of labelled lines (datamodule)."""

from src.survey.datamodule import SurveyDataModule
from src.survey.synthetic import generate_survey

__all__ = ["SurveyDataModule", "generate_survey"]
