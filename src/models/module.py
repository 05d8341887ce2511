"""The LightningModule: network, scheduled loss, Adam + per-step LR schedule, competition metric on the crop."""

import logging

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from torch import nn
from torch.optim import Optimizer

from src.callbacks.budget import Budget
from src.data.preprocess import Preprocess
from src.data.tiles import TILE, crop_center
from src.losses.schedule import ScheduledLoss, deep_supervision_loss
from src.metrics.kaggle_map import KaggleMAP
from src.models.factory import build_network
from src.models.mean_teacher import MeanTeacher, sigmoid_rampup
from src.utils.errors import UserError

log = logging.getLogger(__name__)
MARKER = "saltseg"  # the hyper-parameter that marks a checkpoint as this project's
CHECKPOINT_FORMAT = 4  # its value: 4 since the published seed network (src/models/checkpoint.py reads 2 and 3)


class SaltModule(pl.LightningModule):
    """Network, scheduled loss, optimizer and per-step LR schedule, competition metric on the 101x101 crop.

    Every argument is plain data (the composed config's values: `model` names the network by `_target_`,
    `preprocess` is Preprocess.to_dict()), saved in each checkpoint so that it rebuilds alone. `ignore_value`: the
    target value of unlabelled samples (a survey's), left out of every loss term and of val/map."""

    def __init__(
        self,
        *,
        model: dict,
        loss: dict,
        optimizer: dict,
        preprocess: dict,
        scheduler: dict | None = None,
        val_threshold: float = 0.5,
        channels_last: bool = False,
        ssl: dict | None = None,
        deep_supervision_weights: dict | None = None,
        ignore_value: int | None = None,
        saltseg: int = CHECKPOINT_FORMAT,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.preprocess = Preprocess.from_dict(preprocess)
        self.net = build_network(model, self.preprocess.in_channels)
        self.deep_supervision = bool(getattr(self.net, "deep_supervision", False))
        if self.deep_supervision and ignore_value is not None:
            raise UserError(
                "model.deep_supervision does not take unlabelled samples (a survey's ignore value): "
                "set model.deep_supervision=false"
            )
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.criterion: ScheduledLoss | None = None  # built by setup(): training only, never from a checkpoint
        self.val_map = KaggleMAP(val_threshold, ignore_value)
        self._phase = None
        self.budget: Budget | None = None  # the training budget's share spent, set by the TrainingBudget callback
        self.mean_teacher = None
        if ssl and ssl.get("mode") == "mean_teacher":
            self.mean_teacher = MeanTeacher(self.net, ssl["decay"], ssl["noise_std"])

    def setup(self, stage: str) -> None:
        """The loss, from the `loss` config: built when Lightning fits, validates or tests, so a checkpoint loaded
        for prediction never builds the classes its loss config names."""
        if self.criterion is None:
            loss = self.hparams.loss
            self.criterion = ScheduledLoss(
                loss["first"],
                loss.get("second"),
                loss.get("switch_epoch"),
                loss.get("switch_at"),
                self.hparams.ignore_value,
            )

    @property
    def inference_net(self) -> nn.Module:
        """The network that is validated, saved for inference and exported: the EMA teacher when there is one."""
        return self.mean_teacher.teacher if self.mean_teacher is not None else self.net

    def _layout(self, x) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.hparams.channels_last else x

    def forward(self, x) -> torch.Tensor:
        """Logits (N, 1, S, S) of the padded input; the caller crops."""
        return self.inference_net(self._layout(x))

    def step_loss(self, logits, y, deep=None) -> torch.Tensor:
        """The scheduled loss on the 101x101 crop, plus the auxiliary losses of a deep-supervision forward."""
        target = crop_center(y, TILE)
        loss = self.criterion(crop_center(logits, TILE).float(), target, self.loss_phase())  # fp32 under autocast
        if deep is not None:
            weights = self.hparams.deep_supervision_weights
            loss = loss + deep_supervision_loss(
                [crop_center(a, TILE) for a in deep.aux], deep.cls, target, weights["aux"], weights["cls"]
            )
        return loss

    def training_loss(self, x, y) -> torch.Tensor:
        x = self._layout(x)
        if self.deep_supervision:
            deep = self.net.forward_deep(x)
            return self.step_loss(deep.logits, y, deep)
        return self.step_loss(self.net(x), y)

    def loss_phase(self) -> int:
        return self.criterion.phase(self.current_epoch, self.budget.share() if self.budget else None)

    def on_train_batch_start(self, batch, batch_idx) -> None:
        phase = self.loss_phase()
        if phase != self._phase:
            if self._phase is not None or phase:
                terms = self.hparams.loss["second" if phase else "first"]
                log.info(
                    "epoch %d, step %d: loss phase %d (%s)",
                    self.current_epoch,
                    self.global_step,
                    phase,
                    {name: spec["weight"] for name, spec in terms.items()},
                )
            self._phase = phase
        self.log("train/loss_phase", float(phase), on_epoch=True, on_step=False, sync_dist=True)

    def training_step(self, batch, batch_idx) -> torch.Tensor:
        unlabelled = batch.get("unlabelled")
        batch = batch.get("labelled", batch)
        loss = self.training_loss(batch["x"], batch["y"])
        if self.mean_teacher is not None and unlabelled is not None:
            ssl = self.hparams.ssl
            weight = ssl["consistency_weight"] * sigmoid_rampup(self.global_step, ssl["rampup_steps"])
            consistency = self.mean_teacher.consistency(self.net, unlabelled["x"])
            self.log("train/consistency", consistency, on_step=True, on_epoch=True, batch_size=len(unlabelled["x"]))
            loss = loss + weight * consistency
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss.item()} at epoch {self.current_epoch}, step {self.global_step}: training "
                "stopped; the last good checkpoints are kept. Lower the learning rate or check the inputs"
            )
        self.log(
            "train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch["x"]), sync_dist=True
        )
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if self.mean_teacher is not None:
            self.mean_teacher.update(self.net)

    def validation_step(self, batch, batch_idx) -> None:
        logits = self(batch["x"])
        loss = self.step_loss(logits, batch["y"])
        probs = torch.sigmoid(crop_center(logits, TILE).float())
        self.val_map.update(probs, crop_center(batch["y"], TILE))
        self.log("val/loss", loss, on_epoch=True, prog_bar=False, batch_size=len(batch["x"]), sync_dist=True)
        self.log("val/map", self.val_map, on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> Optimizer | dict:
        optimizer = instantiate(self.hparams.optimizer)(params=self.parameters())
        sched = self.hparams.scheduler
        if not sched:
            return optimizer
        spec = dict(sched["scheduler"])
        if spec.get("total_steps") == "auto":
            spec["total_steps"] = self.trainer.estimated_stepping_batches
        scheduler = instantiate(spec)(optimizer=optimizer)
        if getattr(scheduler, "needs_training_budget", False):
            if self.budget is None:
                raise UserError(
                    f"scheduler {spec['_target_']} follows the training budget: it needs the training_budget "
                    "callback (conf/callbacks/default.yaml)"
                )
            scheduler.follow(self.budget.share)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": sched["interval"]}}
