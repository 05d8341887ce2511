"""Probabilities of grey tiles from a `ckpt=`: the PyTorch and ONNX backends behind one call, hflip TTA, the
ONNX export, post-processing, the submission and the tuning grid."""

from src.inference.backends import OnnxBackend, TorchBackend, backend_probs, build_backend, predict_tiles

__all__ = ["OnnxBackend", "TorchBackend", "backend_probs", "build_backend", "predict_tiles"]
