"""The tasks, one module each, behind the thin entry points at the root: train, infer, tune, predict, export,
bodies."""
