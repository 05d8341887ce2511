"""The export task: one ONNX graph with the preprocessing in its metadata, the same probabilities as PyTorch,
dynamic batch and spatial axes."""

import warnings

import numpy as np
import torch

from conftest import compose_config, run_task
from src.data.datamodule import load_unlabelled
from src.ensemble.members import load_members, plan_ensemble
from src.inference.backends import OnnxBackend, TorchBackend
from src.inference.onnx import export_onnx
from src.models.checkpoint import load_module
from src.tasks.export import export


def test_onnx_export_matches_pytorch(trained_run, tmp_path, synthetic_root):
    onnx_path = tmp_path / "model.onnx"
    run_task(
        export,
        compose_config("export", f"ckpt={trained_run}", "snapshots=1", f"out={onnx_path}", run_dir=tmp_path / "hydra"),
    )
    _, images, depths = load_unlabelled(synthetic_root)
    onnx_probs = OnnxBackend(onnx_path, tta=True)(images[:6], depths[:6])
    torch_probs = TorchBackend(load_members(trained_run, 1)[0], tta=True)(images[:6], depths[:6])
    assert np.abs(onnx_probs - torch_probs).max() < 1e-3


def test_onnx_export_has_dynamic_batch_and_spatial_axes_and_traces_without_warnings(trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        onnx_model = OnnxBackend(export_onnx(plan_ensemble(ckpt), tmp_path / "m.onnx"), tta=False)
    assert not [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    module = load_module(ckpt)
    for batch, size in [(1, 128), (3, 160), (2, 224)]:
        x = torch.randn(batch, 3, size, size)
        with torch.no_grad():
            expected = torch.sigmoid(module(x)).numpy()
        probs, member_probs = onnx_model.run(x.numpy(), ("probs", "member_probs"))
        assert np.abs(probs - expected).max() < 1e-3
        assert np.abs(member_probs - expected).max() < 1e-3  # one network: its own probabilities
