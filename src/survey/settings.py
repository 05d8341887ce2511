"""data.survey, typed and checked once, when a survey DataModule is built and before anything is read: each bad
value is one line naming the key and what to do. conf/data/survey.yaml documents each setting; this is their one
list in code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from src.sections.readers import AXES
from src.sections.scaling import check_clip_percentiles
from src.utils.config import is_number, is_positive_number, is_whole_number, typed_settings
from src.utils.errors import UserError

# The settings that fix a survey's seismic and which of its lines are labelled: the runs of a multirun folder must
# agree on them for their ensemble's uncertainty to say which line to label next (suggest.py).
LABELLED_LINES_KEYS = (
    "seismic",
    "labels",
    "label_axis",
    "label_every",
    "ignore_value",
    "salt_values",
    "iline_byte",
    "xline_byte",
)


@dataclass(frozen=True)
class SurveySettings:
    seismic: str
    labels: str
    label_axis: str = "inline"
    label_every: int | None = None
    ignore_value: float = 255
    salt_values: tuple[float, ...] | None = None
    axis: str = "inline"
    window_stride: int = 50
    min_labelled: float = 0.05
    salt_share: float = 0.5
    guard: int = 101
    depth_origin: float = 0.0
    depth_step: float = 1.0
    clip_percentiles: tuple[float, float] = (1.0, 99.0)
    iline_byte: int = 189
    xline_byte: int = 193
    synthetic: Mapping | None = None

    @classmethod
    def from_config(cls, survey: Mapping) -> SurveySettings:
        return typed_settings(cls, survey, "data.survey", tuples=("salt_values", "clip_percentiles"))

    def check(self) -> None:
        if self.label_axis not in AXES:
            raise UserError(f"data.survey.label_axis={self.label_axis} is not one of inline, crossline")
        if self.axis not in (*AXES, "both"):
            raise UserError(f"data.survey.axis={self.axis} is not one of inline, crossline, both")
        if self.label_every is not None and not (is_whole_number(self.label_every) and self.label_every >= 1):
            raise UserError(f"data.survey.label_every={self.label_every}: use a whole number of lines, 1 or more")
        if not isinstance(self.ignore_value, int | float) or isinstance(self.ignore_value, bool):
            raise UserError(f"data.survey.ignore_value={self.ignore_value}: use the number your labels leave blank")
        if self.salt_values is not None and not (self.salt_values and all(is_number(v) for v in self.salt_values)):
            raise UserError(f"data.survey.salt_values={self.salt_values}: use a list of label values, e.g. [3]")
        if not (is_whole_number(self.window_stride) and 1 <= self.window_stride <= 101):
            raise UserError(f"data.survey.window_stride={self.window_stride}: use a whole number from 1 to 101")
        for key in ("min_labelled", "salt_share"):
            value = getattr(self, key)
            if not (is_number(value) and 0 <= value <= 1):
                raise UserError(f"data.survey.{key}={value}: use a share from 0 to 1")
        if not (is_whole_number(self.guard) and self.guard >= 0):
            raise UserError(f"data.survey.guard={self.guard}: use a whole number of lines, 0 or more")
        if not is_number(self.depth_origin) or not is_positive_number(self.depth_step):
            raise UserError(
                f"data.survey.depth_origin={self.depth_origin}, depth_step={self.depth_step}: use the depth of the "
                "first sample and a depth per sample above 0"
            )
        check_clip_percentiles(self.clip_percentiles, "data.survey.clip_percentiles")
        for key in ("iline_byte", "xline_byte"):
            if not (is_whole_number(getattr(self, key)) and 1 <= getattr(self, key) <= 240):
                raise UserError(f"data.survey.{key}={getattr(self, key)}: use a trace header byte from 1 to 240")
