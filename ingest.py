"""SEG-Y <-> MDIO (TGS's chunked seismic store): python ingest.py input=volume.sgy out=volume.mdio, and back with
input=volume.mdio out=volume.sgy."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="ingest")
def main(cfg: DictConfig) -> str:
    quiet_known_noise()
    from src.tasks.ingest import ingest  # heavy imports after Hydra has parsed the command line

    return guarded(ingest, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
