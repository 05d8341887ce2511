"""Salt bodies and top/base-of-salt surfaces of a mask cube with known bodies: counts, volumes, depth ranges,
surfaces read back by xtgeo on the survey's map grid, and bad input as one clear line."""

import logging

import numpy as np
import pandas as pd
import pytest
import xtgeo

from conftest import compose_config, last_line, run_cli, run_task
from src.interpretation.bodies import label_bodies
from src.sections.writers import write_segy_volume
from src.tasks.bodies import bodies
from src.utils.errors import UserError
from src.utils.plots import body_map_title

SHAPE = (40, 60, 80)  # inline, crossline, samples
CENTRE, AXES = np.array([18.0, 28.0, 40.0]), np.array([12.0, 20.0, 15.0])  # an ellipsoid, in voxels
BOX = (slice(32, 38), slice(45, 57), slice(60, 70))  # 6 x 12 x 10 voxels, clear of the ellipsoid
SAMPLE_M = 4.0


def ellipsoid():
    i, j, k = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return (((i - CENTRE[0]) / AXES[0]) ** 2 + ((j - CENTRE[1]) / AXES[1]) ** 2 + ((k - CENTRE[2]) / AXES[2]) ** 2) <= 1


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bodies")
    mask = ellipsoid()
    mask[BOX] = True
    mask[2, 2, 2] = True  # one voxel of noise
    np.save(folder / "volume.mask.npy", mask)
    write_segy_volume(folder / "seismic.sgy", np.zeros(SHAPE, np.float32))  # the geometry the mask came from
    return folder


def run_bodies(survey, out, *overrides):
    cfg = compose_config(
        "bodies", f"input={survey / 'volume.mask.npy'}", f"out={out}", *overrides, run_dir=out.parent / "hydra"
    )
    return run_task(bodies, cfg)


@pytest.fixture(scope="module")
def result(survey):
    out = survey / "out"
    run_bodies(
        survey,
        out,
        f"geometry={survey / 'seismic.sgy'}",
        "bodies.min_voxels=10",
        f"bodies.spacing.sample={SAMPLE_M}",
        "bodies.spacing.depth_origin=1000",
    )
    return out


def test_each_body_is_found_with_its_size_volume_and_extent(result):
    table = pd.read_csv(result / "bodies.csv")
    assert table.body.tolist() == [1, 2]  # the speck is below min_voxels
    analytic = 4 / 3 * np.pi * AXES.prod() * 25.0 * 12.5 * SAMPLE_M  # m^3: 25 m inlines, 12.5 m crosslines
    assert abs(table.volume_m3[0] - analytic) / analytic < 0.02
    assert table.voxels[1] == 6 * 12 * 10 and table.volume_m3[1] == 720 * 25.0 * 12.5 * SAMPLE_M
    assert (table.inline_first[1], table.inline_last[1], table.crossline_first[1], table.crossline_last[1]) == (
        1032,
        1037,
        2045,
        2056,
    )  # line numbers from the SEG-Y headers
    assert (table.top[1], table.base[1]) == (1000 + 60 * SAMPLE_M, 1000 + 69 * SAMPLE_M)
    labels = np.load(result / "bodies.npy")
    assert labels.dtype == np.uint16 and (labels == 2).sum() == 720 and (labels[BOX] == 2).all()
    assert labels[2, 2, 2] == 0 and (result / "bodies.png").stat().st_size > 0
    cleaned = np.load(result / "cleaned.mask.npy")  # the 3D clean-up: the mask less the speck
    mask = np.load(result.parent / "volume.mask.npy")
    assert cleaned.dtype == bool and np.array_equal(cleaned, labels > 0) and cleaned.sum() == mask.sum() - 1


def test_the_top_of_salt_is_within_a_sample_of_the_true_surface_and_read_back_by_xtgeo(result):
    top = xtgeo.surface_from_file(result / "top_salt_body1.gri", fformat="irap_binary")
    assert (top.ncol, top.nrow, top.xinc, top.yinc, top.xori, top.yori) == (40, 60, 25.0, 12.5, 500000.0, 6000000.0)
    assert top.rotation == pytest.approx(0.0) and top.yflip == 1
    i, j = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    inside = 1 - ((i - CENTRE[0]) / AXES[0]) ** 2 - ((j - CENTRE[1]) / AXES[1]) ** 2
    true_top = 1000 + (CENTRE[2] - AXES[2] * np.sqrt(np.clip(inside, 0, None))) * SAMPLE_M
    found = ~np.ma.getmaskarray(top.values)
    assert found.sum() > 0.9 * (inside > 0).sum() and not found[inside < -0.1].any()  # salt where the body is
    rms = np.sqrt(np.mean((top.values.data[found] - true_top[found]) ** 2)) / SAMPLE_M
    assert rms <= 1.0
    base = xtgeo.surface_from_file(result / "base_salt_body1.gri", fformat="irap_binary")
    assert (base.values >= top.values).all()
    points = pd.read_csv(result / "top_salt_body1.xyz", sep=r"\s+", header=None)
    assert len(points) == found.sum() and points[0].min() >= 500000.0 and points[1].min() >= 6000000.0


