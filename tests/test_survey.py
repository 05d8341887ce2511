"""Your own survey: labels a line at a time, leakage-safe folds, masked losses, one scaling rule, fine-tuning from
a TGS-trained network, and the whole volume predicted back into SEG-Y."""

import json
import logging
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import segyio
import torch
from omegaconf import OmegaConf

from conftest import compose_config, loss_terms, run_task, train_run
from src.losses.schedule import ScheduledLoss
from src.metrics.kaggle_map import KaggleMAP, kaggle_map
from src.models.checkpoint import load_module
from src.sections.readers import Volume
from src.sections.scaling import AmplitudeScaling
from src.sections.writers import save_npy
from src.survey.labels import SurveyLabels
from src.survey.split import GAP, TRAIN, VALIDATION, Window, line_blocks, window_role
from src.survey.synthetic import generate_survey
from src.tasks.bodies import bodies
from src.tasks.predict import predict
from src.tasks.suggest import suggest
from src.utils.errors import UserError

SHAPE = (30, 120, 120)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    return generate_survey(tmp_path_factory.mktemp("survey"), shape=SHAPE, seed=1)


@pytest.fixture(scope="module")
def long_survey(tmp_path_factory):
    """240 inlines: a crossline window spans 101 of them, so crossline windows clear of a validation block exist."""
    return generate_survey(tmp_path_factory.mktemp("long_survey"), shape=(240, 40, 120), seed=2)


def survey_overrides(survey, *more):
    return [
        "data=survey",
        f"data.survey.seismic={survey / 'seismic.sgy'}",
        f"data.survey.labels={survey / 'labels.npy'}",
        "data.survey.label_every=10",
        "data.survey.guard=5",
        "data.n_folds=3",
        *more,
    ]


def test_the_synthetic_survey_is_a_segy_with_real_geometry_and_labels_on_its_grid(survey):
    with segyio.open(str(survey / "seismic.sgy")) as f:
        assert list(f.ilines[:2]) == [1000, 1001] and list(f.xlines[:2]) == [2000, 2001]
        first, second = f.header[0], f.header[1]
        assert first[segyio.su.scalco] == -100  # coordinates in centimetres
        assert second[segyio.su.cdpy] - first[segyio.su.cdpy] == 1250  # the crossline spacing, 12.5 m
        assert f.bin[segyio.BinField.Interval] == 4000
    labels = np.load(survey / "labels.npy")
    assert labels.shape == SHAPE and 0.02 < labels.mean() < 0.5 and set(np.unique(labels)) == {0, 1}


def test_sparse_labels_from_a_volume_or_from_line_files(survey, tmp_path):
    with Volume(survey / "seismic.sgy") as volume:
        every = SurveyLabels(survey / "labels.npy", volume, every=10)
        assert every.labelled == [0, 10, 20]
        assert (every.line("inline", 5) == 255).all() and (every.line("inline", 10) < 255).all()
        crossline = every.line("crossline", 40)  # crosses the labelled inlines in one trace each
        assert (crossline[[0, 10, 20]] < 255).all() and (np.delete(crossline, [0, 10, 20], axis=0) == 255).all()
        dense = np.load(survey / "labels.npy")
        (tmp_path / "lines").mkdir()
        np.save(tmp_path / "lines" / "inline_1010.npy", dense[10].T)
        cv2.imwrite(str(tmp_path / "lines" / "inline_1020.png"), dense[20].T)
        files = SurveyLabels(tmp_path / "lines", volume)
        assert files.labelled == [10, 20] and np.array_equal(files.line("inline", 20), dense[20])
        assert np.array_equal(files.line("crossline", 7)[[10, 20]], dense[[10, 20], 7])


def test_labels_on_another_grid_are_one_clear_error_naming_both_files(survey, tmp_path):
    save_npy(np.zeros((30, 100, 120), np.uint8), tmp_path / "labels.npy")
    with (
        Volume(survey / "seismic.sgy") as volume,
        pytest.raises(
            UserError,
            match=(r"labels .*labels.npy are \(30, 100, 120\) but the seismic .*seismic.sgy is \(30, 120, 120\)"),
        ),
    ):
        SurveyLabels(tmp_path / "labels.npy", volume)


