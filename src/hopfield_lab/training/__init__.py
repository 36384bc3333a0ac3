"""A small explicit training loop (mini-batches from tensors, checkpoints, exact resume, one
divergence rule) and the Madam optimizer of the DEQ paper."""

from hopfield_lab.training.loop import (
    BLOWUP_FACTOR,
    CHECKPOINT_NAME,
    LossFn,
    Stateful,
    TrainConfig,
    TrainResult,
    fit,
    loss_blew_up,
)
from hopfield_lab.training.madam import Madam, linear_decay

__all__ = [
    "BLOWUP_FACTOR",
    "CHECKPOINT_NAME",
    "LossFn",
    "Madam",
    "Stateful",
    "TrainConfig",
    "TrainResult",
    "fit",
    "linear_decay",
    "loss_blew_up",
]
