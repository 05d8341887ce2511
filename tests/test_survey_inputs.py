"""A survey's files as other software writes them: labels coded with NaN, -1 or class ids, labels on other lines,
SEG-Y files whose headers name a grid their traces do not fill, seismic with no amplitudes. Each is read right or
refused with one clear line, never trained or predicted wrongly with exit 0."""

import numpy as np
import pytest
import segyio

from conftest import compose_config, run_task, train_run
from src.sections.readers import Volume, open_seismic
from src.sections.writers import write_segy_volume
from src.survey.labels import UNLABELLED, SurveyLabels
from src.tasks.predict import predict
from src.tasks.train import train
from src.utils.errors import UserError

SHAPE = (6, 5, 40)


@pytest.fixture
def seismic(tmp_path):
    cube = np.random.default_rng(0).normal(0, 1, SHAPE).astype(np.float32)
    return write_segy_volume(tmp_path / "seismic.sgy", cube), cube


def labels_of(tmp_path, seismic_path, values, **options):
    np.save(tmp_path / "labels.npy", values)
    volume = Volume(seismic_path)
    return SurveyLabels(tmp_path / "labels.npy", volume, **options), volume


def test_nan_labels_are_uninterpreted_not_no_salt(tmp_path, seismic):
    values = np.full(SHAPE, np.nan, np.float32)
    values[2] = 0.0
    values[2, :, 20:] = 1.0
    labels, _ = labels_of(tmp_path, seismic[0], values)
    assert (labels.line("inline", 0) == UNLABELLED).all()
    line = labels.line("inline", 2)
    assert (line[:, :20] == 0).all() and (line[:, 20:] == 1).all()


@pytest.mark.parametrize("axis, lines", [("inline", [2, 4]), ("crossline", [1, 3])])
def test_a_line_is_labelled_when_it_holds_an_interpreted_sample(tmp_path, seismic, axis, lines):
    """A sparse label volume without label_every: lines left all NaN are not labelled lines, so they are what
    suggest.py can suggest and what the folds leave out."""
    values = np.full(SHAPE, np.nan, np.float32)
    for k in lines:
        (values[k] if axis == "inline" else values[:, k])[..., 30:] = 1.0
    labels, _ = labels_of(tmp_path, seismic[0], values, axis=axis)
    assert labels.labelled == lines
    with pytest.raises(UserError, match="hold no interpreted sample .* label a line"):
        labels_of(tmp_path, seismic[0], np.full(SHAPE, np.nan, np.float32))


def test_an_ignore_value_of_minus_one_marks_uninterpreted_samples(tmp_path, seismic):
    values = np.full(SHAPE, -1, np.int16)
    values[3, :, :10] = 0
    values[3, :, 10:] = 1
    labels, _ = labels_of(tmp_path, seismic[0], values, ignore_value=-1)
    line = labels.line("inline", 3)
    assert (line[:, :10] == 0).all() and (line[:, 10:] == 1).all()
    assert (labels.line("inline", 1) == UNLABELLED).all()
    sparse, _ = labels_of(tmp_path, seismic[0], values, ignore_value=-1, every=3)  # inlines 0 and 3 count as labelled
    assert (sparse.line("inline", 1) == UNLABELLED).all() and (sparse.line("inline", 3)[:, 10:] == 1).all()


def test_class_ids_are_refused_unless_the_salt_values_are_named(tmp_path, seismic):
    values = np.full(SHAPE, 7, np.uint8)
    values[:, :, 25:] = 3  # salt 3 under sediment 7
    with pytest.raises(
        UserError,
        match="hold the values 3, 7 besides the uninterpreted 255: say which are salt "
        r"with data.survey.salt_values=\[...\]",
    ):
        labels_of(tmp_path, seismic[0], values)  # refused on opening, before any line is trained on
    named, _ = labels_of(tmp_path, seismic[0], values, salt_values=[3])
    line = named.line("inline", 0)
    assert (line[:, 25:] == 1).all() and (line[:, :25] == 0).all()


def test_three_classes_across_lines_are_refused(tmp_path, seismic):
    values = np.zeros(SHAPE, np.uint8)
    values[1, :, 30:] = 1
    values[4, :, 30:] = 2
    with pytest.raises(UserError, match="hold the values 0, 1, 2"):  # seen on opening, across lines 1 and 4
        labels_of(tmp_path, seismic[0], values)


def test_labels_on_other_lines_of_the_same_shape_are_refused(tmp_path, seismic):
    shifted = write_segy_volume(tmp_path / "labels.sgy", np.zeros(SHAPE, np.float32), ilines=range(1006, 1012))
    with pytest.raises(
        UserError, match="labels .*labels.sgy hold inlines 1006..1011 but the seismic .* holds 1000..1005"
    ):
        SurveyLabels(shifted, Volume(seismic[0]))