def test_folds_are_blocks_of_lines_each_holding_salt_where_the_labels_allow(caplog):
    caplog.set_level(logging.INFO)
    lines = list(range(0, 100, 10))
    assert line_blocks(lines, 2, salty=set(lines)) == {k: int(k >= 50) for k in lines}  # equal blocks hold salt
    recut = line_blocks(lines, 2, salty={50, 60, 70, 80, 90})  # the first equal block would hold none
    assert recut == {k: int(k > 70) for k in lines} and "cut again so each holds salt (8 / 2 lines)" in caplog.text
    assert line_blocks(lines, 3, salty={90}) == line_blocks(lines, 3)  # one salt line cannot serve three folds
    assert "only 1 labelled line(s) hold salt, too few for 3 folds: fold(s) 0, 1 validate on lines without salt" in (
        caplog.text
    )


def test_folds_are_blocks_and_windows_near_the_validation_block_are_dropped():
    assert line_blocks([0, 10, 20, 30, 40, 50], 3) == {0: 0, 10: 0, 20: 1, 30: 1, 40: 2, 50: 2}
    block = (20, 30)
    assert window_role(Window("inline", 20, 0, 0), block, "inline", 5) == VALIDATION
    assert window_role(Window("inline", 34, 0, 0), block, "inline", 5) == GAP  # within the guard
    assert window_role(Window("inline", 40, 0, 0), block, "inline", 5) == TRAIN
    assert window_role(Window("crossline", 3, 0, 0), block, "inline", 5) == GAP  # spans inlines 0..100
    assert window_role(Window("crossline", 3, 0, 36), block, "inline", 5) == TRAIN  # inlines 36..136


@pytest.mark.parametrize("term", ["bce", "dice", "lovasz", "symmetric_lovasz"])
def test_ignored_pixels_contribute_nothing_to_any_loss_term(term):
    terms = loss_terms(**{term: 1.0})
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 16, 16, requires_grad=True)
    target = (torch.rand(2, 1, 16, 16) > 0.5).float()
    target[:, :, :, 8:] = 255
    loss = ScheduledLoss(terms, ignore_index=255)(logits, target, 0)
    loss.backward()
    assert torch.isfinite(loss) and logits.grad[..., 8:].abs().max() == 0 and logits.grad[..., :8].abs().max() > 0
    changed = logits.detach().clone()
    changed[..., 8:] = 100.0  # whatever is predicted where nobody interpreted
    assert ScheduledLoss(terms, ignore_index=255)(changed, target, 0).item() == pytest.approx(loss.item(), rel=1e-6)


def test_the_metric_scores_interpreted_pixels_only():
    truth = np.zeros((2, 10, 10), bool)
    truth[0, :, :5] = True
    valid = np.ones_like(truth)
    valid[0, :, 5:] = False  # the prediction's false positives lie where nobody interpreted
    valid[1] = False  # nothing interpreted: the image does not count
    pred = np.ones_like(truth)
    assert kaggle_map(pred, truth, valid) == 1.0 and kaggle_map(pred, truth) == 0.0
    metric = KaggleMAP(ignore_value=255)
    target = torch.from_numpy(np.where(valid, truth, 255).astype(np.float32))[:, None]
    metric.update(torch.from_numpy(pred.astype(np.float32))[:, None], target)
    assert metric.compute().item() == 1.0


