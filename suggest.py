"""The lines to interpret next: python suggest.py run=RUN uncertainty=<out>.uncertainty.npy out=PREFIX."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="suggest")
def main(cfg: DictConfig) -> list[str]:
    quiet_known_noise()
    from src.tasks.suggest import suggest  # heavy imports after Hydra has parsed the command line

    return guarded(suggest, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
