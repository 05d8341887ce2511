"""The synthetic survey's settings: "easy" as it always was, "hard" with what makes real salt hard to pick
(several bodies of different sizes, an interior with the sediments' texture, a dim base, a wavelet that changes
across the survey), recorded in survey.json."""

import hashlib
import json

import numpy as np
import pytest
from scipy.ndimage import binary_erosion, label

from src.survey.synthetic import generate_survey, make_survey, top_and_base

SHAPE = (40, 120, 120)


def bodies(labels):
    _, count = label(labels)
    sizes = np.bincount(label(labels)[0].ravel())[1:]
    return count, sizes


def interior_contrast(amplitudes, labels):
    """RMS amplitude of the salt's interior (6 samples clear of its top and base) over that of the sediments
    (as far from salt): near 0, the salt is a quiet hole."""
    salt, clear = labels.astype(bool), np.ones((3, 3, 13), bool)
    interior, sediments = binary_erosion(salt, clear), binary_erosion(~salt, clear)
    return np.sqrt(np.mean(amplitudes[interior] ** 2)) / np.sqrt(np.mean(amplitudes[sediments] ** 2))


def dominant_period(trace_block):
    """Samples per cycle of the strongest frequency of a block of traces (traces, samples)."""
    spectrum = np.abs(np.fft.rfft(trace_block - trace_block.mean(1, keepdims=True), axis=1)).mean(0)
    frequencies = np.fft.rfftfreq(trace_block.shape[1])
    return 1 / frequencies[1:][spectrum[1:].argmax()]


def test_the_easy_setting_is_the_survey_it_always_was():
    amplitudes, labels = make_survey(SHAPE, seed=0)
    digest = hashlib.sha256(amplitudes.tobytes() + labels.tobytes()).hexdigest()[:16]
    assert digest == "5b0b37c81e6c9d5c"  # as generated before the hard setting existed


def test_the_hard_setting_is_harder_in_the_ways_it_models():
    easy, easy_labels = make_survey(SHAPE, seed=0)
    hard, hard_labels = make_survey(SHAPE, seed=0, setting="hard")
    count, sizes = bodies(hard_labels)
    assert count >= 4 > 2 >= bodies(easy_labels)[0] and sizes.max() > 2 * sizes.min()  # several, of different sizes
    assert interior_contrast(hard, hard_labels) > 2 * interior_contrast(easy, easy_labels)  # no quiet hole
    _, base = top_and_base(hard_labels.astype(bool))
    top, _ = top_and_base(hard_labels.astype(bool))
    assert np.abs(hard[base]).mean() < 0.6 * np.abs(hard[top]).mean()  # a dim base
    sediments = hard[:, :, :20].reshape(SHAPE[0], -1, 20)  # above any salt
    first, last = dominant_period(sediments[:3].reshape(-1, 20)), dominant_period(sediments[-3:].reshape(-1, 20))
    assert last > first  # the wavelet's period grows across the survey


def test_the_setting_is_recorded_and_checked(tmp_path):
    folder = generate_survey(tmp_path / "s", shape=(8, 30, 40), seed=1, setting="hard")
    assert json.loads((folder / "survey.json").read_text())["setting"] == "hard"
    with pytest.raises(ValueError, match="unknown synthetic survey setting 'medium'"):
        make_survey((8, 30, 40), setting="medium")
