"""Mean teacher: an EMA copy of the network gives targets for a consistency loss on unlabelled tiles."""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from src.data.tiles import TILE, crop_center, mirror_padded


def sigmoid_rampup(step, length) -> float:
    """exp(-5 (1 - t)^2) for t = step / length in [0, 1] (Laine & Aila; Tarvainen & Valpola)."""
    if length <= 0:
        return 1.0
    t = min(max(step / length, 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)


@torch.no_grad()
def ema_update(teacher, student, decay) -> None:
    """teacher <- decay * teacher + (1 - decay) * student, parameters and float buffers alike."""
    for t, s in zip(teacher.state_dict().values(), student.state_dict().values()):
        if t.is_floating_point():
            t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
        else:
            t.copy_(s)


class MeanTeacher(nn.Module):
    """Holds the EMA teacher; its weights never receive gradients."""

    def __init__(self, student, decay, noise_std) -> None:
        super().__init__()
        self.teacher = copy.deepcopy(student)
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.decay, self.noise_std = decay, noise_std

    def update(self, student) -> None:
        ema_update(self.teacher, student, self.decay)

    def consistency(self, student, x) -> torch.Tensor:
        """MSE, on the tile, between the student's probabilities on a noisy mirrored view (mirrored back) and the
        teacher's on another noisy view."""
        with torch.no_grad():
            self.teacher.train(student.training)
            target = torch.sigmoid(self.teacher(x + self.noise_std * torch.randn_like(x)))
        view = mirror_padded(x + self.noise_std * torch.randn_like(x))
        pred = crop_center(torch.sigmoid(student(view)), TILE).flip(-1)
        return F.mse_loss(pred, crop_center(target, TILE))
