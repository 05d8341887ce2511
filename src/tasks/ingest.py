"""The ingest task: a post-stack 3D SEG-Y into an MDIO store, or an MDIO store back to SEG-Y, through MDIO's own
API (src/sections/mdio_store.py), with the header bytes and chunks of conf/ingest.yaml."""

import logging
import time
from pathlib import Path

from omegaconf import DictConfig

from src.sections.mdio_store import is_mdio, segy_to_store, store_to_segy
from src.sections.readers import SEGY_SUFFIXES
from src.utils.config import is_whole_number
from src.utils.errors import UserError

log = logging.getLogger(__name__)
DOMAINS = ("time", "depth")


def check_chunks(chunks) -> tuple[int, ...]:
    if len(chunks) != 3 or not all(is_whole_number(c) and c > 0 for c in chunks):
        raise UserError(f"chunks={list(chunks)}: give three whole numbers above 0 (inline, crossline, samples)")
    return tuple(int(c) for c in chunks)


def ingest(cfg: DictConfig) -> str:
    """SEG-Y -> MDIO or MDIO -> SEG-Y, chosen by the suffixes of input= and out=. Returns the path written."""
    source, out = Path(cfg.input).expanduser(), Path(cfg.out).expanduser()
    started = time.perf_counter()
    if source.suffix.lower() in SEGY_SUFFIXES and is_mdio(out):
        if not source.is_file():
            raise UserError(f"input={source} not found: pass a post-stack 3D SEG-Y file")
        if cfg.domain not in DOMAINS:
            raise UserError(f"domain={cfg.domain} is not one of {', '.join(DOMAINS)}")
        written = segy_to_store(
            source, out, cfg.iline_byte, cfg.xline_byte, check_chunks(cfg.chunks), cfg.domain, cfg.cpus
        )
    elif is_mdio(source) and out.suffix.lower() in SEGY_SUFFIXES:
        written = store_to_segy(source, out, cfg.iline_byte, cfg.xline_byte, cfg.cpus)
    else:
        raise UserError(
            f"input={source} out={out}: ingest turns a SEG-Y (.sgy/.segy) into an MDIO store (.mdio) or an MDIO "
            "store into a SEG-Y"
        )
    log.info("wrote %s in %.1f s", written, time.perf_counter() - started)
    return str(written)
