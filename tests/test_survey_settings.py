"""data.survey is checked once, as one typed object, before anything is read: the shipped defaults pass, and each
bad value is one line naming the key."""

import pytest

from conftest import compose_config
from src.survey.settings import LABELLED_LINES_KEYS, SurveySettings
from src.utils.errors import UserError


def survey(*overrides):
    cfg = compose_config("train", "data=survey", "data.survey.seismic=v.npy", "data.survey.labels=l.npy", *overrides)
    return cfg.data.survey


def test_the_shipped_settings_pass_as_typed_values():
    settings = SurveySettings.from_config(survey("data.survey.salt_values=[3]"))
    assert settings.seismic == "v.npy" and settings.window_stride == 50 and settings.guard == 101
    assert settings.clip_percentiles == (1.0, 99.0) and settings.salt_values == (3,)
    assert set(LABELLED_LINES_KEYS) <= {f for f in SurveySettings.__dataclass_fields__}


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.survey.axis=diagonal", "data.survey.axis=diagonal is not one of inline, crossline, both"),
        ("data.survey.label_axis=both", "data.survey.label_axis=both is not one of inline, crossline"),
        ("data.survey.window_stride=0", "data.survey.window_stride=0: use a whole number from 1 to 101"),
        ("data.survey.window_stride=true", "data.survey.window_stride=True: use a whole number"),
        ("data.survey.min_labelled=1.5", "data.survey.min_labelled=1.5: use a share from 0 to 1"),
        ("data.survey.guard=-1", "data.survey.guard=-1: use a whole number of lines"),
        ("data.survey.depth_step=0", "depth_step=0: use the depth of the first sample and a depth per sample above 0"),
        ("data.survey.label_every=0", "data.survey.label_every=0: use a whole number of lines, 1 or more"),
        ("data.survey.clip_percentiles=[99,1]", r"data.survey.clip_percentiles=\[99, 1\]: use \[low, high\]"),
        ("data.survey.iline_byte=500", "data.survey.iline_byte=500: use a trace header byte from 1 to 240"),
        ("data.survey.salt_values=[]", r"data.survey.salt_values=\(\): use a list of label values"),
        ("+data.survey.windowstride=20", "data.survey.windowstride is not one of the data.survey settings: they are"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(override, message):
    with pytest.raises(UserError, match=message):
        SurveySettings.from_config(survey(override))