def test_without_geometry_the_spacing_is_given_and_depths_are_samples(survey, tmp_path):
    run_bodies(
        survey,
        tmp_path / "out",
        "bodies.spacing.inline=10",
        "bodies.spacing.crossline=10",
        "bodies.format=irap_ascii",
        "bodies.min_voxels=1",
    )
    table = pd.read_csv(tmp_path / "out" / "bodies.csv")
    assert len(table) == 3 and "volume_m3" not in table and table.top.tolist()[-1] == 2.0  # the speck, at sample 2
    assert (tmp_path / "out" / "top_salt_body3.irap").exists()


@pytest.mark.parametrize(
    "setup, message",
    [
        ("missing", "not found: pass a mask cube from predict.py"),
        ("flat", "is not a 3D mask (bool) or probability (float) cube (inline, crossline, samples) (a 2-D bool array)"),
        ("nogeometry", "bodies need the survey's trace spacing"),
        ("othergrid", "the mask is (40, 60, 80): give the SEG-Y the mask was predicted from"),
    ],
)
def test_bad_input_is_one_clear_error(survey, tmp_path, setup, message):
    overrides = [f"out={tmp_path / 'out'}"]
    if setup == "missing":
        overrides.append(f"input={tmp_path / 'nothing.npy'}")
    elif setup == "flat":
        np.save(tmp_path / "flat.npy", np.zeros((5, 5), bool))
        overrides += [f"input={tmp_path / 'flat.npy'}", f"geometry={survey / 'seismic.sgy'}"]
    else:
        overrides.append(f"input={survey / 'volume.mask.npy'}")
    if setup == "othergrid":
        write_segy_volume(tmp_path / "other.sgy", np.zeros((4, 6, 8), np.float32))
        overrides.append(f"geometry={tmp_path / 'other.sgy'}")
    cfg = compose_config("bodies", *overrides, run_dir=tmp_path / "hydra")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_task(bodies, cfg)
    assert not (tmp_path / "out" / "bodies.csv").exists()


@pytest.mark.slow
def test_the_command_line_names_a_missing_input_in_one_line(tmp_path):
    result = run_cli(
        "bodies.py",
        f"input={tmp_path / 'x.mask.npy'}",
        f"out={tmp_path / 'out'}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    )
    assert result.returncode == 1 and last_line(result) == (
        f"error: input={tmp_path / 'x.mask.npy'} not found: pass a mask cube from predict.py (<out>.mask.npy)"
    )


def test_more_bodies_than_sixteen_bits_hold_keep_their_own_labels(tmp_path):
    """81,000 one-voxel bodies (every other voxel of every other inline): label 65,536 must not wrap to 0 (salt
    dropped) nor 65,537 to 1 (merged into the largest body)."""
    shape = (20, 180, 180)
    specks = np.zeros(shape, bool)
    specks[::2, ::2, ::2] = True
    specks[0, :3, :3] = True  # one larger body, labelled 1, joining 4 of the specks
    found = label_bodies(lambda k: specks[k], shape, tmp_path / "labels.npy", cleaned_path=tmp_path / "clean.npy")
    labels = np.load(tmp_path / "labels.npy")
    assert len(found.bodies) == 10 * 90 * 90 - 3 > 65537
    assert labels.dtype == np.uint32 and labels.max() == len(found.bodies)
    assert np.array_equal(np.load(tmp_path / "clean.npy"), specks)
    assert (labels == 1).sum() == found.bodies[0].voxels == 9 and len(np.unique(labels[specks])) == len(found.bodies)


def test_the_map_counts_every_body_and_names_those_hidden_under_larger_ones():
    footprint = np.zeros((4, 4), np.int64)
    footprint[:2] = 1
    footprint[3, 3] = 3  # body 2 lies wholly under body 1 in map view
    assert body_map_title(footprint, 5) == "5 bodies, the largest 3 drawn (1 = largest); 2 hidden under larger ones"
    assert body_map_title(footprint[:2], 1) == "1 body, the largest 1 drawn (1 = largest)"


def test_a_body_spanning_the_whole_survey_is_warned_about(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    np.save(tmp_path / "all.mask.npy", np.ones((4, 5, 6), bool))
    out = tmp_path / "out"
    cfg = compose_config(
        "bodies",
        f"input={tmp_path / 'all.mask.npy'}",
        f"out={out}",
        "bodies.spacing.inline=25",
        "bodies.spacing.crossline=25",
        "bodies.min_voxels=1",
        run_dir=tmp_path / "hydra",
    )
    run_task(bodies, cfg)
    assert "body 1 spans the whole survey" in caplog.text


def test_a_mask_without_salt_gives_an_empty_table_with_its_header(tmp_path):
    np.save(tmp_path / "none.mask.npy", np.zeros((4, 5, 6), bool))
    cfg = compose_config(
        "bodies",
        f"input={tmp_path / 'none.mask.npy'}",
        f"out={tmp_path / 'out'}",
        "bodies.spacing.inline=25",
        "bodies.spacing.crossline=25",
        run_dir=tmp_path / "hydra",
    )
    run_task(bodies, cfg)
    table = pd.read_csv(tmp_path / "out" / "bodies.csv")
    assert table.empty and list(table.columns)[:2] == ["body", "voxels"] and "top" in table.columns
