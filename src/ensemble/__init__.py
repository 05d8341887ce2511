"""The ensemble, in one place: a run folder's files (run_folder), the snapshot ensemble file (spec), weight
averaging with BatchNorm recompute (averaging), the networks behind any `ckpt=` (members) and the callback that
writes the ensemble at the end of training (callback)."""
