"""Two backends behind one call, backend(tiles uint8 (N, 101, 101), depths (N,)) -> probs (N, 101, 101): the
PyTorch ensemble (on the GPU when there is one), or its ONNX graph run by ONNX Runtime, 1.8x faster on CPU tiles here
(bench/RESULTS.md). Both apply hflip TTA the same way, in float32, and both give their views too
(backend.views: every member's probabilities under every TTA view, for the uncertainty)."""

import json
import logging
from pathlib import Path

import numpy as np
import torch

from src.data.preprocess import Preprocess
from src.data.tiles import TILE
from src.ensemble.members import EnsemblePlan, load_networks, plan_ensemble
from src.inference.onnx import MEMBER_OUTPUT, MEMBER_WEIGHTS_KEY, ONNX_PREPROCESS_KEY, cached_graph
from src.inference.tta import mean_view, network_probs, tta_views
from src.inference.uncertainty import mutual_information
from src.metrics.calibration import apply_temperature
from src.utils.device import pick_device
from src.utils.errors import UserError
from src.utils.progress import progress

log = logging.getLogger(__name__)
BACKENDS = ("auto", "torch", "onnx")


def needs_depth(preprocess) -> bool:
    return any(channel.startswith("depth") for channel in preprocess.channels)  # depth, depth_255


class TorchBackend:
    def __init__(self, members, tta=True, device="auto") -> None:
        total = sum(w for _, w in members)
        self.device = pick_device(device)
        self.members = [(m.eval().to(self.device), w / total) for m, w in members]
        self.preprocesses = {m.preprocess for m, _ in members}
        self.tta = tta
        self.has_views = True
        self.networks = len(self.members)

    def __call__(self, tiles, depths) -> np.ndarray:
        return self.views(tiles, depths)[0]

    @torch.no_grad()
    def views(self, tiles, depths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weighted mean probabilities (N, 101, 101), every member's TTA views (V, N, 101, 101), member by member,
        their weights (V,), summing to 1)."""
        inputs = {
            pre: torch.from_numpy(np.stack([pre(t, z) for t, z in zip(tiles, depths)])).to(self.device)
            for pre in self.preprocesses
        }
        out = torch.zeros(len(tiles), TILE, TILE, device=self.device)
        views, weights = [], []
        for module, weight in self.members:
            member_views = tta_views(lambda v, m=module: network_probs(m, v), inputs[module.preprocess], self.tta)
            out += weight * mean_view(member_views)
            views += member_views
            weights += [weight / len(member_views)] * len(member_views)
        return out.cpu().numpy(), torch.stack(views).cpu().numpy(), np.array(weights, np.float32)


class OnnxBackend:
    def __init__(self, path, tta=True, threads=None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise UserError(
                f"cannot load ONNX model {path} ({type(error).__name__}): export it again with export.py"
            ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if ONNX_PREPROCESS_KEY not in meta:
            raise UserError(f"ONNX model {path} was not exported by export.py (no preprocessing metadata)")
        self.preprocess = Preprocess.from_dict(json.loads(meta[ONNX_PREPROCESS_KEY]))
        self.preprocesses = {self.preprocess}
        self.tta = tta
        self.path = path
        self.input_name = self.session.get_inputs()[0].name
        has_members = MEMBER_OUTPUT in {o.name for o in self.session.get_outputs()} and MEMBER_WEIGHTS_KEY in meta
        self.member_weights = np.array(json.loads(meta[MEMBER_WEIGHTS_KEY]), np.float32) if has_members else None

    @property
    def has_views(self) -> bool:
        """False for a graph exported before member_probs existed: it gives the mean only."""
        return self.member_weights is not None

    @property
    def networks(self) -> int:
        """How many networks the graph holds (1 for a graph exported before member_probs existed)."""
        return 1 if self.member_weights is None else len(self.member_weights)

    def run(self, x: np.ndarray, outputs=("probs",)) -> list[np.ndarray]:
        """The graph's `outputs` for padded tiles (N, C, S, S): probabilities (N, 1, S, S), and member_probs
        (N, members, S, S)."""
        return self.session.run(list(outputs), {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})

    def __call__(self, tiles, depths) -> np.ndarray:
        x = torch.from_numpy(np.stack([self.preprocess(t, z) for t, z in zip(tiles, depths)]))
        return mean_view(tta_views(lambda v: torch.from_numpy(self.run(v.numpy())[0][:, 0]), x, self.tta)).numpy()

    def views(self, tiles, depths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As TorchBackend.views, from the graph's second output (a graph made before it had one is refused)."""
        if self.member_weights is None:
            raise UserError(
                f"ONNX model {self.path} gives no per-network probabilities (exported before they were added): "
                "export it again with export.py"
            )
        x = torch.from_numpy(np.stack([self.preprocess(t, z) for t, z in zip(tiles, depths)]))
        both = tta_views(
            lambda v: torch.from_numpy(np.concatenate(self.run(v.numpy(), ("probs", MEMBER_OUTPUT)), 1)), x, self.tta
        )
        mean = mean_view([view[:, 0] for view in both])
        members = torch.stack([view[:, 1:] for view in both])  # (TTA views, N, members, H, W)
        views = members.permute(2, 0, 1, 3, 4).flatten(0, 1)  # member by member, as TorchBackend gives them
        weights = np.repeat(self.member_weights / len(both), len(both))
        return mean.numpy(), views.numpy(), weights


