"""Salt probabilities for whole seismic sections and volumes (PNG/TIFF, .npy, SEG-Y):
python predict.py ckpt=... input=PATH out=PREFIX [backend=onnx] [predict.axis=both]."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def main(cfg: DictConfig) -> list[str]:
    quiet_known_noise()
    from src.tasks.predict import predict  # heavy imports after Hydra has parsed the command line

    return guarded(predict, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
