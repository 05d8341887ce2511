"""The network a `model` config names by its `_target_` (the seed U-Net, smp's Unet, or any class taking
in_channels and encoder_name), with one clear line for an unknown encoder or unreachable weights."""

from hydra.utils import get_class
from torch import nn

from src.models.encoders import clear_encoder_errors, is_weights_file, load_weights_file


def build_network(model, in_channels) -> nn.Module:
    """model: the `model` config as a plain dict (`_target_` and the constructor's keyword arguments). A class that
    does not read encoder weight files itself (smp's models) gets them loaded into its `encoder` here."""
    kwargs = {key: value for key, value in model.items() if key != "_target_"}
    network = get_class(model["_target_"])
    weights_file = kwargs.get("encoder_weights") if is_weights_file(kwargs.get("encoder_weights")) else None
    loads_here = weights_file is not None and not getattr(network, "reads_weight_files", False)
    if loads_here:
        kwargs["encoder_weights"] = None
    with clear_encoder_errors(kwargs.get("encoder_name"), kwargs.get("encoder_weights")):
        net = network(in_channels=in_channels, **kwargs)
    if loads_here:
        load_weights_file(net.encoder, weights_file, kwargs.get("encoder_name"))
    return net
