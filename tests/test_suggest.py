"""Which line to label next: the greedy ranking on hand-made uncertainties (ties, spread, labelled lines), the
line means read a line at a time, and bad inputs as one clear error."""

import numpy as np
import pytest

from conftest import compose_config, run_task
from src.interpretation.suggest import line_means, rank_lines
from src.sections.line_cube import LineCube
from src.tasks.suggest import suggest
from src.utils.errors import UserError


def test_picks_spread_from_labelled_and_from_each_other():
    uncertainty = np.array([0.1, 0.5, 0.4, 0.9, 0.2])
    # line 3 labelled; spread 2: benefits 0.1, 0.5, 0.2, -, 0.1 -> 1; then 0.05, -, 0.2, -, 0.1 -> 2; then 4, 0
    picks = rank_lines(uncertainty, [3], count=10, spread=2)
    assert [p.index for p in picks] == [1, 2, 4, 0]
    assert [p.benefit for p in picks] == pytest.approx([0.5, 0.2, 0.1, 0.05])
    assert [p.distance for p in picks] == [2, 1, 1, 3]


def test_equal_benefits_pick_the_first_line_and_no_labels_mean_no_discount():
    picks = rank_lines(np.full(6, 0.3), [], count=3, spread=3)
    # the first pick, 0, discounts 1 and 2 (by 1/3 and 2/3): then 3, which discounts 4 and 2 further; then 5
    assert [p.index for p in picks] == [0, 3, 5]
    assert picks[0].distance == np.inf and picks[0].benefit == pytest.approx(0.3)


def test_line_means_match_the_cube(tmp_path):
    cube = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
    writer = LineCube(tmp_path / "u.npy", cube.shape)
    for k in range(4):
        writer.write("inline", k, cube[k])
    writer.close()
    reader = LineCube.existing(tmp_path / "u.npy")
    means = line_means(reader)
    reader.close()
    assert np.allclose(means.inline, cube.mean((1, 2))) and np.allclose(means.crossline, cube.mean((0, 2)))
    assert np.allclose(means.map, cube.mean(2))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["suggest.count=0"], "suggest.count=0: use a whole number of lines"),
        (["suggest.count=true"], "suggest.count=True: use a whole number of lines"),
        (["suggest.spread=-1"], "suggest.spread=-1: use a number of lines above 0"),
        (["suggest.spread=nan"], "suggest.spread=nan: use a number of lines above 0"),
        (["suggest.spread=true"], "suggest.spread=True: use a number of lines above 0"),
        (["suggest.axes=[depth]"], r"suggest.axes=\['depth'\]: use inline and/or crossline"),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path, overrides, message):
    cfg = compose_config(
        "suggest", f"run={tmp_path}", f"uncertainty={tmp_path / 'u.npy'}", f"out={tmp_path / 'next'}", *overrides
    )
    with pytest.raises(UserError, match=message):
        run_task(suggest, cfg)


def test_a_run_that_is_not_a_survey_run_is_refused(trained_run, tmp_path):
    cfg = compose_config("suggest", f"run={trained_run}", f"uncertainty={tmp_path}/u.npy", f"out={tmp_path / 'n'}")
    with pytest.raises(UserError, match="was not trained on a survey"):
        run_task(suggest, cfg)
    cfg = compose_config("suggest", f"run={tmp_path}", f"uncertainty={tmp_path}/u.npy", f"out={tmp_path / 'n'}")
    with pytest.raises(UserError, match="is not a training run folder"):
        run_task(suggest, cfg)
