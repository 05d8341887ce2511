"""The networks behind a `ckpt=` as one ONNX graph that outputs probabilities (export.py writes it; the onnx
backend of infer.py and predict.py makes it once and keeps it beside the checkpoints)."""

import hashlib
import json
import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from src.ensemble.cache_key import members_key
from src.ensemble.members import EnsemblePlan, load_networks
from src.utils.atomic import atomic_path
from src.utils.errors import UserError

log = logging.getLogger(__name__)
ONNX_PREPROCESS_KEY = "saltseg_preprocess"
ONNX_CACHE_KEY = "saltseg_cache_key"  # in a kept graph: the key of the networks and weights it was made from
ONNX_DIGEST_KEY = "saltseg_graph_digest"  # in a kept graph: the digest of its own content (graph and metadata)
SETTINGS_KEY = "saltseg_postproc"  # in an exported graph: tune.py's choice for it and its members' temperatures
MEMBER_WEIGHTS_KEY = "saltseg_member_weights"  # the members' weights (summing to 1), in member_probs' order
MEMBER_OUTPUT = "member_probs"
OPSET = 18
OUTPUTS = ("probs", MEMBER_OUTPUT)  # part of a kept graph's key: a graph kept before member_probs is made again


class EnsembleProbabilities(nn.Module):
    """(N, C, S, S) padded input -> the weighted mean of the members' sigmoid outputs (N, 1, S, S), and each
    member's (N, members, S, S) for the uncertainty (ONNX Runtime computes only the outputs asked for)."""

    def __init__(self, modules, weights) -> None:
        super().__init__()
        self.members = nn.ModuleList(modules)
        self.weights = [float(w) / sum(weights) for w in weights]

    def forward(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        members = [torch.sigmoid(m(x)) for m in self.members]
        return sum(w * p for p, w in zip(members, self.weights)), torch.cat(members, 1)


def export_onnx(plan: EnsemblePlan, out, opset=OPSET, cache_key=None, settings=None) -> Path:
    """Write the ensemble `plan` holds to `out` as one graph with dynamic batch and spatial axes, its
    preprocessing (and, for a kept graph, its `cache_key`; for an exported one, the tuned `settings`: threshold,
    cut-offs and each member's temperature) in the metadata."""
    members = load_networks(plan.members)
    modules = [m for m, _ in members]
    preprocesses = {m.preprocess for m in modules}
    if len(preprocesses) > 1:
        raise UserError(
            f"the networks under {plan.ckpt} were trained with different preprocessing; export one fold or run at "
            "a time"
        )
    preprocess = preprocesses.pop()
    model = EnsembleProbabilities(modules, [w for _, w in members]).eval()
    example = torch.zeros(1, preprocess.in_channels, preprocess.input_size, preprocess.input_size)
    out = Path(out)
    with atomic_path(out) as tmp, warnings.catch_warnings():
        # The tracer warns at every shape comparison in the decoder (upsample only where a map is smaller than its
        # skip); for inputs that are multiples of the encoder's stride those branches go the same way at any size,
        # so the graph holds for every such size (tests/test_export.py checks three) and the warnings only alarm.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        # dynamo=False is chosen (the TorchScript exporter's graph is what tests/test_export.py checks): its
        # deprecation notice says nothing the caller can act on
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["x"],
            output_names=list(OUTPUTS),
            dynamo=False,
            opset_version=opset,
            dynamic_axes={name: {0: "batch", 2: "height", 3: "width"} for name in ("x", *OUTPUTS)},
        )
        graph = onnx.load(str(tmp))
        meta = {
            ONNX_PREPROCESS_KEY: json.dumps(preprocess.to_dict()),
            MEMBER_WEIGHTS_KEY: json.dumps(model.weights),
            "tile_size": "101",
            "members": str(len(modules)),
        }
        if cache_key is not None:
            meta[ONNX_CACHE_KEY] = cache_key
        if settings is not None:
            meta[SETTINGS_KEY] = json.dumps(settings)
        for key, value in meta.items():
            graph.metadata_props.add(key=key, value=value)
        if cache_key is not None:
            graph.metadata_props.add(key=ONNX_DIGEST_KEY, value=graph_digest(graph))
        onnx.save(graph, str(tmp))
    log.info("exported %d network(s) to %s", len(modules), out)
    return out


def graph_digest(graph: onnx.ModelProto) -> str:
    """SHA-256 of a graph's content: the model with its metadata (less this digest) in a fixed order. An edit of
    any weight, node or metadata value moves it, also one that keeps the cache key (onnx.load/save, simplifiers
    and quantisers all keep the metadata)."""
    bare = onnx.ModelProto()
    bare.CopyFrom(graph)
    meta = sorted((p.key, p.value) for p in bare.metadata_props if p.key != ONNX_DIGEST_KEY)
    del bare.metadata_props[:]
    content = hashlib.sha256(bare.SerializeToString(deterministic=True))
    content.update(json.dumps(meta).encode())
    return content.hexdigest()


def graph_settings(path) -> dict | None:
    """The tuned settings an exported graph carries (threshold, cut-offs, `temperatures` per member), or None."""
    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception:  # onnx raises protobuf's DecodeError and others for a file that is not a graph
        return None
    value = next((p.value for p in graph.metadata_props if p.key == SETTINGS_KEY), None)
    return json.loads(value) if value else None


def graph_stamp(path: Path) -> tuple[str | None, bool]:
    """(the cache key stored in an ONNX graph's metadata or None, whether its content is still what it was
    written as); (None, False) for a file that cannot be read as a graph."""
    try:
        graph = onnx.load(str(path))
    except Exception:  # onnx raises protobuf's DecodeError and others for a file that is not a graph
        return None, False
    meta = {p.key: p.value for p in graph.metadata_props}
    return meta.get(ONNX_CACHE_KEY), meta.get(ONNX_DIGEST_KEY) == graph_digest(graph)


def cached_graph(plan: EnsemblePlan) -> Path:
    """The ONNX graph of the plan's ensemble, exported on first use and kept beside it (`<file>.onnx` for a .ckpt,
    `ensemble[-topN].onnx` in a run or multirun folder). It is used only while the key in its metadata is the key
    of the networks and weights it stands for now (their content, not their file times) and its own content is
    what it was exported as (an edited weight or a replaced graph is noticed); otherwise it is exported again,
    and the log says which happened."""
    path = Path(plan.ckpt).expanduser()
    name = f"ensemble-top{plan.snapshots}.onnx" if plan.snapshots else "ensemble.onnx"
    cache = path.with_suffix(".onnx") if path.is_file() else path / name
    key = members_key(plan.members, kind="onnx", opset=OPSET, outputs=list(OUTPUTS))
    stored, intact = graph_stamp(cache) if cache.exists() else (None, False)
    if stored == key and intact:
        log.info("ONNX graph %s matches its networks (key %s): used", cache, key[:12])
        return cache
    if stored == key:
        log.warning(
            "ONNX graph %s was changed after it was exported (its content digest differs): exporting it again", cache
        )
    elif cache.exists():
        log.warning(
            "ONNX graph %s was not made from these networks (%s): exporting it again",
            cache,
            "no key in it" if stored is None else f"key {stored[:12]}, now {key[:12]}",
        )
    return export_onnx(plan, cache, cache_key=key)
