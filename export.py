"""Export a trained network (or ensemble) to ONNX: python export.py ckpt=... format=onnx out=model.onnx."""

import hydra
from omegaconf import DictConfig

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.quiet import quiet_known_noise


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export")
def main(cfg: DictConfig) -> str:
    quiet_known_noise()
    from src.tasks.export import export  # heavy imports after Hydra has parsed the command line

    return guarded(export, cfg, sigterm_exits=True)


if __name__ == "__main__":
    main()