def test_fine_tune_a_tgs_network_on_every_tenth_inline_then_predict_the_volume(survey, trained_run, tmp_path):
    run = train_run(tmp_path / "run", *survey_overrides(survey, f"init={trained_run}", "trainer.max_epochs=2"))
    folds = pd.read_csv(run / "folds.csv")
    assert folds.line.tolist() == [1000, 1010, 1020] and folds.fold.tolist() == [0, 1, 2]
    assert (run / "split.png").exists() and (run / "oof.npz").exists()
    oof_ids = np.load(run / "oof.npz")["ids"]
    assert all(i.startswith("inline1000-") for i in oof_ids)  # validation: the fold-0 block only

    tgs, tuned = load_module(trained_run / "checkpoints" / "last.ckpt"), load_module(run / "checkpoints" / "last.ckpt")
    assert tuned.preprocess.mean == tgs.preprocess.mean and tuned.preprocess.amplitude is not None
    with Volume(survey / "seismic.sgy") as volume:  # the stored rule is the one fitted on training lines 1010, 1020
        expected = AmplitudeScaling.matched(
            np.stack([volume.line("inline", k) for k in (10, 20)]), tgs.preprocess.mean, tgs.preprocess.std
        )
    assert tuned.preprocess.amplitude == pytest.approx(expected.pair, rel=1e-5)

    out = tmp_path / "pred" / "volume"
    run_task(
        predict,
        compose_config(
            "predict",
            f"ckpt={run}",
            f"input={survey / 'seismic.sgy'}",
            f"out={out}",
            "predict.depth_origin=0",
            "predict.depth_step=1",
            run_dir=tmp_path / "hydra",
        ),
    )
    meta = json.loads(out.with_name("volume.json").read_text())
    assert meta["scaling"]["offset"] == pytest.approx(tuned.preprocess.amplitude[0])  # the scaling used = stored
    probs = np.load(out.with_name("volume.probs.npy"))
    assert probs.shape == SHAPE and 0 <= probs.min() and probs.max() <= 1
    with segyio.open(str(survey / "seismic.sgy")) as a, segyio.open(str(out.with_name("volume.sgy"))) as b:
        assert list(a.ilines) == list(b.ilines) and list(a.xlines) == list(b.xlines)
        assert list(a.samples) == list(b.samples) and b.bin[segyio.BinField.Format] == 5
        assert all(a.header[i] == b.header[i] for i in range(0, a.tracecount, 97))
        assert np.allclose(segyio.tools.cube(b), probs, atol=1e-6)

    # the salt bodies of the probabilities above their median (a two-epoch network may call no voxel salt at 0.5),
    # on the SEG-Y's map grid: every voxel above it in a body
    threshold = float(np.median(probs))
    run_task(
        bodies,
        compose_config(
            "bodies",
            f"input={out.with_name('volume.probs.npy')}",
            f"out={tmp_path / 'bodies'}",
            f"geometry={survey / 'seismic.sgy'}",
            f"threshold={threshold}",
            "bodies.min_voxels=1",
            run_dir=tmp_path / "hydra",
        ),
    )
    table = pd.read_csv(tmp_path / "bodies" / "bodies.csv")
    assert len(table) and table.voxels.sum() == (probs > threshold).sum()
    assert table.inline_first.min() >= 1000 and table.crossline_last.max() < 2000 + SHAPE[1]

    # the lines to interpret next, from the uncertainty predict.py wrote beside the probabilities
    run_task(
        suggest,
        compose_config(
            "suggest",
            f"run={run}",
            f"uncertainty={out.with_name('volume.uncertainty.npy')}",
            f"out={tmp_path / 'next'}",
            "suggest.count=4",
            run_dir=tmp_path / "hydra",
        ),
    )
    picks = pd.read_csv(tmp_path / "next.csv")
    inlines = picks[picks.axis == "inline"]
    assert len(inlines) == 4 and not set(inlines.line) & {1000, 1010, 1020}  # never a labelled line
    assert inlines.benefit.is_monotonic_decreasing and (tmp_path / "next.png").exists()
    assert (
        len(picks[picks.axis == "crossline"]) == 4
        and picks.lines_to_labelled[picks.axis == "crossline"].isin([np.inf]).all()
    )
    # a multirun folder of runs on the same labelled lines (a seed sweep) suggests what one of its runs does
    sweep = tmp_path / "sweep"
    for name in ("0", "1"):
        (sweep / name / "checkpoints").mkdir(parents=True)
        shutil.copytree(run / ".hydra", sweep / name / ".hydra")
    suggested_from = {}
    for source in (run, sweep):
        cfg = compose_config(
            "suggest",
            f"run={source}",
            f"uncertainty={out.with_name('volume.uncertainty.npy')}",
            f"out={tmp_path / source.name / 'next'}",
            "suggest.count=4",
            run_dir=tmp_path / "hydra",
        )
        run_task(suggest, cfg)
        suggested_from[source.name] = pd.read_csv(tmp_path / source.name / "next.csv")
    assert suggested_from["sweep"].equals(suggested_from["run"]) and suggested_from["run"].line.tolist()[:4] == (
        inlines.line.tolist()
    )
    other = OmegaConf.load(sweep / "1" / ".hydra" / "config.yaml")
    other.data.survey.label_every = 5
    OmegaConf.save(other, sweep / "1" / ".hydra" / "config.yaml")
    with pytest.raises(UserError, match=r"sweep: 1 differs from 0 in data.survey.label_every: suggest lines from"):
        run_task(suggest, cfg)

    np.save(tmp_path / "small.npy", np.zeros((2, 2, 2), np.float32))
    for cube, message in [("small.npy", r"is \(2, 2, 2\), the run's survey \(30, 120, 120\)"), ("no.npy", "not found")]:
        cfg = compose_config(
            "suggest", f"run={run}", f"uncertainty={tmp_path / cube}", f"out={tmp_path / 'x'}", run_dir=tmp_path / "h"
        )
        with pytest.raises(UserError, match=message):
            run_task(suggest, cfg)


