"""The predict task: salt probabilities for whole sections and volumes, written back in the input's form.

It chooses what a prediction depends on — the networks (resolved once), the depth rule, the amplitude-to-grey
scaling (the network's stored rule, else the input's own percentiles), each member's temperature, the
threshold — hands them to a SectionPredictor (src/inference/section_predictor.py), and lets
src/sections/prediction_files.py write the files, then `<out>.json` saying what was done.
"""

import json
import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from src.ensemble.members import checkpoint_preprocesses, plan_ensemble
from src.inference.backends import build_backend, needs_depth
from src.inference.calibration import member_temperatures
from src.inference.cluster import DaskRunner, InProcessRunner, PredictorRecipe, connected, wanted
from src.inference.onnx import graph_settings
from src.inference.postproc_settings import check_threshold
from src.inference.section_predictor import LinearDepth, SectionPredictor
from src.inference.store_prediction import predict_store
from src.sections.mdio_store import MdioVolume
from src.sections.predict_settings import PredictSettings
from src.sections.prediction_files import output_paths, predict_section_file, predict_volume_file
from src.sections.readers import Section, open_seismic
from src.sections.scaling import AmplitudeScaling
from src.utils.atomic import write_text
from src.utils.config import command_line_keys, is_positive_number
from src.utils.entry import writing
from src.utils.errors import UserError
from src.utils.run_folder import tuned_postproc

log = logging.getLogger(__name__)
CALIBRATION_NOTE = (
    "each member's probabilities by its run's temperature, then averaged; the mask is decided on the "
    "probabilities as trained, so calibration never changes it"
)
SCALING_MISMATCH = 2.0  # warn when the input's own amplitude scale differs from the stored one by this factor


def depth_rule(preprocesses, settings) -> tuple[float, float, str] | None:
    """(depth of the first row, depth per row, where they came from) for networks that use the depth channel,
    None for those that do not: predict.depth_origin / depth_step where given, else the rule the network was
    trained on (a survey network stores it); one clear line when neither says."""
    if not any(needs_depth(pre) for pre in preprocesses):
        return None
    stored = {pre.depth_rule for pre in preprocesses if needs_depth(pre)} - {None}
    stored_rule = stored.pop() if len(stored) == 1 else (None, None)
    origin = settings.depth_origin if settings.depth_origin is not None else stored_rule[0]
    step = settings.depth_step if settings.depth_step is not None else stored_rule[1]
    if origin is None or step is None:
        raise UserError(
            "this model uses the depth channel and stores no depth rule of its own (trained on TGS tiles, or folds "
            "that differ): pass predict.depth_origin (depth of the first row) and predict.depth_step (depth per "
            "row), in the units of the training depths.csv"
        )
    given = [name for name in ("depth_origin", "depth_step") if getattr(settings, name) is not None]
    source = "predict." + " and predict.".join(given) if given else "the rule the network was trained on"
    return float(origin), float(step), source


def depth_function(rule) -> LinearDepth:
    return LinearDepth() if rule is None else LinearDepth(rule[0], rule[1])


def choose_scaling(backend, amplitudes, settings, source) -> AmplitudeScaling:
    """The amplitude-to-grey rule: the network's stored one (predict.scaling=auto|model), or the input's own
    percentiles (predict.scaling=input, or auto for a network trained on TGS tiles); a stored rule far from the
    input's own scale is warned about."""
    own = AmplitudeScaling.percentile(amplitudes, *settings.clip_percentiles, source=f"input {source}")
    stored = {pre.amplitude for pre in backend.preprocesses} - {None}
    if settings.scaling == "input" or (settings.scaling == "auto" and not stored):
        return own
    if not stored:
        raise UserError(
            "predict.scaling=model, but this network stores no amplitude scaling (trained on grey tiles): "
            "use predict.scaling=auto or input"
        )
    if len(stored) > 1:
        raise UserError("the networks behind ckpt store different amplitude scalings: predict with one run at a time")
    scaling = AmplitudeScaling.from_pair(stored.pop())
    ratio = scaling.gain / own.gain
    if not 1 / SCALING_MISMATCH <= ratio <= SCALING_MISMATCH:
        log.warning(
            "this input's amplitudes are %.1fx %s than those the network was trained on: check that it is "
            "the same survey and processing, or pass predict.scaling=input",
            max(ratio, 1 / ratio),
            "weaker" if ratio > 1 else "stronger",
        )
    return scaling


