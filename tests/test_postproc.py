import numpy as np
import pytest

from src.inference.postproc import fill_small_holes, postprocess, remove_small_components


def blobs():
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = True  # 36 px
    mask[15:17, 15:17] = True  # 4 px
    return mask


def test_small_components_are_dropped_big_ones_kept():
    out = remove_small_components(blobs(), 5)
    assert out[2:8, 2:8].all() and not out[15:17, 15:17].any()
    assert np.array_equal(remove_small_components(blobs(), 0), blobs())


def test_whole_mask_emptied_below_min_mask():
    probs = blobs().astype(np.float32)
    assert postprocess(probs, min_mask=41).sum() == 0
    assert postprocess(probs, min_mask=40).sum() == 40


def test_threshold_applies_to_probabilities():
    probs = np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20)
    assert postprocess(probs, threshold=0.75).sum() == (probs > 0.75).sum()


def test_enclosed_small_holes_filled_border_gaps_not():
    mask = np.zeros((20, 20), bool)
    mask[2:12, 2:12] = True
    mask[5:7, 5:7] = False  # enclosed 4-px hole
    mask[:, 15:] = True
    mask[0:3, 17:] = False  # gap touching the border
    out = fill_small_holes(mask, 10)
    assert out[5:7, 5:7].all() and not out[0:3, 17:].any()
    assert not fill_small_holes(mask, 3)[5:7, 5:7].any()


@pytest.mark.parametrize(
    "values, line",
    [
        ({"threshold": "abc"}, "threshold=abc (tuned, from run/postproc.yaml): use a probability from 0 to 1"),
        ({"threshold": 1.5}, "threshold=1.5 (tuned, from run/postproc.yaml): use a probability from 0 to 1"),
        ({"min_mask": -3}, "postproc.min_mask=-3 (tuned, from run/postproc.yaml): use a whole number of pixels"),
        ({"fill_holes": 2.5}, "postproc.fill_holes=2.5 (tuned, from run/postproc.yaml): use a whole number"),
        ({"min_mas": 9}, "postproc.min_mas (tuned, from run/postproc.yaml) is not one of the postproc settings"),
    ],
)
def test_a_bad_post_processing_value_is_one_line_naming_where_it_came_from(values, line):
    from src.inference.postproc_settings import PostprocSettings
    from src.utils.errors import UserError

    with pytest.raises(UserError) as error:
        PostprocSettings.checked({"threshold": 0.5, **values}, "tuned, from run/postproc.yaml")
    assert str(error.value).startswith(line)


def test_good_post_processing_values_pass_as_they_are():
    from src.inference.postproc_settings import PostprocSettings

    values = {"threshold": 0.45, "min_component": 10, "min_mask": 0, "fill_holes": 5}
    assert PostprocSettings.checked(values, "tuned").as_dict() == values
