"""Two backends behind one call, backend(tiles uint8 (N, 101, 101), depths (N,)) -> probs (N, 101, 101): the
PyTorch ensemble, or an exported ONNX model run by onnxruntime. Both apply hflip TTA the same way."""
import json

import numpy as np
import torch

from src.data.preprocess import Preprocess
from src.data.tiles import TILE, crop_center, mirror_padded
from src.inference.probabilities import tile_probs
from src.utils.errors import UserError

ONNX_PREPROCESS_KEY = "saltseg_preprocess"


def needs_depth(preprocess):
    return "depth" in preprocess.channels


class TorchBackend:
    def __init__(self, members, tta=True):
        total = sum(w for _, w in members)
        self.members = [(m.eval(), w / total) for m, w in members]
        self.preprocesses = {m.preprocess for m, _ in members}
        self.tta = tta

    @torch.no_grad()
    def __call__(self, tiles, depths):
        inputs = {pre: torch.from_numpy(np.stack([pre(t, z) for t, z in zip(tiles, depths)]))
                  for pre in self.preprocesses}
        out = torch.zeros(len(tiles), TILE, TILE)
        for module, weight in self.members:
            out += weight * tile_probs(module, inputs[module.preprocess], self.tta)
        return out.numpy()


class OnnxBackend:
    def __init__(self, path, tta=True, threads=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise UserError(f"cannot load ONNX model {path} ({type(error).__name__}): export it again with "
                            "export.py") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if ONNX_PREPROCESS_KEY not in meta:
            raise UserError(f"ONNX model {path} was not exported by export.py (no preprocessing metadata)")
        self.preprocess = Preprocess.from_dict(json.loads(meta[ONNX_PREPROCESS_KEY]))
        self.preprocesses = {self.preprocess}
        self.tta = tta
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x):
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})[0]

    def __call__(self, tiles, depths):
        x = np.stack([self.preprocess(t, z) for t, z in zip(tiles, depths)])
        probs = self.run(x)
        probs = crop_center(probs[:, 0], TILE)
        if self.tta:
            mirrored = self.run(mirror_padded(torch.from_numpy(x)).numpy())
            probs = 0.5 * (probs + crop_center(mirrored[:, 0], TILE)[..., ::-1])
        return probs
