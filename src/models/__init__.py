"""Networks (the published seed U-Net, the project's own hyper U-Net, smp's), their encoders, the LightningModule
and loading a checkpoint as data."""

from src.models.checkpoint import load_module
from src.models.hyper_unet import HyperUnet
from src.models.module import SaltModule
from src.models.seed_unet import SeedUnet

__all__ = ["HyperUnet", "SaltModule", "SeedUnet", "load_module"]
