"""Training curves from a metrics.csv as Lightning's CSVLogger writes it: epoch rows and step rows mixed."""

import pandas as pd
from PIL import Image

from src.utils.plots import curve_panels, loss_switch, save_curves


def metrics_frame(lr_column):
    return pd.DataFrame(
        {
            "epoch": [0, 0, 0, 1, 1],
            "step": [4, 9, 9, 14, 19],
            lr_column: [1e-3, 5e-4, None, 1e-4, None],
            "train/loss_epoch": [None, None, 0.9, None, 0.7],
            "val/map": [None, None, 0.2, None, 0.4],
        }
    )


def test_the_lr_panel_follows_whichever_optimiser_and_absent_metrics_drop_out():
    panels = curve_panels(metrics_frame("lr-SGD"))
    assert panels == [
        ("loss", "epoch", ["train/loss_epoch"]),
        ("val/map", "epoch", ["val/map"]),
        ("lr", "step", ["lr-SGD"]),
    ]


def test_the_loss_switch_is_placed_inside_the_epoch_where_it_happened():
    frame = pd.DataFrame({"epoch": [0, 1, 2, 3], "train/loss_phase": [0.0, 0.25, 1.0, 1.0]})
    assert loss_switch(frame) == 0.75  # a quarter of epoch 1's steps (0 -> 1 on the axis) in phase 1
    assert loss_switch(frame.assign(**{"train/loss_phase": 0.0})) is None
    assert loss_switch(frame.drop(columns="train/loss_phase")) is None


def test_curves_are_written_as_one_png_with_a_panel_each(tmp_path):
    metrics_frame("lr-Adam").to_csv(tmp_path / "metrics.csv", index=False)
    save_curves(tmp_path / "metrics.csv", tmp_path / "curves.png")
    with Image.open(tmp_path / "curves.png") as image:
        assert image.format == "PNG" and image.width > 3 * image.height  # three panels side by side (two: ~2.3x)
