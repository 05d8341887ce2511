"""The export task: the (ensembled) network as one ONNX graph that outputs probabilities."""

from omegaconf import DictConfig

from src.inference.onnx import export_onnx
from src.utils.errors import UserError


def export(cfg: DictConfig) -> str:
    """Write the networks `cfg.ckpt` stands for as one ONNX graph at `cfg.out` (probabilities out, preprocessing
    in its metadata). Returns the graph's path."""
    if cfg.format != "onnx":
        raise UserError(f"format={cfg.format} is not supported: use format=onnx")
    return str(export_onnx(cfg.ckpt, cfg.out, cfg.snapshots, cfg.opset))