def given_temperature(cfg) -> float | None:
    """predict.temperature when a number (None: auto)."""
    given = cfg.predict.temperature
    if given == "auto":
        return None
    if not is_positive_number(given):
        raise UserError(f"predict.temperature={given}: use auto or a number above 0 (1: no calibration)")
    return float(given)


def choose_temperatures(cfg, networks, plan=None, carried=None) -> list[dict]:
    """[{run, temperature, from}] for each of the `networks` members of `plan` (or of the graph `cfg.ckpt`), in the
    backend's order: each
    member is calibrated by its own run's temperature (the one fitted on that run's out-of-fold predictions)
    before the members are averaged; predict.temperature, when a number, is every member's; an exported graph
    carries the temperatures of the run it was exported from (`carried`)."""
    given = given_temperature(cfg)
    if given is not None:
        return [{"run": None, "temperature": given, "from": "predict.temperature"}] * networks
    if Path(cfg.ckpt).suffix == ".onnx":
        carried = (carried or {}).get("temperatures")
        if not carried or len(carried) != networks:
            return [{"run": None, "temperature": 1.0, "from": "none (the graph carries none)"}] * networks
        return [{"run": None, "temperature": float(t), "from": f"{cfg.ckpt} (as exported)"} for t in carried]
    return member_temperatures(plan)


def choose_threshold(cfg, carried=None) -> tuple[float, str]:
    """(threshold, where it came from): `threshold=` on the command line, else the one tune.py chose for the ckpt
    (its postproc.yaml, or what an exported graph carries), else the default. The mask is the probabilities as
    trained above it; tune.py's component and mask-size cut-offs are for 101 x 101 tiles and are not applied to
    sections (bodies.py's min_voxels cleans up a volume)."""
    if "threshold" in command_line_keys():
        return check_threshold(cfg.threshold, "the command line"), "the command line"
    tuned, source = (carried, cfg.ckpt) if Path(cfg.ckpt).suffix == ".onnx" else tuned_postproc(cfg.ckpt)
    if tuned and "threshold" in tuned:
        return check_threshold(tuned["threshold"], f"tuned, from {source}"), f"tuned, from {source}"
    return check_threshold(cfg.threshold, "the default"), "the default (nothing tuned)"


def describe_uncertainty(cfg, backend) -> str | None:
    """What the uncertainty will be the disagreement of, for predict.json, or None when none is written. Warns
    where it will say little: one network's TTA views only (0 everywhere without TTA), or no views at all."""
    if not cfg.predict.uncertainty:
        return None
    if not backend.has_views:
        log.warning(
            "%s gives no per-network probabilities (exported before they were added): no uncertainty written; "
            "export it again with export.py to have one",
            cfg.ckpt,
        )
        return None
    tta_views = 2 if backend.tta else 1
    if backend.networks == 1:
        log.warning(
            "%s is one network: its uncertainty is only what its %d TTA view(s) disagree on%s; predict a multirun "
            "folder (folds, or training seeds of one fold) to have independently trained networks disagree",
            cfg.ckpt,
            tta_views,
            "" if tta_views > 1 else " (0 everywhere)",
        )
    return f"mutual information, bits, of {backend.networks} network(s) x {tta_views} TTA view(s)"


def common_temperature(temperatures) -> float | None:
    """The temperature every member shares, for predict.json's one-number summary; None when they differ."""
    values = {t["temperature"] for t in temperatures}
    return values.pop() if len(values) == 1 else None


def predict_mdio(cfg, source, predictor, scaling, threshold, settings, paths, provenance) -> tuple:
    """An MDIO store predicted block by block into <out>.mdio: on the Dask cluster `cluster` names, else in this
    process. Returns (paths written, salt share, samples without amplitude, blocks skipped as already written)."""
    cluster = cfg.get("cluster")
    predict_with = partial(
        predict_store,
        source,
        predictor_kinds=predictor.kinds,
        scaling=scaling,
        threshold=threshold,
        settings=settings,
        out=cfg.out,
        provenance=provenance,
        preview=paths["preview"],
    )
    if not wanted(cluster):
        store, salt, dead, skipped = predict_with(InProcessRunner(source, predictor))
    else:
        recipe = PredictorRecipe.of(predictor, int(cluster.get("onnx_threads") or 1))
        with connected(cluster) as (client, where):
            log.info("predicting on %s; its dashboard: %s", where, client.dashboard_link)
            store, salt, dead, skipped = predict_with(DaskRunner(client, recipe, source.path))
    return [store, paths["preview"]], salt, dead, skipped