def test_labels_that_are_not_numbers_are_one_clear_error(tmp_path, seismic):
    np.save(tmp_path / "labels.npy", np.array([{"salt": 1}] * 4, dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="cannot read labels .*labels.npy .* save them with numpy.save as numbers"):
        SurveyLabels(tmp_path / "labels.npy", Volume(seismic[0]))


def segy_of_traces(path, pairs, samples=40):
    """A SEG-Y whose traces carry the (inline, crossline) `pairs` in this order, in bytes 189 and 193."""
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = 5, list(range(samples)), len(pairs)
    rng = np.random.default_rng(0)
    with segyio.create(str(path), spec) as f:
        for index, (il, xl) in enumerate(pairs):
            f.header[index] = {segyio.su.iline: il, segyio.su.xline: xl}
            f.trace[index] = rng.normal(0, 1, samples).astype(np.float32)
    return path


GRID = [(il, xl) for il in range(1000, 1012) for xl in range(2000, 2110)]


@pytest.mark.parametrize(
    "pairs, reason",
    [
        (GRID[:-7], "name 12 inlines x 110 crosslines = 1320 traces, but 7 of them are missing"),
        (
            list(np.random.default_rng(1).permutation(GRID).tolist()),
            "all there, but not sorted by inline or by crossline",
        ),
        (GRID + GRID[:3], "3 traces repeat an \\(inline, crossline\\) pair"),
    ],
)
def test_a_segy_whose_traces_do_not_fill_its_grid_is_refused_with_the_reason(tmp_path, pairs, reason):
    path = segy_of_traces(tmp_path / "odd.sgy", [tuple(p) for p in pairs])
    with pytest.raises(UserError, match=f"{reason}.* set predict.iline_byte and predict.xline_byte"):
        open_seismic(path)
    with pytest.raises(UserError, match="set data.survey.iline_byte and data.survey.xline_byte"):
        open_seismic(path, option="data.survey")


def test_a_segy_line_without_a_grid_is_still_a_section(tmp_path):
    path = segy_of_traces(tmp_path / "line.sgy", [(1000, xl) for xl in range(2000, 2150)])
    assert open_seismic(path).data.shape == (40, 150)


@pytest.mark.parametrize("fill, message", [(np.nan, "holds no finite amplitudes"), (0.0, "is constant \\(0 every")])
def test_seismic_without_amplitudes_is_refused_for_training_and_prediction(tmp_path, trained_run, fill, message):
    cube = np.full((30, 110, 120), fill, np.float32)
    seismic = write_segy_volume(tmp_path / "blank.sgy", cube)
    labels = np.zeros(cube.shape, np.uint8)
    np.save(tmp_path / "labels.npy", labels)
    with pytest.raises(UserError, match=message):
        train_run(
            tmp_path / "run",
            "data=survey",
            f"data.survey.seismic={seismic}",
            f"data.survey.labels={tmp_path / 'labels.npy'}",
            "data.survey.label_every=10",
            "data.survey.guard=5",
            "data.n_folds=3",
        )
    with pytest.raises(UserError, match=message):
        run_task(
            predict,
            compose_config(
                "predict",
                f"ckpt={trained_run}",
                f"input={seismic}",
                f"out={tmp_path / 'out' / 'p'}",
                "predict.depth_origin=0",
                "predict.depth_step=1",
                run_dir=tmp_path / "hydra",
            ),
        )


def test_non_finite_samples_are_predicted_as_no_salt_and_counted(tmp_path, trained_run):
    import json

    section = np.random.default_rng(0).normal(0, 1, (120, 150)).astype(np.float32)
    section[:, 40:43] = np.nan  # three dead traces
    np.save(tmp_path / "section.npy", section)
    out = tmp_path / "out" / "p"
    run_task(
        predict,
        compose_config(
            "predict",
            f"ckpt={trained_run}",
            f"input={tmp_path / 'section.npy'}",
            f"out={out}",
            "predict.depth_origin=0",
            "predict.depth_step=1",
            "threshold=0.0",
            run_dir=tmp_path / "hydra",
        ),
    )
    probs, mask = np.load(f"{out}.probs.npy"), np.load(f"{out}.mask.npy")
    assert (probs[:, 40:43] == 0).all() and not mask[:, 40:43].any() and mask[:, :40].all()
    assert json.loads((tmp_path / "out" / "p.json").read_text())["non_finite_samples"] == 360


def test_non_finite_seismic_samples_are_left_out_of_training_and_counted(tmp_path, caplog):
    import logging

    from src.survey.synthetic import generate_survey

    caplog.set_level(logging.WARNING)
    survey = generate_survey(tmp_path / "survey", shape=(30, 120, 120), seed=1)
    with Volume(survey / "seismic.sgy") as volume:
        cube = np.stack([volume.line("inline", k) for k in range(volume.shape[0])])
    cube[10, 5:8] = np.nan  # three dead traces on the labelled inline 10
    np.save(tmp_path / "seismic.npy", cube)
    run = train_run(
        tmp_path / "run",
        "data=survey",
        f"data.survey.seismic={tmp_path / 'seismic.npy'}",
        f"data.survey.labels={survey / 'labels.npy'}",
        "data.survey.label_every=10",
        "data.survey.guard=5",
        "data.n_folds=3",
    )
    assert f"{3 * 120} samples of {tmp_path / 'seismic.npy'}'s labelled sections are NaN or infinite" in caplog.text
    assert (run / "oof.npz").exists()


def test_labelled_lines_all_within_the_guard_of_the_validation_block_are_one_clear_error(tmp_path):
    from src.survey.synthetic import generate_survey

    survey = generate_survey(tmp_path / "survey", shape=(30, 120, 120), seed=1)
    cfg = compose_config(
        "train",
        "data=survey",
        f"data.survey.seismic={survey / 'seismic.sgy'}",
        f"data.survey.labels={survey / 'labels.npy'}",
        "data.survey.label_every=10",  # inlines 0, 10, 20: all within the default guard of 101 lines of inline 0
        "data.n_folds=3",
        run_dir=tmp_path / "run",
    )
    with pytest.raises(UserError, match=r"fold 0 leaves 0 training and \d+ validation windows \(data.survey.guard=101"):
        run_task(train, cfg)
