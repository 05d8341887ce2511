"""A DataModule from the composed config: `data` names its class by `_target_` (conf/data/*.yaml) with its own
settings; the run's fold, seed, batch size and augmentation are added here, so every dataset is built one way."""

from hydra.utils import instantiate
from omegaconf import DictConfig

from src.data.augment import build_augment
from src.data.datamodule import TileDataModule
from src.data.preprocess import Preprocess
from src.utils.errors import UserError
from src.utils.run_folder import RunFolder


def build_datamodule(
    cfg: DictConfig, run: RunFolder | None = None, reference: Preprocess | None = None
) -> TileDataModule:
    """The DataModule `cfg.data` names, not yet set up. run: the RunFolder its split is saved in (None: not
    saved); reference: the preprocessing of the network a run starts from (fine-tuning), which it keeps."""
    if "_target_" not in cfg.data:
        raise UserError(
            "the data config names no DataModule (_target_): start it from conf/data/tgs.yaml, or give "
            "it `_target_: <module>.<DataModule class>` (a run trained before 0.4 lacks it: train again)"
        )
    make = instantiate(cfg.data, _partial_=True, _convert_="all")
    return make(
        fold=cfg.fold,
        seed=cfg.seed,
        batch_size=cfg.batch_size,
        augment=build_augment(cfg.aug, cfg.seed),
        run=run,
        reference=reference,
    )
