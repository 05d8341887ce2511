"""What train.py does first on a survey, in a process of its own so its memory is measured alone:
python -m bench.survey.windows SEISMIC LABELS EVERY"""

import sys


def sample_windows(seismic, labels, every):
    """What train.py does first on a survey: the windows of the labelled lines (run in its own process)."""
    from src.survey.datamodule import SurveyDataModule

    survey = {
        "seismic": seismic,
        "labels": labels,
        "label_axis": "inline",
        "label_every": every,
        "ignore_value": 255,
        "axis": "inline",
        "window_stride": 50,
        "min_labelled": 0.05,
        "salt_share": 0.5,
        "guard": 5,
        "depth_origin": 0.0,
        "depth_step": 1.0,
        "clip_percentiles": [1.0, 99.0],
        "iline_byte": 189,
        "xline_byte": 193,
    }
    datamodule = SurveyDataModule(survey=survey, n_folds=3)
    datamodule.setup()
    print(f"{len(datamodule.images)} windows")


if __name__ == "__main__":
    sample_windows(sys.argv[1], sys.argv[2], int(sys.argv[3]))
