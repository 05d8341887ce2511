import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from src.data.augment import build_augment
from src.utils.config import PROJECT_ROOT
from src.utils.errors import UserError


def load_aug(name):
    return build_augment(OmegaConf.load(PROJECT_ROOT / "conf" / "aug" / f"{name}.yaml"))


def test_seed_augmentation_never_flips_vertically_and_keeps_alignment():
    augment = load_aug("seed")
    assert "VerticalFlip" not in repr(augment)
    rows = np.repeat(np.arange(101, dtype=np.uint8)[:, None] * 2, 101, axis=1)  # brightness grows downwards
    mask = np.zeros((101, 101), np.uint8)
    mask[60:, :] = 1  # salt at the bottom
    image = rows.copy()
    image[mask.astype(bool)] = 255
    for seed in range(40):
        np.random.seed(seed)
        out = augment(image=image, mask=mask)
        img, m = out["image"].astype(float), out["mask"].astype(bool)
        assert img[:30].mean() < img[70:].mean(), "image turned upside down"
        assert m[80:].mean() > m[:20].mean(), "mask turned upside down"
        assert img[m].mean() > img[~m].mean() + 40, "mask no longer on the salt"


@pytest.mark.parametrize("transform", ["VerticalFlip", "Transpose", "RandomRotate90"])
def test_an_upside_down_transform_is_refused(transform):
    cfg = OmegaConf.load(PROJECT_ROOT / "conf" / "aug" / "light.yaml")
    cfg.transforms.append({"_target_": f"albumentations.{transform}", "p": 0.5})
    with pytest.raises(UserError, match=f"aug has {transform}, which turns seismic upside down"):
        build_augment(cfg)


def test_light_is_hflip_only_and_none_is_identity():
    assert [type(t).__name__ for t in load_aug("light").transforms] == ["HorizontalFlip"]
    assert load_aug("none") is None


def streams(num_workers, seed):
    """Every tile the same; what comes out is the augmentation alone, per batch, as a loader serves it."""
    from torch.utils.data import DataLoader

    from src.data.augment import seed_worker
    from src.data.datamodule import TileDataset
    from src.data.preprocess import Preprocess

    torch.manual_seed(seed)
    tile = np.tile(np.arange(101, dtype=np.uint8)[None, :] * 2, (101, 1))
    pre = Preprocess(("image",), 0.5, 0.25, 0.0, 1.0, 128)
    dataset = TileDataset(
        np.stack([tile] * 16),
        np.zeros(16, np.float32),
        pre,
        augment=build_augment(
            OmegaConf.create(
                {
                    "_target_": "albumentations.Compose",
                    "transforms": [{"_target_": "albumentations.Affine", "rotate": [-30, 30], "p": 1.0}],
                }
            ),
            seed,
        ),
    )
    loader = DataLoader(dataset, batch_size=4, num_workers=num_workers, worker_init_fn=seed_worker)
    return [batch["x"] for batch in loader]


def test_augmentations_repeat_with_the_seed_and_differ_between_workers():
    first, again, other = streams(2, seed=1), streams(2, seed=1), streams(2, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[0], first[1])  # batches 0 and 1 come from workers 0 and 1
    assert all(torch.equal(a, b) for a, b in zip(streams(0, seed=1), streams(0, seed=1)))
