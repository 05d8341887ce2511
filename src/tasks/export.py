"""The export task: the (ensembled) network as one ONNX graph that outputs probabilities."""
from src.inference.onnx import export_onnx
from src.utils.errors import UserError


def export(cfg):
    if cfg.format != "onnx":
        raise UserError(f"format={cfg.format} is not supported: use format=onnx")
    return str(export_onnx(cfg.ckpt, cfg.out, cfg.snapshots, cfg.opset))
