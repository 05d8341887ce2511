"""The post-processing settings infer.py applies (conf/postproc/, a run's postproc.yaml from tune.py, or what an
exported graph carries), typed and checked once, wherever they came from: a tuned file may come from someone else,
and a bad value in it is one line naming the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from src.utils.config import is_number, is_whole_number
from src.utils.errors import UserError


def check_threshold(value, source: str) -> float:
    if not is_number(value) or not 0 <= value <= 1:
        raise UserError(f"threshold={value} ({source}): use a probability from 0 to 1")
    return float(value)


@dataclass(frozen=True)
class PostprocSettings:
    threshold: float = 0.5
    min_component: int = 0
    min_mask: int = 0
    fill_holes: int = 0

    @classmethod
    def checked(cls, values: Mapping, source: str) -> PostprocSettings:
        """The settings `values` give (from `source`, named in the error line), each checked."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UserError(
                f"postproc.{unknown[0]} ({source}) is not one of the postproc settings: they are {', '.join(known)}"
            )
        settings = cls(**values)
        check_threshold(settings.threshold, source)
        for key in ("min_component", "min_mask", "fill_holes"):
            value = getattr(settings, key)
            if not is_whole_number(value) or value < 0:
                raise UserError(f"postproc.{key}={value} ({source}): use a whole number of pixels, 0 (off) or more")
        return settings

    def as_dict(self) -> dict:
        return asdict(self)
