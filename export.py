"""Export a trained network (or ensemble) to ONNX: python export.py ckpt=... format=onnx out=model.onnx."""
import hydra

from src.utils.config import CONFIG_DIR
from src.utils.entry import guarded
from src.utils.errors import UserError


def run(cfg):
    from src.exporting import export_onnx  # heavy imports after Hydra has parsed the command line

    if cfg.format != "onnx":
        raise UserError(f"format={cfg.format} is not supported: use format=onnx")
    return str(export_onnx(cfg.ckpt, cfg.out, cfg.snapshots, cfg.opset))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export")
def main(cfg):
    return guarded(run, cfg)


if __name__ == "__main__":
    main()