def predict(cfg: DictConfig) -> list[str]:
    """Salt probabilities for the section or volume `cfg.input` (PNG/TIFF, .npy, SEG-Y) with the networks
    `cfg.ckpt` stands for, written beside `cfg.out` in the input's form (probabilities, mask, pictures, SEG-Y
    with the source's headers) with a JSON of what was done. Returns the paths written."""
    settings = PredictSettings.from_config(cfg.predict)
    paths = output_paths(cfg.out)
    source = open_seismic(cfg.input, settings.iline_byte, settings.xline_byte)
    if wanted(cfg.get("cluster")) and not isinstance(source, MdioVolume):
        raise UserError(
            f"cluster= predicts MDIO stores, which workers read in parallel: ingest {source.path} first "
            f"(python ingest.py input={source.path} out={Path(source.path).with_suffix('.mdio')}) and predict that"
        )
    given_temperature(cfg)
    graph = Path(cfg.ckpt).suffix == ".onnx"
    plan = None if graph else plan_ensemble(cfg.ckpt, cfg.snapshots)
    if plan is not None:  # checked before a graph is exported (a graph's own metadata costs nothing)
        log.info("predicting with %s", plan.describe())
        depth_rule(checkpoint_preprocesses(plan), settings)
    backend = build_backend(plan or cfg.ckpt, cfg.tta == "hflip", cfg.backend)
    carried = graph_settings(cfg.ckpt) if graph else None
    temperatures = choose_temperatures(cfg, backend.networks, plan, carried)
    threshold, threshold_from = choose_threshold(cfg, carried)
    depths = depth_rule(backend.preprocesses, settings)
    uncertainty_from = describe_uncertainty(cfg, backend)
    predictor = SectionPredictor(
        backend,
        tuple(t["temperature"] for t in temperatures),
        uncertainty_from is not None,
        depth_function(depths),
        settings.overlap,
        settings.taper,
        settings.batch_size,
    )
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    provenance = {
        "input": str(source.path),
        "ckpt": str(cfg.ckpt),
        "backend": type(backend).__name__,
        "tta": cfg.tta,
        "temperatures": temperatures,
        "threshold": threshold,
        "depth": None if depths is None else dict(zip(("origin", "step", "from"), depths)),
        "axis": settings.axis,
        "overlap": settings.overlap,
        "taper": settings.taper,
        "smooth_lines": settings.smooth_lines,
    }
    skipped, started = None, time.perf_counter()
    with writing(f"the outputs of out={cfg.out}"):
        if isinstance(source, MdioVolume):
            with source:
                scaling = choose_scaling(backend, source.sample_traces(), settings, source.path)
                provenance["scaling"] = scaling.to_dict()
                written, salt, dead, skipped = predict_mdio(
                    cfg, source, predictor, scaling, threshold, settings, paths, provenance
                )
        elif isinstance(source, Section):
            grey_tiles = source.data.dtype == np.uint8
            scaling = None if grey_tiles else choose_scaling(backend, source.data, settings, source.path)
            written, salt, dead = predict_section_file(source, predictor, threshold, paths, scaling)
        else:
            with source:
                scaling = choose_scaling(backend, source.sample_traces(), settings, source.path)
                written, salt, dead = predict_volume_file(source, predictor, threshold, settings, paths, scaling)
    meta = {
        "shape": list(source.data.shape if isinstance(source, Section) else source.shape),
        **provenance,
        "scaling": scaling.to_dict() if scaling else {"rule": "uint8 passthrough"},
        "threshold_from": threshold_from,
        "postproc_not_applied": "tune.py's min_component and min_mask are 101 x 101 tile rules: not applied to "
        "sections (bodies.py's min_voxels cleans up a volume)",
        "temperature": common_temperature(temperatures),
        "calibration": CALIBRATION_NOTE if predictor.calibrated else "none: the probabilities are as trained",
        "uncertainty": uncertainty_from,
        "uncertainty_of": "the views' probabilities as trained (before calibration)",
        "salt_fraction": salt,
        "non_finite_samples": dead,
        **({"blocks_already_written": skipped} if skipped is not None else {}),
        "seconds": round(time.perf_counter() - started, 2),  # reading, predicting, writing (a cluster's start too)
    }
    if dead:
        log.warning("%d samples of %s are NaN or infinite: predicted as no salt", dead, source.path)
    write_text(paths["json"], json.dumps(meta, indent=2))
    written.append(paths["json"])
    log.info("wrote %s (salt in %.1f%% of the samples)", ", ".join(str(w) for w in written), 100 * salt)
    return [str(w) for w in written]
