"""Your own survey: a synthetic one (synthetic), labels read a line at a time (labels), leakage-safe folds
(split) and the DataModule of windows of labelled lines (datamodule)."""
