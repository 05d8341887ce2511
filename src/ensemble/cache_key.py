"""Keys for what is made from a run's checkpoints and kept (the ONNX graph, averaged snapshots, pseudo-labels).

A key is a hash of what the cached file was made from: the content of each member checkpoint, its weight, and the
version of the code that makes it. File times are never part of it: `cp -p`, `rsync -a` and `tar x` give a changed
file an old time, so a cache newer than its inputs can still be stale. The key is stored with the cache and
compared before use; a mismatch makes the cache again."""
import hashlib
import json
from pathlib import Path

from src.models.module import CHECKPOINT_FORMAT

CACHE_FORMAT = 1  # bump when a cached file is made differently from the same inputs


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def members_key(members: list[tuple[Path, float]], **settings) -> str:
    """The key of a cache made from [(checkpoint, weight)] and `settings` (JSON-able values such as the ONNX
    opset or the pseudo-label rule)."""
    payload = {"cache_format": CACHE_FORMAT, "checkpoint_format": CHECKPOINT_FORMAT,
               "members": [[file_digest(path), float(weight)] for path, weight in members], "settings": settings}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
