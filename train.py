"""Train a salt-segmentation U-Net: python train.py [data=synthetic] [fold=K] [experiment=...]; -m for sweeps."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> float | None:
    quiet_known_noise()
    from src.tasks.train import train  # heavy imports after Hydra has parsed the command line

    return guarded(train, cfg)


if __name__ == "__main__":
    main()
