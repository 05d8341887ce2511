import numpy as np
from omegaconf import OmegaConf

from src.data.augment import build_augment
from src.utils.config import PROJECT_ROOT


def load_aug(name):
    return build_augment(OmegaConf.load(PROJECT_ROOT / "conf" / "aug" / f"{name}.yaml"))


def test_seed_augmentation_never_flips_vertically_and_keeps_alignment():
    augment = load_aug("seed")
    assert "VerticalFlip" not in repr(augment)
    rows = np.repeat(np.arange(101, dtype=np.uint8)[:, None] * 2, 101, axis=1)  # brightness grows downwards
    mask = np.zeros((101, 101), np.uint8)
    mask[60:, :] = 1                                                         # salt at the bottom
    image = rows.copy()
    image[mask.astype(bool)] = 255
    for seed in range(40):
        np.random.seed(seed)
        out = augment(image=image, mask=mask)
        img, m = out["image"].astype(float), out["mask"].astype(bool)
        assert img[:30].mean() < img[70:].mean(), "image turned upside down"
        assert m[80:].mean() > m[:20].mean(), "mask turned upside down"
        assert img[m].mean() > img[~m].mean() + 40, "mask no longer on the salt"


def test_light_is_hflip_only_and_none_is_identity():
    assert [type(t).__name__ for t in load_aug("light").transforms] == ["HorizontalFlip"]
    assert load_aug("none") is None
