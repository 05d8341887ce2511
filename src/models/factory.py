"""The network a `model` config names by its `_target_` (the seed U-Net, smp's Unet, or any class taking
in_channels and encoder_name), with one clear line for an unknown encoder or unreachable weights."""
from hydra.utils import get_class

from src.models.encoders import clear_encoder_errors


def build_network(model, in_channels):
    """model: the `model` config as a plain dict (`_target_` and the constructor's keyword arguments)."""
    kwargs = {key: value for key, value in model.items() if key != "_target_"}
    with clear_encoder_errors(kwargs.get("encoder_name"), kwargs.get("encoder_weights")):
        return get_class(model["_target_"])(in_channels=in_channels, **kwargs)
