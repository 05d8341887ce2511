"""Config helpers shared by the entry points: the config folder, the project-root resolver, and checks of
settings."""

import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from src.utils.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = str(PROJECT_ROOT / "conf")

CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}  # x86 instructions that run bf16 matrix work natively


def cpu_precision() -> str:
    """Lightning precision for CPU training: bf16 autocast where the processor has native bf16 instructions
    (measured 1.8x a fp32 training step on an AVX-512 BF16 EPYC), fp32 elsewhere (bf16 ran 13-20x slower than
    fp32 on an AVX2-only one; bench/RESULTS.md). SALTSEG_CPU_PRECISION overrides it (e.g. 32-true, to run fp32
    on a bf16 machine as an AVX2 one would)."""
    if os.environ.get("SALTSEG_CPU_PRECISION"):
        return os.environ["SALTSEG_CPU_PRECISION"]
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "32-true"
    return "bf16-mixed" if flags & CPU_BF16_FLAGS else "32-true"


if not OmegaConf.has_resolver("project_root"):
    OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT))
    OmegaConf.register_new_resolver("cpu_precision", cpu_precision)


def to_plain(cfg) -> dict | list:
    return OmegaConf.to_container(cfg, resolve=True)


def is_number(value) -> bool:
    """A plain number for a setting: not a boolean, which Python counts as an int (true would pass as 1), and not
    NaN. Each caller keeps its own bounds."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def is_positive_number(value) -> bool:
    """A number above 0, for a setting or a value read from a file (NaN compares false with everything)."""
    return is_number(value) and value > 0


def is_whole_number(value) -> bool:
    """A whole number for a count setting: not a boolean, which Python counts as an int (true would pass as 1).
    Each caller keeps its own bounds."""
    return isinstance(value, int) and not isinstance(value, bool)


def command_line_keys() -> set[str]:
    """The config keys the command line set (Hydra's task overrides, without + / ++ and values)."""
    return {override.split("=")[0].lstrip("+") for override in HydraConfig.get().overrides.task}


def typed_settings(cls, given, prefix: str, tuples=()) -> object:
    """A frozen settings dataclass `cls` from a config section `given` (named `prefix` in messages): an unknown key
    is one line listing the known ones; the list values of `tuples` become tuples; then the class's own check()."""
    values = dict(given)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UserError(f"{prefix}.{unknown[0]} is not one of the {prefix} settings: they are {', '.join(known)}")
    for key in tuples:
        if isinstance(values.get(key), Sequence) and not isinstance(values[key], str):
            values[key] = tuple(values[key])
    settings = cls(**values)
    settings.check()
    return settings