def test_a_survey_trains_from_scratch_with_the_percentile_rule(survey, tmp_path):
    run = train_run(tmp_path / "run", *survey_overrides(survey, "data.survey.axis=both", "fold=1"))
    module = load_module(run / "checkpoints" / "last.ckpt")
    with Volume(survey / "seismic.sgy") as volume:
        training = np.stack([volume.line("inline", k) for k in (0, 20)])  # fold 1 validates on inline 1010
    assert module.preprocess.amplitude == pytest.approx(AmplitudeScaling.percentile(training).pair, rel=1e-5)
    assert pd.read_csv(run / "folds.csv").fold.tolist() == [0, 1, 2]


def test_a_single_segy_line_is_predicted_as_a_section_with_its_pictures(survey, trained_run, tmp_path):
    line = tmp_path / "line.sgy"
    with Volume(survey / "seismic.sgy") as volume:
        section = volume.line("inline", 3)[None]  # one inline: a 2D survey line
    segyio.tools.from_array(str(line), section)
    out = tmp_path / "pred" / "line"
    run_task(
        predict,
        compose_config(
            "predict",
            f"ckpt={trained_run}",
            f"input={line}",
            f"out={out}",
            "predict.depth_origin=0",
            "predict.depth_step=1",
            run_dir=tmp_path / "hydra",
        ),
    )
    assert np.load(out.with_name("line.probs.npy")).shape == (SHAPE[2], SHAPE[1])  # (samples, traces)
    assert out.with_name("line.overlay.png").exists() and out.with_name("line.probs.png").exists()
    with segyio.open(str(line)) as a, segyio.open(str(out.with_name("line.sgy"))) as b:
        assert a.tracecount == b.tracecount and a.header[5] == b.header[5]


def survey_spec(survey, **changes):
    return {
        "seismic": str(survey / "seismic.sgy"),
        "labels": str(survey / "labels.npy"),
        "label_axis": "inline",
        "label_every": 5,
        "ignore_value": 255,
        "axis": "both",
        "window_stride": 50,
        "min_labelled": 0.05,
        "salt_share": 0.0,
        "guard": 3,
        "depth_origin": 0.0,
        "depth_step": 1.0,
        "clip_percentiles": [1.0, 99.0],
        "iline_byte": 189,
        "xline_byte": 193,
        **changes,
    }


def test_no_training_window_comes_near_the_validation_block_in_any_orientation(long_survey):
    from src.survey.datamodule import SurveyDataModule

    dm = SurveyDataModule(survey=survey_spec(long_survey), fold=0, n_folds=3, seed=0)  # labelled 0, 5, ..., 235
    dm.setup()
    train, val = [dm.windows[i] for i in dm.train_idx], [dm.windows[i] for i in dm.val_idx]
    first, last = min(w.span("inline")[0] for w in val), max(w.span("inline")[1] for w in val)
    assert (first, last) == (0, 75)  # fold 0: the first 16 labelled inlines
    crossline = [w for w in train if w.axis == "crossline"]
    assert crossline and {w.span("inline")[0] for w in crossline} == {100, 139}  # 101 inlines each, flush at the end
    assert any(w.axis == "inline" for w in train)
    assert all(w.span("inline")[0] > last + 3 for w in train)  # clear of the block by the guard, either way it lies


