"""Build the network named by the `model` config group."""
import segmentation_models_pytorch as smp

from src.models.encoders import load_smp_encoder
from src.models.seed_unet import SeedUnet


def build_model(model_cfg, encoder_cfg, in_channels, input_size):
    if model_cfg.name == "seed_unet":
        return SeedUnet(encoder_cfg.name, encoder_cfg.weights, in_channels, model_cfg.stem, model_cfg.filters,
                        model_cfg.upsample, model_cfg.scse_reduction, model_cfg.deep_supervision, input_size)
    if model_cfg.name == "smp_unet":
        load_smp_encoder(encoder_cfg.name, in_channels, encoder_cfg.weights)  # clear error on a bad name/download
        return smp.Unet(encoder_cfg.name, encoder_weights=encoder_cfg.weights, in_channels=in_channels, classes=1,
                        decoder_attention_type=model_cfg.decoder_attention,
                        decoder_channels=list(model_cfg.decoder_channels))
    raise ValueError(f"unknown model {model_cfg.name!r}: use seed_unet or smp_unet")
