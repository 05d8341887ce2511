"""Salt bodies and top/base-of-salt surfaces of a predicted mask: python bodies.py input=<out>.mask.npy out=DIR."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="bodies")
def main(cfg: DictConfig) -> list[str]:
    quiet_known_noise()
    from src.tasks.bodies import bodies  # heavy imports after Hydra has parsed the command line

    return guarded(bodies, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