def test_a_survey_trains_on_inline_and_crossline_windows(long_survey, tmp_path):
    from src.ensemble.members import run_datamodule
    from src.utils.run_folder import RunFolder

    run = train_run(
        tmp_path / "run",
        *survey_overrides(long_survey, "data.survey.axis=both", "data.survey.guard=3", "data.survey.label_every=5"),
    )
    dm = run_datamodule(RunFolder(run))  # the run's windows, rebuilt from its config and folds.csv
    assert {dm.windows[i].axis for i in dm.train_idx} == {"inline", "crossline"}
    assert (run / "oof.npz").exists() and (run / "ensemble.yaml").exists()


def test_tune_and_export_work_on_a_survey_run(survey, tmp_path):
    import onnx
    import yaml

    from src.inference.onnx import ONNX_PREPROCESS_KEY, SETTINGS_KEY
    from src.tasks.export import export
    from src.tasks.infer import infer
    from src.tasks.tune import tune

    run = train_run(tmp_path / "run", *survey_overrides(survey))
    assert "valid" in np.load(run / "oof.npz")  # the interpreted samples of the validation windows
    run_task(tune, compose_config("tune", f"run={run}", run_dir=tmp_path / "tune"))
    tuned = yaml.safe_load((run / "postproc.yaml").read_text())
    assert 0 <= tuned["oof_map"] <= 1
    tuned["temperatures"] = {"run": 0.5}  # a temperature that moves the probabilities, whatever was fitted
    (run / "postproc.yaml").write_text(yaml.safe_dump(tuned))
    run_task(export, compose_config("export", f"ckpt={run}", f"out={tmp_path / 'm.onnx'}", run_dir=tmp_path / "x"))
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    stored = load_module(run / "checkpoints" / "last.ckpt").preprocess.amplitude
    assert json.loads(meta[ONNX_PREPROCESS_KEY])["amplitude"] == pytest.approx(list(stored))
    assert json.loads(meta[ONNX_PREPROCESS_KEY])["depth_rule"] == [0.0, 1.0]  # data.survey.depth_origin / _step
    assert json.loads(meta[SETTINGS_KEY]) == {
        **{k: tuned[k] for k in ("threshold", "min_component", "min_mask", "fill_holes")},
        "temperatures": [0.5],
    }

    # the run folder and the graph exported from it predict alike, neither asking for the depths it was trained on
    predicted = {}
    for name, ckpt in (("run", run), ("graph", tmp_path / "m.onnx")):
        out = tmp_path / name / "vol"
        run_task(
            predict,
            compose_config("predict", f"ckpt={ckpt}", f"input={survey / 'seismic.sgy'}", f"out={out}", run_dir=out),
        )
        predicted[name] = json.loads(out.with_name("vol.json").read_text()), np.load(out.with_name("vol.probs.npy"))
    (meta_run, probs_run), (meta_graph, probs_graph) = predicted["run"], predicted["graph"]
    assert meta_run["temperature"] == meta_graph["temperature"] == 0.5
    assert meta_run["threshold"] == meta_graph["threshold"] == tuned["threshold"]
    assert meta_run["threshold_from"].startswith("tuned, from") and meta_graph["threshold_from"].startswith("tuned")
    assert meta_run["depth"] == {"origin": 0.0, "step": 1.0, "from": "the rule the network was trained on"}
    assert np.abs(probs_run - probs_graph).max() < 1e-4

    with pytest.raises(UserError, match="was trained on a survey .*: predict its seismic with predict.py"):
        run_task(infer, compose_config("infer", f"ckpt={run}", f"out={tmp_path / 'sub.csv'}", run_dir=tmp_path / "i"))