def build_backend(source, tta=True, backend="auto") -> TorchBackend | OnnxBackend:
    """The backend for `source`: an EnsemblePlan, an .onnx file, or a ckpt (a .ckpt, run or multirun folder: its
    ensemble, planned here). `backend`: 'torch', 'onnx' (the networks' ONNX graph, exported once and kept beside
    them), or 'auto': ONNX Runtime on the CPU, PyTorch on a GPU, and PyTorch where one graph cannot hold the
    networks (folds with different preprocessing). tta: hflip test-time augmentation.
    Returns a callable backend(tiles uint8 (N, 101, 101), depths (N,)) -> probabilities (N, 101, 101) float32."""
    if backend not in BACKENDS:
        raise UserError(f"backend={backend} is not one of {', '.join(BACKENDS)}")
    if isinstance(source, EnsemblePlan):
        plan = source
    elif Path(source).suffix == ".onnx":
        if backend == "torch":
            raise UserError(f"ckpt={source} is an ONNX graph: use backend=onnx (or auto)")
        return OnnxBackend(source, tta=tta)
    else:
        plan = plan_ensemble(source)
    if backend == "onnx" or (backend == "auto" and pick_device().type == "cpu"):
        try:
            return OnnxBackend(cached_graph(plan), tta=tta)
        except UserError as error:
            if backend == "onnx":
                raise
            log.info("PyTorch backend: %s", error)
    return TorchBackend(load_networks(plan.members), tta=tta)


def predict_tiles(members, images, depths, tta=True, batch_size=64, desc="predict") -> np.ndarray:
    """Weighted mean probabilities (N, 101, 101) of grey tiles from PyTorch networks [(module, weight)], which may
    differ in preprocessing."""
    return backend_probs(TorchBackend(members, tta=tta), images, depths, batch_size, desc)


def backend_probs(backend, images, depths, batch_size=64, desc="predict") -> np.ndarray:
    """Probabilities (N, 101, 101) float32 of grey tiles, `batch_size` at a time, with a progress bar."""
    out = np.zeros((len(images), TILE, TILE), dtype=np.float32)
    with progress(total=len(images), desc=desc, unit="tile") as bar:
        for start in range(0, len(images), batch_size):
            out[start : start + batch_size] = backend(
                images[start : start + batch_size], depths[start : start + batch_size]
            )
            bar.update(min(batch_size, len(images) - start))
    return out


def prediction_maps(backend, tiles, depths, temperatures=None, uncertainty=False) -> np.ndarray:
    """(N, K, 101, 101) maps of grey tiles, for section_probs to blend at once: the ensemble's probabilities as
    trained (the mask is decided on these, so it never depends on calibration); given `temperatures` (one per
    member, not all 1), the calibrated probabilities: each member's views by its own temperature, then averaged
    with the members' weights; given `uncertainty`, the mutual information of the views as trained
    (src/inference/uncertainty.py)."""
    calibrate = temperatures is not None and any(t != 1.0 for t in temperatures)
    if not calibrate and not uncertainty:
        return backend(tiles, depths)[:, None]
    if not backend.has_views:  # one averaged output: one temperature (a graph from before member_probs)
        mean = backend(tiles, depths)
        return np.stack([mean, apply_temperature(mean, temperatures[0])], 1)
    mean, views, weights = backend.views(tiles, depths)
    maps = [mean]
    if calibrate:
        per_member = len(views) // len(temperatures)
        calibrated = [apply_temperature(v, temperatures[i // per_member]) for i, v in enumerate(views)]
        maps.append(np.einsum("v,v...->...", weights, np.stack(calibrated)).astype(np.float32))
    if uncertainty:
        maps.append(mutual_information(views, weights, mean))
    return np.stack(maps, 1)
