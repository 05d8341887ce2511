"""A whole grey section -> its maps, from 101 x 101 windows predicted exactly like training tiles and blended with
a taper (src/sections/tiling.py): the ensemble's probabilities as trained (`raw`: the mask is decided on these,
so calibration never moves it), the calibrated probabilities (`probs`, only when a member's temperature is not
1) and the uncertainty of the views (only when asked)."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from src.inference.backends import prediction_maps
from src.sections.tiling import section_probs


@dataclass(frozen=True)
class LinearDepth:
    """The depth of a section's row: origin + row * step (0 everywhere for a network without the depth
    channel); a class, not a closure, so a cluster's workers can be sent it."""

    origin: float = 0.0
    step: float = 0.0

    def __call__(self, row: int) -> float:
        return self.origin + row * self.step


@dataclass(frozen=True)
class SectionPredictor:
    backend: Callable
    temperatures: tuple[float, ...]  # one per member, in the backend's order
    with_uncertainty: bool
    depth_of_row: Callable[[int], float]
    overlap: int
    taper: str
    batch_size: int

    @property
    def calibrated(self) -> bool:
        return any(t != 1.0 for t in self.temperatures)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The maps a call returns, in order."""
        return ("raw", "probs")[: 1 + self.calibrated] + (("uncertainty",) if self.with_uncertainty else ())

    def __call__(self, grey_section) -> dict[str, np.ndarray]:
        maps = section_probs(
            grey_section,
            lambda tiles, depths: prediction_maps(
                self.backend, tiles, depths, list(self.temperatures), self.with_uncertainty
            ),
            self.depth_of_row,
            self.overlap,
            self.taper,
            self.batch_size,
        )
        return dict(zip(self.kinds, maps))
