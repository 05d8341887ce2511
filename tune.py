"""Tune post-processing on out-of-fold predictions: python tune.py run=<run or multirun dir> [-m postproc.*=...]."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="tune")
def main(cfg: DictConfig) -> float:
    quiet_known_noise()
    from src.tasks.tune import tune  # heavy imports after Hydra has parsed the command line

    return guarded(tune, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
