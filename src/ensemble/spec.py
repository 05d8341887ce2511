"""ensemble.yaml: the K best snapshots of a run (kept by Lightning's ModelCheckpoint), best first, weighted
decay**i (the seed averaged "the last 10 best models with exponentially decreasing weights"), and how to use
them: 'predictions' averages their probabilities; 'weights' averages their parameters into one network."""

from pathlib import Path

import yaml

from src.utils.atomic import write_text


def snapshot_weights(n, decay) -> list[float]:
    """Weight decay**i of the i-th best snapshot, normalised to sum 1."""
    raw = [decay**i for i in range(n)]
    return [w / sum(raw) for w in raw]


def rank_snapshots(best_k_models) -> list[tuple[Path, float]]:
    """{path: score} from ModelCheckpoint -> [(path, score)] best first."""
    return sorted(((str(p), float(s)) for p, s in best_k_models.items()), key=lambda ps: -ps[1])


def write_ensemble(run, ranked, decay, mode) -> None:
    """ensemble.yaml of a RunFolder; a single snapshot is used as it is (nothing to average, BN kept)."""
    mode = mode if len(ranked) > 1 else "predictions"
    weights = snapshot_weights(len(ranked), decay)
    members = [{"ckpt": Path(p).name, "val_map": s, "weight": w} for (p, s), w in zip(ranked, weights)]
    write_text(run.ensemble_file, yaml.safe_dump({"mode": mode, "decay": decay, "members": members}))


def keep_best_snapshot(run, why) -> None:
    """Mark a run's ensemble.yaml so that its ensemble is its best snapshot alone (`use: best`), saying `why`; the
    members stay listed, for snapshots=N to ask for the best N explicitly."""
    spec = yaml.safe_load(run.ensemble_file.read_text())
    write_text(run.ensemble_file, yaml.safe_dump({**spec, "use": "best", "why": why}))


def uses_best_snapshot(run) -> bool:
    """Whether a run's ensemble is its best snapshot alone, the averaged ensemble having scored worse out of fold."""
    return run.ensemble_file.exists() and yaml.safe_load(run.ensemble_file.read_text()).get("use") == "best"


def read_ensemble(run) -> tuple[str, list[tuple[Path, float]]] | None:
    """(mode, [(ckpt path, weight)] best first) of a RunFolder, or None when it has no ensemble file."""
    if not run.ensemble_file.exists():
        return None
    spec = yaml.safe_load(run.ensemble_file.read_text())
    return spec["mode"], [(run.checkpoints / m["ckpt"], m["weight"]) for m in spec["members"]]
