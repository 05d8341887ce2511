"""albumentations pipelines built from the `aug` config group by Hydra (`_target_`), applied to the grey tile
and its mask together.

Vertical flips (and the transforms that include one) are refused: salt under sediment is physics, upside-down
seismic is not. The depth channel is built after augmentation, so photometric transforms never touch it.
"""

import albumentations as A
import torch
from hydra.utils import instantiate
from lightning_fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import get_worker_info

from src.utils.errors import UserError

UPSIDE_DOWN = (A.VerticalFlip, A.Transpose, A.RandomRotate90, A.D4, A.SquareSymmetry)


def build_augment(cfg, seed=None) -> A.Compose | None:
    """cfg: the `aug` config group (an A.Compose by `_target_`; no transforms -> None, no augmentation).
    albumentations draws from its own generator, which seeding numpy or torch does not reach: `seed` fixes it
    (see seed_worker for loader workers)."""
    if cfg is None or not cfg.get("transforms"):
        return None
    augment = instantiate(cfg, seed=seed, _convert_="all")
    flips = [type(t).__name__ for t in augment.transforms if isinstance(t, UPSIDE_DOWN)]
    if flips:
        raise UserError(
            f"aug has {', '.join(flips)}, which turns seismic upside down: remove it (horizontal flips, "
            "small rotations and photometric changes are fine)"
        )
    return augment


def seed_worker(worker_id) -> None:
    """DataLoader worker_init_fn: Lightning's per-worker, per-rank seeding of numpy, random and torch, then the
    augmentation generator from the worker's torch seed. Without it every worker would repeat the same
    augmentations (each gets a copy of one generator), and with it a run stays repeatable."""
    pl_worker_init_function(worker_id)
    dataset = get_worker_info().dataset
    for part in getattr(dataset, "datasets", [dataset]):
        if part.augment is not None:
            part.augment.set_random_seed(torch.initial_seed() % 2**32)
