"""A run folder's saved config (`.hydra/config.yaml`) is data from whoever sent the folder. Building its tiles
again (to recompute BatchNorm for a weight average) instantiates the classes its `data` and `aug` sections name,
so every `_target_` in them is checked first against what this project builds there: its own DataModules and
albumentations' transforms. Anything else is refused before any module it names is imported or anything called."""

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import albumentations as A
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from src.data.datamodule import TileDataModule
from src.utils.errors import UserError

# section -> (the module prefix a target must start with, the classes it must be, whether nested targets may appear)
ALLOWED_TARGETS = {
    "data": ("src.", (TileDataModule,), False),
    "aug": ("albumentations.", (A.BasicTransform, A.BaseCompose), True),
}


def targets_in(node, where="") -> Iterator[tuple[str, object]]:
    """(path, value) of every `_target_` in plain nested dicts and lists, the node's own first."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "_target_":
                yield where or "(top)", value
            else:
                yield from targets_in(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for i, value in enumerate(node):
            yield from targets_in(value, f"{where}[{i}]")


def allowed(target, prefix, bases) -> bool:
    """Whether `target` names a class under `prefix` that is one of `bases`; nothing outside `prefix` is imported."""
    if not isinstance(target, str) or not target.startswith(prefix):
        return False
    try:
        named = get_class(target)
    except Exception:  # hydra raises ImportError, ValueError or its own errors for a name it cannot resolve
        return False
    return issubclass(named, bases)


def check_saved_config(saved: DictConfig, source: Path) -> None:
    """Resolve the `data` and `aug` sections of `saved` in place, then refuse (one line naming `source`) one whose
    sections name anything to build beyond this project's DataModules and albumentations' transforms. Resolving
    first means an interpolation cannot bring in a target from elsewhere in the file after the check; the other
    sections stay as they are (their ${hydra:...} paths resolve only inside a Hydra job)."""
    for section in ALLOWED_TARGETS:
        if isinstance(saved.get(section), DictConfig):
            OmegaConf.resolve(saved[section])
    for section, (prefix, bases, nested) in ALLOWED_TARGETS.items():
        node = OmegaConf.to_container(saved[section]) if section in saved else None
        for where, target in targets_in(node):
            top = where == "(top)"
            if not allowed(target, prefix, bases) or (not top and not nested):
                raise UserError(
                    f"{source} names {target!r} to build at {section}.{where}, which is not "
                    f"{'a DataModule of this project' if section == 'data' else 'an albumentations transform'}: "
                    "refused, and nothing it names was imported or called. A run folder from train.py names "
                    "none; use one of those"
                )
