import shutil

import cv2
import numpy as np
import pytest

from src.data.datamodule import TGSDataModule, load_unlabelled
from src.data.io import read_grey, read_mask
from src.utils.errors import UserError


def datamodule(root, **kw):
    return TGSDataModule(root=root, **{"seed": 0, "batch_size": 8, **kw})


def test_real_tiles_give_three_padded_channels_and_masks(shared_tgs):
    dm = datamodule(shared_tgs, max_tiles=300)
    dm.setup()
    batch = next(iter(dm.val_dataloader()))
    assert batch["x"].shape == (8, 3, 128, 128) and batch["y"].shape == (8, 1, 128, 128)
    assert set(np.unique(batch["y"].numpy())) <= {0.0, 1.0}
    depth = batch["x"][:, 1]
    assert np.allclose(depth.amin((1, 2)), depth.amax((1, 2)))  # a constant plane per tile
    assert 0.0 <= depth.min() and depth.max() <= 1.0
    assert len(set(dm.train_idx) & set(dm.val_idx)) == 0 and len(dm.train_idx) + len(dm.val_idx) == 300


def test_real_images_are_grey_and_masks_binary(shared_tgs):
    tile_id = sorted((shared_tgs / "train" / "images").glob("*.png"))[0].stem
    image = read_grey(shared_tgs / "train" / "images" / f"{tile_id}.png")
    assert image.shape == (101, 101) and image.dtype == np.uint8
    assert read_mask(shared_tgs / "train" / "masks" / f"{tile_id}.png").dtype == bool


def test_sixteen_bit_and_eight_bit_masks_read_alike(tmp_path):
    mask = np.zeros((101, 101), bool)
    mask[20:40, 10:90] = True
    cv2.imwrite(str(tmp_path / "a.png"), mask.astype(np.uint16) * 65535)
    cv2.imwrite(str(tmp_path / "b.png"), mask.astype(np.uint8) * 255)
    cv2.imwrite(str(tmp_path / "c.png"), mask.astype(np.uint8))  # 0/1 masks exist too
    for name in "abc":
        assert np.array_equal(read_mask(tmp_path / f"{name}.png"), mask)


def test_synthetic_set_is_kaggle_layout_and_deterministic(synthetic_root, tmp_path):
    from src.data.synthetic import generate

    other = generate(tmp_path / "again", n_train=40, n_test=12, seed=3)
    for name in ("train.csv", "depths.csv", "sample_submission.csv"):
        assert (other / name).read_text() == (synthetic_root / name).read_text()
    first = sorted((synthetic_root / "train" / "images").iterdir())[0]
    assert (other / "train" / "images" / first.name).read_bytes() == first.read_bytes()
    reseeded = generate(tmp_path / "reseeded", n_train=40, n_test=12, seed=4)
    assert (reseeded / "depths.csv").read_text() != (synthetic_root / "depths.csv").read_text()
    ids, images, depths = load_unlabelled(synthetic_root)
    assert len(ids) == 12 and images.shape == (12, 101, 101)
    dm = datamodule(synthetic_root)
    dm.setup()
    has_salt = dm.masks.reshape(len(dm.masks), -1).any(1)
    assert 0 < has_salt.sum() < len(has_salt)  # both empty and salty tiles


@pytest.fixture
def broken(tmp_path, synthetic_root):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    return root


def first_id(root, csv="train.csv"):
    return (root / csv).read_text().splitlines()[1].split(",")[0]


def set_depth(root, tile_id, value):
    lines = (root / "depths.csv").read_text().splitlines()
    (root / "depths.csv").write_text(
        "\n".join(f"{tile_id},{value}" if line.startswith(f"{tile_id},") else line for line in lines) + "\n"
    )


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda r: shutil.rmtree(r), "data folder .* not found"),
        (lambda r: (r / "train.csv").unlink(), "train.csv not found"),
        (lambda r: (r / "depths.csv").unlink(), "depths.csv not found"),
        (lambda r: (r / "depths.csv").write_text("id,z\n"), "no depth for tile"),
        (lambda r: (r / "train/images" / f"{first_id(r)}.png").write_bytes(b"\x89PNG broken"), "corrupt"),
        (
            lambda r: cv2.imwrite(str(r / "train/images" / f"{first_id(r)}.png"), np.zeros((64, 80), np.uint8)),
            "is 64x80, expected 101x101",
        ),
        (lambda r: (r / "train/masks" / f"{first_id(r)}.png").unlink(), "mask .* not found"),
        (lambda r: set_depth(r, first_id(r), ""), "depths.csv has no usable depth for tile .*z is ''"),
        (lambda r: set_depth(r, first_id(r), "NaN"), "depths.csv has no usable depth for tile"),
        (lambda r: set_depth(r, first_id(r), "deep"), "z is 'deep'"),
    ],
)
def test_bad_input_gives_a_clear_error(broken, damage, message):
    damage(broken)
    with pytest.raises(UserError, match=message):
        datamodule(broken).setup()


@pytest.mark.parametrize("value", ["", "nan", "inf"])
def test_a_test_tile_without_a_usable_depth_is_named(broken, value):
    tile_id = first_id(broken, "sample_submission.csv")
    set_depth(broken, tile_id, value)
    with pytest.raises(UserError, match=f"depths.csv has no usable depth for tile {tile_id} "):
        load_unlabelled(broken)


def test_fold_out_of_range(synthetic_root):
    with pytest.raises(UserError, match="fold=5 is out of range"):
        datamodule(synthetic_root, fold=5)
