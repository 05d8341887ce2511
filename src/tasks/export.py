"""The export task: the (ensembled) network as one ONNX graph that outputs probabilities."""
import json
import logging
from pathlib import Path

import onnx
import torch
from torch import nn

from src.ensemble.members import load_members
from src.sections.backends import ONNX_PREPROCESS_KEY
from src.utils.atomic import atomic_path
from src.utils.errors import UserError

log = logging.getLogger(__name__)


class EnsembleProbabilities(nn.Module):
    """Weighted mean of the members' sigmoid outputs: (N, C, S, S) padded input -> (N, 1, S, S) probabilities."""

    def __init__(self, modules, weights):
        super().__init__()
        self.members = nn.ModuleList(modules)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32) / sum(weights))

    def forward(self, x):
        return sum(w * torch.sigmoid(m(x)) for m, w in zip(self.members, self.weights))


def export(cfg):
    if cfg.format != "onnx":
        raise UserError(f"format={cfg.format} is not supported: use format=onnx")
    return str(export_onnx(cfg.ckpt, cfg.out, cfg.snapshots, cfg.opset))


def export_onnx(ckpt, out, snapshots=None, opset=18):
    members, _ = load_members(ckpt, snapshots)
    modules = [m for m, _ in members]
    preprocesses = {m.preprocess for m in modules}
    if len(preprocesses) > 1:
        raise UserError(f"the networks under {ckpt} were trained with different preprocessing; export one fold "
                        "or run at a time")
    preprocess = preprocesses.pop()
    model = EnsembleProbabilities(modules, [w for _, w in members]).eval()
    example = torch.zeros(1, preprocess.in_channels, preprocess.input_size, preprocess.input_size)
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.onnx.export(model, (example,), str(tmp), input_names=["x"], output_names=["probs"], dynamo=False,
                          opset_version=opset, dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"},
                                                             "probs": {0: "batch", 2: "height", 3: "width"}})
        graph = onnx.load(str(tmp))
        meta = {ONNX_PREPROCESS_KEY: json.dumps(preprocess.to_dict()), "tile_size": "101",
                "members": str(len(modules))}
        for key, value in meta.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, str(tmp))
    log.info("exported %d network(s) to %s", len(modules), out)
    return out
