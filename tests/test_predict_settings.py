"""predict.* is checked once, as one typed object, before any network is loaded."""

import pytest

from conftest import compose_config
from src.sections.predict_settings import PredictSettings
from src.utils.errors import UserError


def settings(*overrides):
    cfg = compose_config("predict", "ckpt=run", "input=in.sgy", "out=out", *overrides)
    return PredictSettings.from_config(cfg.predict)


def test_the_shipped_settings_pass_as_typed_values():
    shipped = settings()
    assert shipped.overlap == 50 and shipped.axis == "inline" and shipped.clip_percentiles == (1.0, 99.0)


@pytest.mark.parametrize(
    "override, message",
    [
        ("predict.axis=diagonal", "predict.axis=diagonal is not one of inline, crossline, both"),
        ("predict.overlap=101", "predict.overlap=101: use a whole number of pixels from 0 to 100"),
        ("predict.smooth_lines=-1", "predict.smooth_lines=-1: use a whole number of lines, 0 .off. or more"),
        ("predict.depth_step=deep", "predict.depth_step=deep: use a number"),
        ("predict.clip_percentiles=[99,1]", r"predict.clip_percentiles=\[99, 1\]: use \[low, high\]"),
        ("+predict.overlapp=20", "predict.overlapp is not one of the predict settings: they are overlap, taper"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(override, message):
    with pytest.raises(UserError, match=message):
        settings(override)
