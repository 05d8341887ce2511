"""The ensemble, in one place: the snapshot ensemble file (spec), weight
averaging with BatchNorm recompute (averaging), the networks behind any `ckpt=` (members) and the callback that
writes the ensemble at the end of training (callback). A run folder's file names: src/utils/run_folder.py."""

from src.ensemble.members import load_members, resolve_members

__all__ = ["load_members", "resolve_members"]
