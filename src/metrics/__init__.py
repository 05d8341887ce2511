"""The competition metric: mean over images of precision at IoU 0.50..0.95 (numpy and torchmetrics)."""

from src.metrics.kaggle_map import KaggleMAP, kaggle_map

__all__ = ["KaggleMAP", "kaggle_map"]
