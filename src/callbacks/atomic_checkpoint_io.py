"""Lightning's checkpoint writer with the temporary file beside its target.

Lightning's own TorchCheckpointIO writes through fsspec: a temporary file in $TMPDIR, then `shutil.move`, which
falls back to copying over the old checkpoint when $TMPDIR is on another filesystem (local scratch beside a
network drive, as on pre-emptible nodes). A kill during that copy leaves a truncated last.ckpt, no previous one,
and an orphan in $TMPDIR. Written beside the target and renamed, a checkpoint is always either the old one or
the new one, and a killed writer's temporary is recognised and removed by the next save of the same file."""

from typing import Any

import torch
from lightning_fabric.utilities.types import _PATH
from pytorch_lightning.plugins.io import TorchCheckpointIO

from src.utils.atomic import atomic_path, remove_stale_temporaries


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        remove_stale_temporaries(path)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
