"""Predict test tiles and write a Kaggle submission: python infer.py ckpt=<.ckpt | run dir | multirun dir>."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="infer")
def main(cfg: DictConfig) -> str:
    quiet_known_noise()
    from src.tasks.infer import infer  # heavy imports after Hydra has parsed the command line

    return guarded(infer, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
