import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from src.data.preprocess import Preprocess
from src.data.tiles import crop_center
from src.tasks.train import build_module
from src.utils.config import CONFIG_DIR


def tiny_module(*overrides):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "model=hyper_unet",
                "encoder.name=resnet18",
                "model.stem=standard",
                "model.filters=8",
                *overrides,
            ],
        )
    module = build_module(cfg, Preprocess(("image", "depth", "coord"), 0.5, 0.2, 0.0, 1.0, 128))
    module.setup("fit")  # as Lightning does before training: the loss is built
    return module


def test_nan_loss_stops_training_with_a_message():
    module = tiny_module()
    batch = {"x": torch.full((2, 3, 128, 128), float("nan")), "y": torch.zeros(2, 1, 128, 128)}
    with pytest.raises(FloatingPointError, match="loss became nan .* last good checkpoints are kept"):
        module.training_step(batch, 0)


def test_deep_supervision_adds_exactly_its_weighted_auxiliary_losses():
    torch.manual_seed(0)
    module = tiny_module(
        "model.deep_supervision=true", "deep_supervision_weights.aux=0.3", "deep_supervision_weights.cls=0.7"
    )
    x, y = torch.randn(2, 3, 128, 128), torch.zeros(2, 1, 128, 128)
    y[0, :, 30:90, 30:90] = 1  # salt in the first tile only
    loss = module.training_loss(x, y)
    out = module.net.forward_deep(module._layout(x))  # training-mode BN: the same outputs again
    target = crop_center(y, 101)
    main = module.criterion(crop_center(out.logits, 101), target, 0)
    aux = sum(F.binary_cross_entropy_with_logits(crop_center(a, 101)[:1], target[:1]) for a in out.aux) / 6
    cls = F.binary_cross_entropy_with_logits(out.cls[:, 0], torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx((main + 0.3 * aux + 0.7 * cls).item(), rel=1e-6)
    assert module.step_loss(out.logits, y).item() == pytest.approx(main.item(), rel=1e-6)  # validation: main only
