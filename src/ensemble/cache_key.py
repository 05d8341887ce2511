"""Keys for what is made from a run's checkpoints and kept (the ONNX graph, averaged snapshots, pseudo-labels).

A key is a hash of what the cached file was made from: the content of each member checkpoint, its weight, and the
version of the code that makes it. File times are never part of it: `cp -p`, `rsync -a` and `tar x` give a changed
file an old time, so a cache newer than its inputs can still be stale. The key is stored with the cache and
compared before use; a mismatch makes the cache again."""

import hashlib
import json
from pathlib import Path

CACHE_FORMAT = 1  # bump when a cached file is made differently from the same inputs
# The checkpoint format the keys are made under. Format 3 only renamed two hyper-parameters, which load_module
# reads in either name, so the keys keep saying 2. (A kept weight average or graph is also checked against a digest
# of its own content, src/ensemble/averaging.py and src/inference/onnx.py; one made before that digest existed is
# made again once.)
KEYED_CHECKPOINT_FORMAT = 2


_digests = {}  # (path, inode, size, mtime, ctime) -> digest, for this process only


def file_identity(path: str | Path) -> tuple:
    """(path, inode, size, mtime, ctime): a file's status, the same while it is not written to (any write or time
    change also moves its ctime, which no copy tool carries over), for results worked out once per process."""
    path = Path(path).resolve()
    status = path.stat()
    return path, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content. One command resolves the same ensemble several times (infer.py, then its
    ONNX graph, then its export), so each file is hashed once per process while its status stays the same."""
    identity = file_identity(path)
    if identity not in _digests:
        with open(identity[0], "rb") as handle:
            _digests[identity] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _digests[identity]


def members_key(members: list[tuple[Path, float]], **settings) -> str:
    """The key of a cache made from [(checkpoint, weight)] and `settings` (JSON-able values such as the ONNX
    opset or the pseudo-label rule)."""
    payload = {
        "cache_format": CACHE_FORMAT,
        "checkpoint_format": KEYED_CHECKPOINT_FORMAT,
        "members": [[file_digest(path), float(weight)] for path, weight in members],
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
