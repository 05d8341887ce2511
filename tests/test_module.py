import pytest
import torch
from hydra import compose, initialize_config_dir

from src.data.preprocess import Preprocess
from src.tasks.train import build_module
from src.utils.config import CONFIG_DIR


def tiny_module(*overrides):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=["encoder.name=resnet18", "model.stem=standard", "model.filters=8",
                                          *overrides])
    return build_module(cfg, Preprocess(("image", "depth", "coord"), 0.5, 0.2, 0.0, 1.0, 128))


class FakeTrainer:
    optimizers = []


def test_nan_loss_stops_training_with_a_message():
    module = tiny_module()
    batch = {"x": torch.full((2, 3, 128, 128), float("nan")), "y": torch.zeros(2, 1, 128, 128)}
    with pytest.raises(FloatingPointError, match="loss became nan .* last good checkpoints are kept"):
        module.training_step(batch, 0)


def test_deep_supervision_adds_auxiliary_losses():
    torch.manual_seed(0)
    plain = tiny_module()
    deep = tiny_module("model.deep_supervision=true")
    deep.net.load_state_dict(plain.net.state_dict(), strict=False)
    x, y = torch.randn(2, 3, 128, 128), torch.zeros(2, 1, 128, 128)
    y[0, :, 30:90, 30:90] = 1
    _, loss_plain = plain._step_loss(plain.net(x), y)
    _, loss_deep = deep._step_loss(deep.net(x), y)
    assert loss_deep.item() > loss_plain.item()
