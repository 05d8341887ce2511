"""The export task: the (ensembled) network as one ONNX graph that outputs probabilities, carrying what tune.py
chose for it (threshold, cut-offs, each member's temperature), so a graph predicts as its run folder would."""

import logging

from omegaconf import DictConfig

from src.ensemble.members import EnsemblePlan, plan_ensemble
from src.inference.calibration import member_temperatures
from src.inference.onnx import export_onnx
from src.utils.errors import UserError
from src.utils.run_folder import tuned_postproc

log = logging.getLogger(__name__)
CARRIED = ("threshold", "min_component", "min_mask", "fill_holes")  # of postproc.yaml, with the temperatures


def tuned_settings(plan: EnsemblePlan) -> dict | None:
    """What an exported graph carries of the tuning of the plan's ckpt: postproc.yaml's post-processing and each
    member's temperature (in the graph's member order); None when nothing was tuned."""
    tuned, _ = tuned_postproc(plan.ckpt)
    temperatures = member_temperatures(plan)
    if not tuned and all(t["temperature"] == 1.0 for t in temperatures):
        return None
    carried = {key: tuned[key] for key in CARRIED if tuned and key in tuned}
    log.info(
        "the graph carries %s and the members' temperatures %s (%s)",
        carried,
        [t["temperature"] for t in temperatures],
        ", ".join(sorted({t["from"] for t in temperatures})),
    )
    return carried | {"temperatures": [t["temperature"] for t in temperatures]}


def export(cfg: DictConfig) -> str:
    """Write the networks `cfg.ckpt` stands for as one ONNX graph at `cfg.out` (probabilities out, preprocessing
    and the tuned settings in its metadata). Returns the graph's path."""
    if cfg.format != "onnx":
        raise UserError(f"format={cfg.format} is not supported: use format=onnx")
    plan = plan_ensemble(cfg.ckpt, cfg.snapshots)
    log.info("exporting %s", plan.describe())
    return str(export_onnx(plan, cfg.out, cfg.opset, settings=tuned_settings(plan)))
