"""predict.*, typed and checked once before any work: each bad value is one line naming the key and what to
do (a bad one used to crash midway or to predict wrongly). conf/predict.yaml documents each setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from src.data.tiles import TILE
from src.sections.readers import AXES
from src.sections.scaling import check_clip_percentiles
from src.sections.tiling import TAPERS
from src.utils.config import is_number, is_whole_number, typed_settings
from src.utils.errors import UserError


@dataclass(frozen=True)
class PredictSettings:
    overlap: int = 50
    taper: str = "gaussian"
    axis: str = "inline"
    smooth_lines: int = 0
    depth_origin: float | None = None
    depth_step: float | None = None
    scaling: str = "auto"
    clip_percentiles: tuple[float, float] = (1.0, 99.0)
    iline_byte: int = 189
    xline_byte: int = 193
    batch_size: int = 32
    uncertainty: bool = True
    temperature: str | float = "auto"  # checked where it is chosen (src/tasks/predict.py given_temperature)

    @classmethod
    def from_config(cls, predict: Mapping) -> PredictSettings:
        return typed_settings(cls, predict, "predict", tuples=("clip_percentiles",))

    def check(self) -> None:
        if self.axis not in (*AXES, "both"):
            raise UserError(f"predict.axis={self.axis} is not one of inline, crossline, both")
        if self.scaling not in ("auto", "model", "input"):
            raise UserError(f"predict.scaling={self.scaling} is not one of auto, model, input")
        if not is_whole_number(self.overlap) or not 0 <= self.overlap < TILE:
            raise UserError(
                f"predict.overlap={self.overlap}: use a whole number of pixels from 0 to {TILE - 1} "
                f"(windows are {TILE} wide; the default 50 shares half of one)"
            )
        if not is_whole_number(self.batch_size) or self.batch_size < 1:
            raise UserError(f"predict.batch_size={self.batch_size}: use a whole number of windows, 1 or more")
        if not is_whole_number(self.smooth_lines) or self.smooth_lines < 0:
            raise UserError(f"predict.smooth_lines={self.smooth_lines}: use a whole number of lines, 0 (off) or more")
        if not isinstance(self.uncertainty, bool):
            raise UserError(f"predict.uncertainty={self.uncertainty}: use true or false")
        if self.taper not in TAPERS:
            raise UserError(f"predict.taper={self.taper} is not one of {', '.join(TAPERS)}")
        check_clip_percentiles(self.clip_percentiles, "predict.clip_percentiles")
        for key in ("depth_origin", "depth_step"):
            value = getattr(self, key)
            if value is not None and not is_number(value):
                raise UserError(f"predict.{key}={value}: use a number (or leave it out: null)")
