"""The networks behind a `ckpt=` as one ONNX graph that outputs probabilities (export.py writes it; the onnx
backend of infer.py and predict.py makes it once and keeps it beside the checkpoints)."""
import json
import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from src.ensemble.members import load_members, resolve_members
from src.utils.atomic import atomic_path
from src.utils.errors import UserError

log = logging.getLogger(__name__)
ONNX_PREPROCESS_KEY = "saltseg_preprocess"


class EnsembleProbabilities(nn.Module):
    """Weighted mean of the members' sigmoid outputs: (N, C, S, S) padded input -> (N, 1, S, S) probabilities."""

    def __init__(self, modules, weights):
        super().__init__()
        self.members = nn.ModuleList(modules)
        self.weights = [float(w) / sum(weights) for w in weights]

    def forward(self, x):
        return sum(w * torch.sigmoid(m(x)) for m, w in zip(self.members, self.weights))


def export_onnx(ckpt, out, snapshots=None, opset=18):
    """Write the ensemble behind `ckpt` (best `snapshots` per fold) to `out` as one graph with dynamic batch and
    spatial axes, its preprocessing in the metadata."""
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
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # The tracer warns at every shape comparison in the decoder (upsample only where a map is smaller than its
        # skip); for inputs that are multiples of the encoder's stride those branches go the same way at any size,
        # so the graph holds for every such size (tests/test_export.py checks three) and the warnings only alarm.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
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


def cached_graph(ckpt, snapshots=None):
    """The ONNX graph of `ckpt`'s ensemble, exported on first use and kept beside it (`<file>.onnx` for a .ckpt,
    `ensemble[-topN].onnx` in a run or multirun folder); made again when a checkpoint behind it is newer."""
    path = Path(ckpt).expanduser()
    name = f"ensemble-top{snapshots}.onnx" if snapshots else "ensemble.onnx"
    cache = path.with_suffix(".onnx") if path.is_file() else path / name
    newest = max(Path(p).stat().st_mtime for p, _ in resolve_members(ckpt, snapshots)[0])
    if cache.exists() and cache.stat().st_mtime >= newest:
        log.info("ONNX graph %s (kept from an earlier run)", cache)
        return cache
    return export_onnx(ckpt, cache, snapshots)
